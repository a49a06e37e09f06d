"""Reading a results dict: its systems, cells, medians over rounds, same-round ratios.

Shared by the report (report.py) and the table of issue 12 (issue12.py). A
results dict is what bench.py builds and writes as JSON: `systems` (the run's
catalogue, baseline twins included) and `rounds`, each a list of cells
{system, scenario, conns, figures...}.
"""

import math
import statistics
from types import SimpleNamespace

from systems import BASELINE


def catalogue(results):
    """The run's systems, in catalogue order, as objects (key, label, ...)."""
    return [SimpleNamespace(**s) for s in results["systems"]]


def label(results, key):
    return next((s.label for s in catalogue(results) if s.key == key), key)


def label_width(results):
    """Width of the system column: the longest label that ran, at least 30."""
    ran_keys = {c["system"] for rnd in results["rounds"] for c in rnd}
    return max([30] + [len(s.label) + 1 for s in catalogue(results) if s.key in ran_keys])


def med(values):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(values) if values else None


def cells(results, key, scenario, conns=None):
    out = []
    for rnd in results["rounds"]:
        out += [c for c in rnd if c["system"] == key and c["scenario"] == scenario
                and (conns is None or c.get("conns") == conns)]
    return out


def figure(results, key, scenario, name, conns=None):
    return med([c.get(name) for c in cells(results, key, scenario, conns)])


def ratio(results, key, scenario, name, conns=None, base=None):
    """Median over rounds of key/base for `name`, each pair from the same round."""
    base = base or BASELINE[scenario]
    values = []
    for rnd in results["rounds"]:
        mine = [c for c in rnd if c["system"] == key and c["scenario"] == scenario
                and c.get("conns") == conns]
        theirs = [c for c in rnd if c["system"] == base and c["scenario"] == scenario
                  and c.get("conns") == conns]
        if mine and theirs and mine[0].get(name) and theirs[0].get(name):
            values.append(mine[0][name] / theirs[0][name])
    return med(values)


def fmt(value, spec, width, none="–"):
    return f"{value:{spec}}".rjust(width) if value is not None else none.rjust(width)


def fmt_rps(value, width=10):
    """Whole requests/s, but Motia's few show their tenths."""
    return fmt(value, ",.1f" if value is not None and value < 100 else ",.0f", width)


def fmt_ratio(value, width):
    if value is None:
        return "–".rjust(width)
    return (f"{value:.2f}x" if value >= 0.01 else f"{value:.4f}x").rjust(width)


def others_pct(results):
    """CPU % (of all cores) that processes outside the benchmark used while
    each GET or flow cell ran, sorted."""
    out = []
    for rnd in results["rounds"]:
        for c in rnd:
            parts = [c.get(k) for k in ("machine_pct", "main_pct", "rest_pct", "wrk_pct")]
            if None not in parts:
                out.append(max(parts[0] - parts[1] - parts[2] - parts[3], 0))
    return sorted(out)
