"""`--soak`: the flow at 70% of its maximum for a long time, figures printed over time.

For each system: a fresh server, a 10 s probe at full speed to find the maximum
completed flows/s, then `--soak-minutes` of POSTs paced at 70% of it (wrk's
delay hook), in 30 s chunks. Each chunk prints the POSTs accepted, the flows
finished during it, their end-to-end p50/p99, the backlog (accepted, not yet
finished), CPU and RSS per role. A system that slows down over time shows a
falling done/s, a growing backlog or p99, or growing RSS.
"""

import json
import os
import shutil
import tempfile

import load
from systems import Server

CHUNK_S = 30
PROBE_S = 10
SHARE = 0.7


class Counter:
    """Reads new done-file lines; keeps only per-chunk latencies, not every flow."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.rest = b""
        self.total = 0

    def read(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        lines = (self.rest + chunk).split(b"\n")
        self.rest = lines.pop()
        e2e = []
        for line in lines:
            parts = line.split()
            if len(parts) == 3 and parts[0].startswith(b"s"):
                e2e.append(float(parts[2]) - float(parts[1]))
        self.total += len(e2e)
        return e2e


def soak_system(system, args, tools, workdir):
    server = Server(system, tools, workdir)
    try:
        server.start()
        probe = load.measure_flow(server, args.flow_conns, PROBE_S, args.warmup, args.drain_timeout)
        rate = SHARE * probe["flows_per_s"]
        chunks = max(1, int(args.soak_minutes * 60 // CHUNK_S))
        print(f"{system.key}: maximum {probe['flows_per_s']:,.0f} flows/s; soaking "
              f"{chunks * CHUNK_S / 60:.0f} min at {rate:,.0f} POST/s")
        print(f"  {'min':>5}{'POST/s':>9}{'done/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'backlog':>9}"
              f"{'CPU %':>7}   RSS MB main | workers | Redis")
        counter = Counter(server.done_file)
        accepted, rows = 0, []
        for i in range(chunks):
            usage = load.Usage(server)
            r = load.drive_flow(server, args.flow_conns, CHUNK_S, f"s{i}", rate=rate)
            u = usage.finish()
            accepted += r["accepted"]
            e2e = counter.read()
            rss = server.rss()
            row = {"minute": (i + 1) * CHUNK_S / 60, "post_per_s": r["accepted"] / CHUNK_S,
                   "done_per_s": len(e2e) / u["wall_s"], "p50": load.percentile(e2e, 50),
                   "p99": load.percentile(e2e, 99), "backlog": max(accepted - counter.total, 0),
                   "cpu_pct": u["main_pct"] + u["rest_pct"], "rss_kb": rss,
                   "errors": r["errors"]}
            rows.append(row)
            print(f"  {row['minute']:>5.1f}{row['post_per_s']:>9,.0f}{row['done_per_s']:>9,.0f}"
                  f"{_f(row['p50'])}{_f(row['p99'])}{row['backlog']:>9,}{row['cpu_pct']:>7.0f}   "
                  + " | ".join(f"{rss[k] / 1024:.1f}" if rss[k] else "–"
                               for k in ("main", "workers", "store")),
                  flush=True)
            if server.proc.poll() is not None:
                raise RuntimeError(f"{system.key} exited during the soak:\n{server.tail()}")
        return {"system": system.key, "max_flows_per_s": probe["flows_per_s"], "rate": rate,
                "rows": rows}
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


def _f(v):
    return f"{v:>9,.1f}" if v is not None else f"{'–':>9}"


def summary(run):
    rows = run["rows"]
    first, last = rows[0], rows[-1]

    def total(row):
        return sum(row["rss_kb"].values()) / 1024
    return (f"{run['system']}: done/s {first['done_per_s']:,.0f} -> {last['done_per_s']:,.0f}, "
            f"p99 {first['p99'] or 0:,.1f} -> {last['p99'] or 0:,.1f} ms, backlog at end "
            f"{last['backlog']:,}, RSS {total(first):.0f} -> {total(last):.0f} MB")


def run(args, systems, tools, results):
    results["soak"] = []
    with tempfile.TemporaryDirectory(prefix="motia-soak-") as workdir:
        for system in systems:
            try:
                results["soak"].append(soak_system(system, args, tools, workdir))
            except (RuntimeError, OSError) as e:
                print(f"{system.key}: FAILED\n  {e}")
                results["failures"].append({"system": system.key, "round": 0, "error": str(e)})
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "soak.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print("\nSoak summary (first -> last chunk)")
    for r in results["soak"]:
        print("  " + summary(r))
    print(f"written: {os.path.relpath(path)}")
