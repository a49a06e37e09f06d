"""`--soak`: the flow at 70% of its maximum for a long time, figures printed over time.

For each system: a fresh server, a 10 s probe at full speed to find the maximum
completed flows/s, then `--soak-minutes` of POSTs paced at 70% of it (wrk's
delay hook), in chunks (30 s; shorter for soaks under 5 minutes). Each chunk
prints the POSTs accepted, the flows finished during it, their end-to-end
p50/p99, the backlog (accepted, not yet finished), CPU and RSS per role. In the
background the runtime's RSS is sampled every `--soak-sample` seconds, with
RocksDB's memory when the runtime's metrics endpoint reports it. The summary
says whether the runtime's RSS stays within 10 % after the first minute, and
compares the e2e latency of the first and the last minute.
"""

import http.client
import json
import os
import re
import shutil
import tempfile
import time

import load
from systems import Server

PROBE_S = 10
SHARE = 0.7
FLAT = 0.10  # the target: RSS flat within 10 % after the first minute


def chunk_seconds(total_s):
    return min(30.0, max(10.0, total_s / 10))


def settle_seconds(total_s):
    """"The first minute", shortened for soaks under 3 minutes."""
    return 60.0 if total_s >= 180 else total_s / 3


class Counter:
    """Reads new done-file lines; keeps per-chunk latencies, and those of the
    flows finished in the first and in the last window of the soak."""

    def __init__(self, path, start_ms, end_ms, window_ms):
        self.path = path
        self.offset = 0
        self.rest = b""
        self.total = 0
        self.first_until = start_ms + window_ms
        self.last_from = end_ms - window_ms
        self.first, self.last = [], []

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
                t0, t1 = float(parts[1]), float(parts[2])
                e2e.append(t1 - t0)
                if t1 < self.first_until:
                    self.first.append(t1 - t0)
                elif t1 >= self.last_from:
                    self.last.append(t1 - t0)
        self.total += len(e2e)
        return e2e


# --- RocksDB's memory, when the runtime reports it ------------------------------

BUDGET = re.compile(r"budget|limit|capacity", re.I)


def rocksdb_memory(metrics):
    """(bytes in use, budget bytes or None) from a metrics document: the
    numeric leaves whose name ends in "bytes" under any key naming RocksDB
    (`{"rocksdb": {"memtableBytes": .., "blockCacheBytes": .., "budgetBytes": ..}}`);
    None when there are none."""
    found = {"used": 0, "budget": None, "any": False}

    def leaves(node, inside):
        if isinstance(node, dict):
            for k, v in node.items():
                here = inside or "rocks" in k.lower()
                if here and isinstance(v, (int, float)) and not isinstance(v, bool) \
                        and k.lower().endswith("bytes"):
                    found["any"] = True
                    if BUDGET.search(k):
                        found["budget"] = (found["budget"] or 0) + v
                    else:
                        found["used"] += v
                else:
                    leaves(v, here)
        elif isinstance(node, list):
            for v in node:
                leaves(v, inside)
    leaves(metrics, False)
    return (found["used"], found["budget"]) if found["any"] else None


def fetch_metrics(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5.0)
    try:
        conn.request("GET", "/_motia/metrics")
        r = conn.getresponse()
        return json.loads(r.read()) if r.status == 200 else None
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        conn.close()


class Sampler(load.Periodic):
    """RSS of the runtime (main) and its workers every `every` seconds, and
    RocksDB's memory if the metrics endpoint reports it (asked once first:
    if it does not, it is not polled, since its queue counts are a scan)."""

    def __init__(self, server, every):
        self.server = server
        self.t0 = time.monotonic()
        self.samples = []
        self.rocksdb = server.system.kind == "ours" and \
            rocksdb_memory(fetch_metrics(server.port) or {}) is not None
        self.start_ticking(every)

    def tick(self):
        rss = self.server.rss()
        row = {"t": time.monotonic() - self.t0, "main_kb": rss["main"],
               "workers_kb": rss["workers"]}
        if self.rocksdb:
            mem = rocksdb_memory(fetch_metrics(self.server.port) or {})
            if mem:
                row["rocksdb_bytes"], row["rocksdb_budget"] = mem
        self.samples.append(row)


# --- one system ------------------------------------------------------------------


def soak_system(system, args, tools, workdir):
    server = Server(system, tools, workdir)
    try:
        server.start()
        probe = load.measure_flow(server, args.flow_conns, PROBE_S, args.warmup, args.drain_timeout)
        rate = SHARE * probe["flows_per_s"]
        total_s = args.soak_minutes * 60
        chunk_s = chunk_seconds(total_s)
        chunks = max(1, round(total_s / chunk_s))
        total_s = chunks * chunk_s
        print(f"{system.key}: maximum {probe['flows_per_s']:,.0f} flows/s; soaking "
              f"{total_s / 60:g} min at {rate:,.0f} POST/s ({chunks} chunks of {chunk_s:g} s)")
        print(f"  {'min':>5}{'POST/s':>9}{'done/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'backlog':>9}"
              f"{'CPU %':>7}   RSS MB main | workers | Redis")
        start_ms = time.time() * 1000
        window_ms = settle_seconds(total_s) * 1000
        counter = Counter(server.done_file, start_ms, start_ms + total_s * 1000, window_ms)
        sampler = Sampler(server, args.soak_sample)
        accepted, rows = 0, []
        try:
            for i in range(chunks):
                usage = load.Usage(server)
                r = load.drive_flow(server, args.flow_conns, int(chunk_s), f"s{i}", rate=rate)
                u = usage.finish()
                accepted += r["accepted"]
                e2e = counter.read()
                rss = server.rss()
                row = {"minute": (i + 1) * chunk_s / 60, "post_per_s": r["accepted"] / chunk_s,
                       "done_per_s": len(e2e) / u["wall_s"], "p50": load.percentile(e2e, 50),
                       "p99": load.percentile(e2e, 99),
                       "backlog": max(accepted - counter.total, 0),
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
        finally:
            sampler.halt()
        time.sleep(min(2.0, chunk_s / 5))  # the last flows of the last window
        counter.read()
        return {"system": system.key, "max_flows_per_s": probe["flows_per_s"], "rate": rate,
                "minutes": total_s / 60, "settle_s": settle_seconds(total_s), "rows": rows,
                "samples": sampler.samples, "rocksdb_reported": sampler.rocksdb,
                "e2e_first": _pcts(counter.first), "e2e_last": _pcts(counter.last)}
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


def _pcts(values):
    return {"n": len(values), "p50": load.percentile(values, 50),
            "p99": load.percentile(values, 99)}


def _f(v):
    return f"{v:>9,.1f}" if v is not None else f"{'–':>9}"


# --- verdicts ----------------------------------------------------------------------


def rss_verdict(run):
    """The runtime's RSS after the settling time: min, max, spread and whether
    it is flat within FLAT; its slope in MB per minute (least squares)."""
    after = [s for s in run["samples"] if s["t"] >= run["settle_s"] and s["main_kb"]]
    if len(after) < 2:
        return None
    mb = [s["main_kb"] / 1024 for s in after]
    ts = [s["t"] / 60 for s in after]
    mt, mm = sum(ts) / len(ts), sum(mb) / len(mb)
    var = sum((t - mt) ** 2 for t in ts)
    slope = sum((t - mt) * (m - mm) for t, m in zip(ts, mb)) / var if var else 0.0
    spread = max(mb) / min(mb) - 1
    return {"first": mb[0], "last": mb[-1], "min": min(mb), "max": max(mb), "spread": spread,
            "flat": spread <= FLAT, "slope_mb_per_min": slope, "samples": len(mb)}


def summary(run):
    lines = []
    rows = run["rows"]
    first, last = rows[0], rows[-1]
    lines.append(f"{run['system']}: {run['minutes']:g} min at {run['rate']:,.0f} POST/s "
                 f"(70 % of {run['max_flows_per_s']:,.0f}); done/s {first['done_per_s']:,.0f} -> "
                 f"{last['done_per_s']:,.0f}, backlog at end {last['backlog']:,}")
    v = rss_verdict(run)
    window = "minute" if run["settle_s"] == 60 else f"{run['settle_s']:.0f} s"
    if v:
        per_k = v["slope_mb_per_min"] / (run["rate"] * 60) * 1000 if run["rate"] else 0.0
        lines.append(f"  runtime RSS after the first {window}: {v['first']:.1f} -> {v['last']:.1f} "
                     f"MB, range {v['min']:.1f}-{v['max']:.1f} MB (spread {100 * v['spread']:.0f} "
                     f"%), slope {v['slope_mb_per_min']:+.1f} MB/min ({per_k:+.2f} MB per 1,000 "
                     f"flows) over {v['samples']} samples: flat within 10 %: "
                     f"{'MET' if v['flat'] else 'NOT MET'}")
    else:
        lines.append(f"  runtime RSS: too few samples after the first {window}")
    rocks = [s for s in run["samples"] if "rocksdb_bytes" in s]
    if rocks:
        peak = max(s["rocksdb_bytes"] for s in rocks) / 2**20
        budget = next((s["rocksdb_budget"] for s in rocks if s.get("rocksdb_budget")), None)
        goal = (budget / 2**20) if budget else 64.0
        lines.append(f"  RocksDB memory (metrics endpoint): {rocks[0]['rocksdb_bytes'] / 2**20:.1f} "
                     f"-> {rocks[-1]['rocksdb_bytes'] / 2**20:.1f} MB, peak {peak:.1f} MB; "
                     f"{'budget' if budget else 'default budget of issue 12'} {goal:.0f} MB: "
                     f"{'MET' if peak <= goal else 'NOT MET'}")
    else:
        lines.append("  RocksDB memory: not reported by /_motia/metrics (RSS only)")
    a, b = run["e2e_first"], run["e2e_last"]

    def p(x):
        return f"{x:,.1f}" if x is not None else "–"
    lines.append(f"  e2e ms, first vs last {window}: "
                 f"p50 {p(a['p50'])} -> {p(b['p50'])}, p99 {p(a['p99'])} -> {p(b['p99'])} "
                 f"({a['n']:,} and {b['n']:,} flows)")
    return lines


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
    text = [f"Soak summary ({results['meta']['date']}, load average "
            f"{results['meta']['loadavg']:.2f} at the start, {os.getloadavg()[0]:.2f} at the end)"]
    for r in results["soak"]:
        text += ["  " + line for line in summary(r)]
    print("\n" + "\n".join(text))
    with open(os.path.join(args.out, "soak.txt"), "w") as f:
        f.write("\n".join(text) + "\n")
    print(f"written: {os.path.relpath(path)}, {os.path.relpath(os.path.join(args.out, 'soak.txt'))}")
