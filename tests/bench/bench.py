#!/usr/bin/env python3
"""Benchmarks motia-actors against the real alternatives; run.sh installs the peers and calls this.

Scenarios (README.md): `get` (GET /hello at 1, 16 and 64 connections), `flow`
(POST -> event -> event with state writes, completions counted from a done
file), `count` (allocations and context switches per GET in our runtime process,
with an LD_PRELOAD counter; runs with `get`), `startup` (start to first 200 and
idle RSS only; `get` and `flow` report both too). Every cell starts a fresh
process of its system; within a round the systems run one after the other, in
an order that rotates between rounds; the report gives medians over rounds and
ratios of same-round pairs. With `--baseline-rev` each system of ours has a
twin on the baseline revision's binaries, alternated with it, so before/after
come from one run. `--soak` runs the flow at 70% of its measured maximum
instead, printing figures over time.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import load
import procs
import report
import soak
from systems import BASE_SUFFIX, Server, Tools, catalog, missing

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = ("get", "flow", "count", "startup")
# Not needed by any figure of the before/after comparison, and the longest
# cells of the run: left out by default when a baseline is measured.
SLOW_PEERS = ("motia", "motia-flow")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--get-seconds", type=int, default=3, help="measured wrk run per GET cell")
    p.add_argument("--flow-seconds", type=int, default=4, help="POSTs per flow cell")
    p.add_argument("--warmup", type=int, default=1, help="seconds of load before each cell")
    p.add_argument("--get-conns", default="64,16,1")
    p.add_argument("--flow-conns", type=int, default=16)
    p.add_argument("--drain-timeout", type=float, default=60.0,
                   help="longest wait for accepted flows to finish")
    p.add_argument("--budget-minutes", type=float, default=None,
                   help="stop starting cells past this (0: no limit; default: 14.5, or 1.5x the "
                        "plan when it is longer); the report shows what ran")
    p.add_argument("--count-conns", default="64,1",
                   help="connections of the allocation/context-switch windows (count cells)")
    p.add_argument("--only", choices=SCENARIOS, action="append",
                   help="run only this scenario (repeatable)")
    p.add_argument("--systems", help="comma-separated system keys (see --list)")
    p.add_argument("--list", action="store_true", help="list the systems and exit")
    p.add_argument("--soak", action="store_true")
    p.add_argument("--soak-minutes", type=float, default=10.0)
    p.add_argument("--soak-sample", type=float, default=5.0,
                   help="seconds between RSS (and RocksDB memory) samples of the soak")
    p.add_argument("--motia-actors", required=False, default="")
    p.add_argument("--native", default="")
    p.add_argument("--malloc-lib", default="", help="malloc_count.so, for the count cells")
    p.add_argument("--baseline-rev", default="", help="the baseline revision's short name")
    p.add_argument("--baseline-motia-actors", default="")
    p.add_argument("--baseline-native", default="")
    p.add_argument("--peers", default=os.path.join(HERE, ".peers"))
    p.add_argument("--build-info", default="?")
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    args = p.parse_args()
    args.get_conns = [int(c) for c in args.get_conns.split(",")]
    args.count_conns = [int(c) for c in args.count_conns.split(",") if c]
    return args


def scenarios_of(args):
    """The scenarios this run measures: `count` comes with `get` unless --only
    names scenarios without it."""
    if args.only:
        return list(args.only)
    return ["get", "flow", "count"]


# The GET systems whose runtime process the count cells measure.
COUNTED = ("ours-js", "ours-native")


def counted(system):
    return system.key.replace(BASE_SUFFIX, "") in COUNTED


def chosen_systems(args, all_systems):
    by_key = {s.key: s for s in all_systems}
    if args.systems:
        keys = args.systems.split(",")
    elif args.baseline_rev:
        keys = [s.key for s in all_systems if s.key not in SLOW_PEERS]
    else:
        keys = list(by_key)
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        sys.exit(f"bench.py: unknown system(s) {', '.join(unknown)}; try --list")
    scenarios = scenarios_of(args)
    if args.soak:
        if not args.systems:
            keys = ["ours-js-process"] + (["ours-js-process" + BASE_SUFFIX]
                                          if args.baseline_rev else [])
        scenarios = ["flow"]
    wanted = [by_key[k] for k in keys]
    if "startup" in scenarios:  # start-up alone: every system of the get scenario
        return [s for s in wanted if s.scenario in scenarios or
                (s.scenario == "get" and "get" not in scenarios)]
    return [s for s in wanted if s.scenario in scenarios
            or ("count" in scenarios and s.scenario == "get" and counted(s))]


# --- the plan ----------------------------------------------------------------

START_S = {"motia": 10.0}  # start + stop, seen on a busy machine; others ~1.5 s
DRAIN_S = {"motia": 30.0}  # wait for the flow's backlog (bounded by DRAIN_CAP)
DRAIN_CAP = {"motia": 45.0}  # Motia takes ~1 s per flow: cap its wait, count the rest as lost
# Motia answers in seconds, so its cells last longer to collect answers at all;
# it starts a process per handler call, so there is nothing to warm up (and it
# slows down with every call: shared/notes/peer-motia.md).
MIN_SECONDS = {"motia": 8}
NO_WARMUP = {"motia"}


def durations(args, system, scenario):
    """(measured seconds, warm-up seconds) of one cell of `system`."""
    seconds = args.flow_seconds if scenario == "flow" else args.get_seconds
    seconds = max(seconds, MIN_SECONDS.get(system.kind, 0))
    return seconds, 0 if system.kind in NO_WARMUP else args.warmup


def cell_list(args, system):
    """The cells of one system in one round: (scenario, conns)."""
    scenarios = scenarios_of(args)
    if "startup" in scenarios and system.scenario == "get" and "get" not in scenarios:
        return [("startup", None)]
    if system.scenario == "get":
        out = [("get", c) for c in args.get_conns] if "get" in scenarios else []
        if "count" in scenarios and counted(system) and args.count_conns:
            out.append(("count", None))
        return out
    return [("flow", args.flow_conns)]


def cell_seconds(args, system, scenario):
    """A generous guess of one cell's wall time, for the plan and the budget."""
    seconds, warmup = durations(args, system, scenario)
    t = START_S.get(system.kind, 1.5) + warmup + seconds
    if scenario == "count":  # one window (warm-up + measured) per connection count
        t = START_S.get(system.kind, 1.5) + (warmup + seconds + 0.5) * len(args.count_conns)
    if scenario == "flow":
        t += DRAIN_S.get(system.kind, 3.0) * (2 if warmup else 1)
    return t


def schedule(args, systems):
    """Every cell of the run in order: (round, system, scenario, conns, first of
    its system in the round). Each round rotates the order of each scenario's
    systems, so nobody always goes first."""
    out = []
    for i in range(args.rounds):
        for scenario in ("get", "flow"):
            group = [s for s in systems if s.scenario == scenario]
            shift = i % len(group) if group else 0
            for system in group[shift:] + group[:shift]:
                for n, (cell_scenario, conns) in enumerate(cell_list(args, system)):
                    out.append((i, system, cell_scenario, conns, n == 0))
    return out


# --- one cell ----------------------------------------------------------------


def run_cell(system, scenario, conns, args, tools, workdir, idle):
    """One fresh server, measured; `idle`: also its RSS 1 s after start."""
    server = Server(system, tools, workdir, count_mallocs=scenario == "count")
    try:
        cell = {"system": system.key, "scenario": scenario, "conns": conns,
                "startup_ms": server.start()}
        if idle:
            time.sleep(1.0)
            cell["idle_rss"] = server.rss()
        seconds, warmup = durations(args, system, scenario)
        if scenario == "get":
            cell.update(load.measure_get(server, conns, seconds, warmup))
        elif scenario == "flow":
            drain = min(args.drain_timeout, DRAIN_CAP.get(system.kind, args.drain_timeout))
            cell.update(load.measure_flow(server, conns, seconds, warmup, drain))
        elif scenario == "count":
            cell.update(load.measure_counts(server, args.count_conns, seconds, warmup))
        if server.proc.poll() is not None:
            raise RuntimeError(f"{system.key} exited during the cell:\n{server.tail()}")
        return cell
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


def describe(cell):
    if cell["scenario"] == "get":
        if not cell["requests"]:
            return f"no answer within the cell ({cell['errors']} errors/timeouts)"
        return (f"{cell['rps']:,.0f} req/s, p99 {cell['p99']:.2f} ms, "
                f"{cell['cpu_us']:,.0f} µs CPU/req" + (f", {cell['errors']} errors" if cell["errors"] else ""))
    if cell["scenario"] == "flow":
        lost = f", {cell['lost']} not done" if cell["lost"] else ""
        p99 = f"{cell['e2e_p99']:,.1f}" if cell["e2e_p99"] is not None else "–"
        return (f"{cell['flows_per_s']:,.0f} flows/s ({cell['completed']:,} of "
                f"{cell['accepted']:,} accepted), e2e p99 {p99} ms{lost}")
    if cell["scenario"] == "count":
        return "; ".join(f"c{c}: {v['mallocs']:,.1f} mallocs, {v['cs']:.2f} context switches "
                         "per request" for c, v in cell["counts"].items())
    return f"first 200 after {cell['startup_ms']:.0f} ms"


def run_rounds(args, systems, tools, results):
    plan = schedule(args, systems)
    deadline = time.monotonic() + args.budget_minutes * 60 if args.budget_minutes else None
    results["rounds"] = [[] for _ in range(args.rounds)]
    with tempfile.TemporaryDirectory(prefix="motia-bench-") as workdir:
        for i, system, scenario, conns, first in plan:
            # A failed count cell stops only the counting of that system.
            skip_key = system.key + (" count" if scenario == "count" else "")
            if system.key in results["skipped"] or skip_key in results["skipped"]:
                continue
            if deadline and time.monotonic() + cell_seconds(args, system, scenario) > deadline:
                print(f"time budget of {args.budget_minutes:g} min reached: the rest of round "
                      f"{i + 1} and later rounds are not run")
                results["budget_stop"] = f"round {i + 1}, before {system.key}"
                return
            what = scenario + (f" c{conns}" if scenario == "get" else "")
            what += " (mallocs, context switches)" if scenario == "count" else ""
            print(f"round {i + 1}/{args.rounds}: {system.key} {what} ... ", end="", flush=True)
            t0 = time.monotonic()
            try:
                cell = run_cell(system, scenario, conns, args, tools, workdir,
                                idle=first and scenario != "count")
            except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as e:
                print("FAILED\n  " + str(e).replace("\n", "\n  ").rstrip())
                results["failures"].append({"system": skip_key, "round": i + 1, "error": str(e)})
                results["skipped"][skip_key] = f"failed in round {i + 1} (see above)"
                continue
            cell["round"] = i + 1
            results["rounds"][i].append(cell)
            print(f"{describe(cell)} [{time.monotonic() - t0:.0f} s]", flush=True)


# --- metadata ------------------------------------------------------------------


def version(argv, pattern=None):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        text = (out.stdout + out.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    if pattern:
        m = re.search(pattern, text)
        return m.group(1) if m else "?"
    return text.splitlines()[0] if text else "?"


def npm_version(peers, project, package):
    try:
        with open(os.path.join(peers, project, "node_modules", package, "package.json")) as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return "not installed"


def metadata(args):
    """What was measured, on what; the load average is read again at the end."""
    rev = version(["git", "-C", HERE, "rev-parse", "--short", "HEAD"])
    dirty = version(["git", "-C", HERE, "status", "--porcelain", "--untracked-files=no"])
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M).group(1)
    except (OSError, AttributeError):
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": rev + (" + uncommitted changes" if dirty not in ("", "?") else ""),
        "build": args.build_info, "cores": os.cpu_count(), "cpu": cpu,
        "loadavg": os.getloadavg()[0], "kernel": platform.release(),
        "versions": {
            "motia-actors": version([args.motia_actors, "--version"], r"(\d[\w.\-+]*)"),
            "node": version(["node", "--version"]),
            "python": platform.python_version(),
            "Motia": npm_version(args.peers, "motia", "motia"),
            "fastify": npm_version(args.peers, "fastify", "fastify"),
            "bullmq": npm_version(args.peers, "fastify", "bullmq"),
            "redis": version(["redis-server", "--version"], r"v=([\d.]+)"),
            "wrk": version(["wrk", "-v"], r"wrk (\S+)"),
        },
        "baseline": {"rev": args.baseline_rev,
                     "version": version([args.baseline_motia_actors, "--version"],
                                        r"(\d[\w.\-+]*)")} if args.baseline_rev else None,
    }


# --- main ----------------------------------------------------------------------


def write_outputs(args, results):
    os.makedirs(args.out, exist_ok=True)
    text = report.report(results)
    print("\n" + text, end="")
    txt = os.path.join(args.out, "latest.txt")
    raw = os.path.join(args.out, "latest.json")
    with open(txt, "w") as f:
        f.write(text)
    with open(raw, "w") as f:
        json.dump(results, f, indent=1)
    written = [txt, raw]
    venv_python = os.path.join(args.peers, "venv", "bin", "python")
    png = os.path.join(args.out, "throughput.png")
    if not any(c["scenario"] == "get" for rnd in results["rounds"] for c in rnd):
        pass
    elif os.access(venv_python, os.X_OK):
        r = subprocess.run([venv_python, os.path.join(HERE, "plot.py"), raw, png],
                           capture_output=True, text=True, timeout=120)
        if r.returncode == 0:
            written.append(png)
        else:
            print(f"plot failed:\n{r.stderr[-2000:]}")
    else:
        print("no plot: matplotlib's venv is missing (tests/bench/peers.sh installs it)")
    print("\nwritten: " + ", ".join(os.path.relpath(p) for p in written))


def main():
    args = parse_args()
    all_systems = catalog(args.baseline_rev)
    if args.list:
        for s in all_systems:
            print(f"  {s.key:<27}{s.scenario:<6}{s.label}")
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    tools = Tools(args.motia_actors, args.native, args.peers, args.baseline_motia_actors,
                  args.baseline_native, args.malloc_lib)
    systems = chosen_systems(args, all_systems)
    results = {"meta": metadata(args), "skipped": {}, "failures": [], "rounds": [], "notes": [],
               "systems": [s.__dict__ for s in all_systems],
               "plan": {"rounds": args.rounds, "get_seconds": args.get_seconds,
                        "flow_seconds": args.flow_seconds, "warmup": args.warmup,
                        "get_conns": args.get_conns, "flow_conns": args.flow_conns,
                        "count_conns": args.count_conns}}
    if args.baseline_rev and not args.systems and not args.soak:
        results["notes"].append("Motia 0.17 left out (no before/after figure needs it; "
                                "name it with --systems to measure it)")
    if "count" in scenarios_of(args) and not args.soak and not (
            args.malloc_lib and os.path.isfile(args.malloc_lib)):
        args.count_conns = []
        results["notes"].append("no allocation counts: malloc_count.so is not built "
                                "(cmake --build BUILD --target motia-bench-malloc-count)")
    for note in results["notes"]:
        print(note)
    for s in systems:
        why = missing(s, tools)
        if why:
            results["skipped"][s.key] = why
            print(f"skipping {s.key}: {why}")
    runnable = [s for s in systems if s.key not in results["skipped"]]
    try:
        if args.soak:
            soak.run(args, runnable, tools, results)
            return
        minutes = sum(cell_seconds(args, s, scenario) + (1.0 if first else 0.0)
                      for _, s, scenario, _, first in schedule(args, runnable)) / 60
        if args.budget_minutes is None:
            args.budget_minutes = max(14.5, 1.5 * minutes)
        print(f"plan: {args.rounds} round(s) × {len(runnable)} systems "
              f"({', '.join(s.key for s in runnable)}); about {minutes:.0f} min", flush=True)
        run_rounds(args, runnable, tools, results)
    except KeyboardInterrupt:
        print("\ninterrupted: reporting what was measured")
    finally:
        procs.stop_all()
    results["meta"]["loadavg_end"] = os.getloadavg()[0]
    write_outputs(args, results)


if __name__ == "__main__":
    main()
