"""The "Performance" table of issue 12 (the actor core rebuilt for speed), and
the allocations and context switches per request in the runtime process.

Each figure is printed with its target and MET or NOT MET. With a baseline
revision (run.sh --baseline REV) the table has a column for REV (before) and one
for the tree measured (after), and the change between them: the median over
rounds of after/before, each pair from the same round. A figure is computed in
each round (a ratio from that round's pair of cells), and its median over rounds
is what is printed and checked.
"""

from dataclasses import dataclass

from figures import cells, fmt, label_width, med, others_pct
from systems import BASE_SUFFIX


@dataclass(frozen=True)
class Figure:
    what: str
    key: str  # our system (its baseline twin is key + BASE_SUFFIX)
    base: str  # the system divided by in the same round, or "" for an absolute figure
    scenario: str
    metric: str
    conns: int  # GET only
    op: str  # ">=", "<=" or "<"
    target: float
    unit: str  # "x" (a ratio) or "/s"
    detail: str = ""  # printed under the row: the two medians a ratio is made of


FIGURES = [
    Figure("JS GET vs plain Node http, 64 connections", "ours-js", "node", "get", "rps", 64,
           ">=", 0.9, "x", "req/s"),
    Figure("JS GET vs plain Node http, 1 connection", "ours-js", "node", "get", "rps", 1,
           ">=", 0.6, "x", "req/s"),
    Figure("native GET vs plain Node http, 64 connections", "ours-native", "node", "get", "rps",
           64, ">=", 1.2, "x", "req/s"),
    Figure("native GET, CPU per request vs Node's, 64 conns", "ours-native", "node", "get",
           "cpu_us", 64, "<", 1.0, "x", "µs CPU/request"),
    Figure("Python GET vs plain asyncio, 64 connections", "ours-py", "python", "get", "rps", 64,
           ">=", 0.8, "x", "req/s"),
    Figure("runtime + worker CPU per JS GET vs Node's, c64", "ours-js", "node", "get", "cpu_us",
           64, "<=", 1.3, "x", "µs CPU/request"),
    Figure("native flow, process, vs fastify+BullMQ", "ours-native-process", "fastify-bullmq",
           "flow", "flows_per_s", 0, ">=", 8.0, "x", "flows/s"),
    Figure("native flow, process, flows/s (quiet machine)", "ours-native-process", "", "flow",
           "flows_per_s", 0, ">=", 40_000, "/s"),
    Figure("native flow, strict as a fraction of process", "ours-native-strict",
           "ours-native-process", "flow", "flows_per_s", 0, ">=", 0.5, "x", "flows/s"),
    Figure("JS flow, process, vs fastify+BullMQ", "ours-js-process", "fastify-bullmq", "flow",
           "flows_per_s", 0, ">=", 2.5, "x", "flows/s"),
]

# Beyond this median CPU % of other processes, the table says its verdicts are noise-bound.
NOISY_PCT = 25

# The allocation and context-switch figures the issue quotes for the old core.
COUNT_REFERENCE = {"ours-js": (218, 2.76), "ours-native": (120, 0.97)}


def _key(key, build):
    """A system's key in `build` ("" or "base"): only ours have twins."""
    return key + BASE_SUFFIX if build == "base" and key.startswith("ours-") else key


def _cell_value(rnd, key, fig):
    for c in rnd:
        if c["system"] == key and c["scenario"] == fig.scenario and (
                fig.scenario != "get" or c.get("conns") == fig.conns):
            return c.get(fig.metric)
    return None


def per_round(results, fig, build):
    """The figure in each round (None where a cell is missing)."""
    out = []
    for rnd in results["rounds"]:
        v = _cell_value(rnd, _key(fig.key, build), fig)
        if fig.base:
            b = _cell_value(rnd, _key(fig.base, build), fig)
            v = v / b if v and b else None
        out.append(v)
    return out


def met(fig, value):
    if fig.op == ">=":
        return value >= fig.target
    if fig.op == "<=":
        return value <= fig.target
    return value < fig.target


def _show(fig, value):
    if value is None:
        return "–"
    return f"{value:.2f}x" if fig.unit == "x" else f"{value:,.0f}/s"


def _verdict(fig, value):
    return "" if value is None else ("MET" if met(fig, value) else "NOT MET")


def _detail(results, fig, build):
    """"55 vs 21": the medians of the two systems a ratio divides."""
    conns = fig.conns if fig.scenario == "get" else None
    a = med([c.get(fig.metric) for c in cells(results, _key(fig.key, build), fig.scenario, conns)])
    b = med([c.get(fig.metric) for c in cells(results, _key(fig.base, build), fig.scenario, conns)])
    if a is None or b is None:
        return "–"
    return f"{a:,.0f} vs {b:,.0f}"


def has_baseline(results):
    return any(c["system"].endswith(BASE_SUFFIX) for rnd in results["rounds"] for c in rnd)


def table(results):
    if not any(cells(results, _key(f.key, b), f.scenario) for f in FIGURES for b in ("", "base")):
        return []
    base = has_baseline(results)
    rev = (results["meta"].get("baseline") or {}).get("rev", "base")
    builds = (("base", f"@{rev} (before)"), ("", "this tree (after)")) if base else \
        (("", "this tree"),)
    n = results["plan"]["rounds"]
    lines = [f"Issue 12, Performance: medians of {n} round(s); every ratio from same-round pairs"
             + ("; after/before = median of same-round after/before" if base else ""),
             f"  {'figure':<49}{'target':>10}" + "".join(f"   {title:<22}" for _, title in builds)
             + ("  after/before" if base else "")]
    for fig in FIGURES:
        values = {b: per_round(results, fig, b) for b, _ in builds}
        goal = f"{fig.op.replace('>=', '≥').replace('<=', '≤')} {_show(fig, fig.target)}"
        row = f"  {fig.what:<49}{goal:>10}"
        for b, _ in builds:
            v = med(values[b])
            row += f"   {_show(fig, v):>9} {_verdict(fig, v):<12}"
        if base:
            pairs = [a / b for a, b in zip(values[""], values["base"]) if a and b]
            row += f"  {_show_change(med(pairs))}"
        lines.append(row)
        conns = fig.conns if fig.scenario == "get" else None
        if fig.base and fig.detail and any(cells(results, _key(fig.key, b), fig.scenario, conns)
                                            for b, _ in builds):
            sides = [(("before " if b else "after ") if base else "") + _detail(results, fig, b)
                     for b, _ in builds]
            lines.append(f"    {fig.detail}, {label_of(results, fig.key)} vs "
                         f"{label_of(results, fig.base)}: " + "  |  ".join(sides))
    busy = med(others_pct(results))
    if busy is not None and busy > NOISY_PCT:
        lines.append(f"  WARNING: other processes used a median {busy:.0f}% of the CPU while cells "
                     f"ran (of {100 * results['meta']['cores']}%): these verdicts and changes are "
                     "noise-bound; measure on a quiet machine")
    lines.append("  runtime RSS over a 10-minute soak of the JS flow at 70 % of its maximum, "
                 "flat within 10 % after the first minute: run.sh --soak")
    return lines


def label_of(results, key):
    """A short name for the detail lines: the label without "motia-actors, "."""
    full = next((s["label"] for s in results["systems"] if s["key"] == key), key)
    return full.replace("motia-actors, ", "")


def _show_change(v):
    return f"{v:>11.2f}x" if v is not None else f"{'–':>12}"


# --- allocations and context switches per request ------------------------------


def _counts(results, key, conns, name):
    return med([c["counts"].get(str(conns), {}).get(name)
                for c in cells(results, key, "count")])


def counts_table(results):
    """Per GET, in the runtime process: allocation calls and bytes (LD_PRELOAD
    counter) and voluntary + nonvoluntary context switches of all its threads."""
    keys = [k for k in ("ours-js", "ours-js" + BASE_SUFFIX, "ours-native",
                        "ours-native" + BASE_SUFFIX) if cells(results, k, "count")]
    if not keys:
        return []
    w = label_width(results)
    labels = {s["key"]: s["label"] for s in results["systems"]}
    conns_list = results["plan"].get("count_conns") or [64, 1]
    lines = ["Per request in the runtime process (GET /hello; a server of its own with the "
             "LD_PRELOAD allocation counter, medians over rounds): allocation calls, bytes "
             "asked for, context switches (voluntary + nonvoluntary, every thread) and the "
             "worker's",
             f"  {'system':<{w}}{'conns':>6}{'mallocs':>9}{'KB':>7}{'ctx sw':>8}{'(vol':>7}"
             f"{'invol)':>7}{'worker cs':>11}{'req/s':>9}"]
    for conns in conns_list:
        for k in keys:
            def f(name, spec, width):
                return fmt(_counts(results, k, conns, name), spec, width)
            kb = _counts(results, k, conns, "malloc_bytes")
            lines.append(f"  {labels.get(k, k):<{w}}{conns:>6}{f('mallocs', ',.1f', 9)}"
                         f"{fmt(kb / 1024 if kb is not None else None, '.1f', 7)}"
                         f"{f('cs', '.2f', 8)}{f('cs_voluntary', '.2f', 7)}"
                         f"{f('cs_nonvoluntary', '.2f', 7)}{f('worker_cs', '.2f', 11)}"
                         f"{f('rps', ',.0f', 9)}")
    if any(k.endswith(BASE_SUFFIX) for k in keys):
        for k in ("ours-js", "ours-native"):
            for conns in conns_list:
                ch = [_change(results, k, conns, name) for name in ("mallocs", "cs")]
                if None not in ch:
                    lines.append(f"  {labels.get(k, k)}, {conns} conn(s): after/before "
                                 f"{ch[0]:.2f}x mallocs, {ch[1]:.2f}x context switches "
                                 "(same-round pairs)")
    ref = "; ".join(f"{labels.get(k, k)}: {m} mallocs, {cs} context switches"
                    for k, (m, cs) in COUNT_REFERENCE.items())
    lines.append(f"  issue 12 quotes for the old core: {ref}. The req/s of these windows carry "
                 "the counter's cost: throughput is in the GET table")
    return lines


def _change(results, key, conns, name):
    pairs = []
    for rnd in results["rounds"]:
        a = [c for c in rnd if c["system"] == key and c["scenario"] == "count"]
        b = [c for c in rnd if c["system"] == key + BASE_SUFFIX and c["scenario"] == "count"]
        if a and b:
            x = a[0]["counts"].get(str(conns), {}).get(name)
            y = b[0]["counts"].get(str(conns), {}).get(name)
            if x and y:
                pairs.append(x / y)
    return med(pairs)
