"""The report: medians over rounds, same-round ratios, targets, as text for stdout.

Input is the results dict bench.py builds (and writes as JSON): `systems` (the
catalogue of the run, baseline twins included), `rounds`, each a list of cells
{system, scenario, conns, startup_ms, idle_rss, figures...}.
"""

from figures import (cells, catalogue, figure, fmt, fmt_ratio, fmt_rps, label, label_width, med,
                     others_pct, ratio)
import issue12
from systems import BASELINE

GET_CONNS = [64, 16, 1]


def ran(results, scenario):
    return [s for s in catalogue(results)
            if s.scenario == scenario and cells(results, s.key, scenario)]


def get_table(results):
    w = label_width(results)
    systems = ran(results, "get")
    if not systems:
        return []
    base = label(results, BASELINE["get"])
    lines = ["GET /hello: medians over rounds; ratio = same-round req/s against " + base,
             f"  {'system':<{w}}{'conns':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
             f"{'CPU µs/req':>12}{'vs base':>9}"]
    for conns in GET_CONNS:
        for s in systems:
            cs = cells(results, s.key, "get", conns)
            if not cs:
                continue
            errs = sum(c.get("errors", 0) for c in cs)
            note = f"  ({errs} errors/timeouts)" if errs else ""
            r = ratio(results, s.key, "get", "rps", conns)
            lines.append(f"  {s.label:<{w}}{conns:>6}{fmt_rps(figure(results, s.key, 'get', 'rps', conns))}"
                         f"{fmt(figure(results, s.key, 'get', 'p50', conns), '.2f', 9)}"
                         f"{fmt(figure(results, s.key, 'get', 'p99', conns), '.2f', 9)}"
                         f"{fmt(figure(results, s.key, 'get', 'cpu_us', conns), ',.0f', 12)}"
                         f"{fmt_ratio(r, 9)}{note}")
    return lines


def flow_table(results):
    w = label_width(results)
    systems = ran(results, "flow")
    if not systems:
        return []
    conns = results["plan"]["flow_conns"]
    base = label(results, BASELINE["flow"])
    lines = [f"Flow POST -> event -> event, state writes ({conns} connections): medians; "
             f"ratio = same-round flows/s against {base}",
             f"  {'system':<{w}}{'flows/s':>9}{'e2e p50':>10}{'e2e p99':>10}{'CPU µs/flow':>12}"
             f"{'POST/s':>9}{'lost':>6}{'vs base':>9}"]
    for s in systems:
        cs = cells(results, s.key, "flow")
        lost = sum(c.get("lost", 0) for c in cs)
        dup = sum(c.get("duplicates", 0) for c in cs)
        note = f"  ({dup} duplicates)" if dup else ""
        r = ratio(results, s.key, "flow", "flows_per_s", conns)
        lines.append(f"  {s.label:<{w}}{fmt(figure(results, s.key, 'flow', 'flows_per_s'), ',.0f', 9)}"
                     f"{fmt(figure(results, s.key, 'flow', 'e2e_p50'), ',.1f', 10)}"
                     f"{fmt(figure(results, s.key, 'flow', 'e2e_p99'), ',.1f', 10)}"
                     f"{fmt(figure(results, s.key, 'flow', 'cpu_us'), ',.0f', 12)}"
                     f"{fmt(figure(results, s.key, 'flow', 'post_per_s'), ',.0f', 9)}"
                     f"{lost:>6}{fmt_ratio(r, 9)}{note}")
    lines.append("  e2e: ms from the POST's send time to the last step's write; lost: accepted "
                 "POSTs whose flow did not finish in the bounded wait (sum over rounds)")
    return lines


def _rss_mb(cs, field, role):
    """Median MB of `role` in the `field` RSS dicts of cells `cs` (None if absent)."""
    return med([c[field].get(role, 0) / 1024 for c in cs if c.get(field)])


def _roles(cs, field):
    def one(role):
        v = _rss_mb(cs, field, role)
        return f"{v:.1f}" if v else "–"
    return " | ".join(one(role) for role in ("main", "workers", "store")) if any(
        c.get(field) for c in cs) else "–"


def startup_memory(results):
    w = label_width(results)
    lines = ["Start-up (launch to first 200 on GET /hello) and resident memory (VmRSS MB: main "
             "process | workers | Redis); idle = 1 s after the first 200, loaded = peak while "
             "measured (GET: at 64 connections)",
             f"  {'system':<{w}}{'start ms':>9}   {'idle':<22}{'loaded':<22}"]
    for s in catalogue(results):
        cs = cells(results, s.key, s.scenario) + cells(results, s.key, "startup")
        if not cs:
            continue
        start = med([c.get("startup_ms") for c in cs])
        loaded = [c for c in cs if c["scenario"] == "flow" or c.get("conns") == 64]
        lines.append(f"  {s.label:<{w}}{fmt(start, ',.0f', 9)}   {_roles(cs, 'idle_rss'):<22}"
                     f"{_roles(loaded, 'rss_peak_kb'):<22}")
    return lines if len(lines) > 2 else []


def cpu_split(results):
    w = label_width(results)
    rows = [(s, "get", 64) for s in ran(results, "get") if cells(results, s.key, "get", 64)]
    rows += [(s, "flow", None) for s in ran(results, "flow")]
    if not rows:
        return []
    lines = ["CPU while measured (median % of one core): server main process | rest of its tree "
             "(workers, Redis), the load generator, and everything else on the machine "
             f"(of {100 * results['meta']['cores']}%; a large 'others' means a disturbed run)"]
    for s, scenario, conns in rows:
        def f(name):
            return figure(results, s.key, scenario, name, conns)
        others = None
        if None not in (f("machine_pct"), f("main_pct"), f("rest_pct"), f("wrk_pct")):
            others = max(f("machine_pct") - f("main_pct") - f("rest_pct") - f("wrk_pct"), 0)
        what = "GET c64" if scenario == "get" else "flow"
        lines.append(f"  {s.label:<{w}}{what:<8}{fmt(f('main_pct'), '.0f', 5)}% |"
                     f"{fmt(f('rest_pct'), '.0f', 5)}%   wrk{fmt(f('wrk_pct'), '.0f', 5)}%"
                     f"   others{fmt(others, '.0f', 5)}%")
    return lines


def targets(results):
    """The figures other issues set targets for, checked against the medians."""
    if not (ran(results, "get") or ran(results, "flow")):
        return []
    out = []

    def check(issue, what, value, goal, unit="", higher=True):
        if value is None:
            out.append(f"  issue {issue}: {what}: not measured in this run")
            return
        ok = value >= goal if higher else value < goal
        pct = abs(goal - value) / goal * 100
        miss = "" if ok else f" (missed by {pct:.0f}%)" if pct >= 1 else " (missed by <1%)"
        spec = (".3f" if pct < 1 else ".2f") if unit == "x" else ",.0f"
        out.append(f"  issue {issue}: {what}: {value:{spec}}{unit}, target {'≥' if higher else '<'} "
                   f"{goal:{spec}}{unit}: {'MET' if ok else 'MISSED'}{miss}")

    def start_ms(key):
        return med([c.get("startup_ms") for c in cells(results, key, "get")
                    + cells(results, key, "startup")])

    check(2, "JS step, GET at 64 connections, req/s", figure(results, "ours-js", "get", "rps", 64),
          10_000)
    check(2, "JS step, GET at 64 connections, vs plain node",
          ratio(results, "ours-js", "get", "rps", 64), 0.7, "x")
    check(2, "native step, GET at 64 connections, vs plain node",
          ratio(results, "ours-native", "get", "rps", 64), 2.0, "x")
    check(2, "JS project, start to first 200", start_ms("ours-js"), 500, " ms", higher=False)
    for key in ("ours-js", "ours-native"):
        cs = cells(results, key, "get") + cells(results, key, "startup")
        check(2, f"{label(results, key)}: idle RSS of the runtime process",
              _rss_mb(cs, "idle_rss", "main"), 20, " MB", higher=False)
    check(3, "native steps, strict: flows/s",
          figure(results, "ours-native-strict", "flow", "flows_per_s"), 20_000)
    check(3, "JS steps, strict: flows/s", figure(results, "ours-js-strict", "flow", "flows_per_s"),
          3_000)
    conns = results["plan"]["flow_conns"]
    for lang in ("native", "JS"):
        key = f"ours-{lang.lower()}"
        check(3, f"{lang} steps: strict/process flows/s",
              ratio(results, key + "-strict", "flow", "flows_per_s", conns, base=key + "-process"),
              0.5, "x")
    check(4, "Python step, GET at 64 connections, vs plain python asyncio",
          ratio(results, "ours-py", "get", "rps", 64, base="python"), 1.0, "x")
    out.append("  issue 5: stream deliveries/s: measured by the opt-in streams cell (run.sh --only streams)")
    return ["Targets of other issues (medians; ratios from same-round pairs)"] + out


def noise(results):
    """How busy the machine was apart from the benchmark, in figures."""
    others = others_pct(results)
    meta = results["meta"]
    text = f"load average {meta['loadavg']:.2f} at the start"
    if meta.get("loadavg_end") is not None:
        text += f", {meta['loadavg_end']:.2f} at the end"
    if others:
        text += (f"; CPU of other processes while cells ran: median {med(others):.0f}%, "
                 f"90th percentile {others[int(0.9 * (len(others) - 1))]:.0f}%, "
                 f"max {others[-1]:.0f}% (of {100 * meta['cores']}%)")
    return text + ". Shared machine: compare figures only within this report"


def report(results):
    meta = results["meta"]
    plan = results["plan"]
    lines = [f"motia-actors benchmarks (issue 6) · {meta['date']} · {plan['rounds']} round(s), "
             f"systems alternated · GET {plan['get_seconds']} s, flow {plan['flow_seconds']} s "
             f"per cell after {plan['warmup']} s warm-up",
             f"  commit {meta['commit']} · build {meta['build']} · {meta['cores']} cores "
             f"({meta['cpu']})",
             "  " + " · ".join(f"{k} {v}" for k, v in meta["versions"].items())]
    if meta.get("baseline"):
        lines.append(f"  baseline: motia-actors @{meta['baseline']['rev']} "
                     f"({meta['baseline']['version']}), built from that revision, measured as "
                     "systems of their own, alternated with this tree's")
    lines.append("  " + noise(results))
    lines += [f"  note: {n}" for n in results.get("notes", [])]
    for section in (get_table, flow_table, issue12.counts_table, issue12.table, startup_memory,
                    cpu_split, targets):
        part = section(results)
        if part:
            lines += [""] + part
    if results.get("budget_stop"):
        lines += ["", f"Stopped by the time budget at {results['budget_stop']}: later cells "
                  "were not run"]
    if results["skipped"] or results["failures"]:
        lines += ["", "Skipped or failed"]
        lines += [f"  {k}: skipped: {why}" for k, why in results["skipped"].items()]
        lines += [f"  {f['system']} (round {f['round']}): failed: {f['error'].splitlines()[0]}"
                  for f in results["failures"]]
    return "\n".join(lines) + "\n"
