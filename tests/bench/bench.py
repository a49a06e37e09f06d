#!/usr/bin/env python3
"""Measures GET /hello on three systems side by side; run.sh builds and calls this.

Systems: `js` (motia-actors serving projects/js-hello through its Node worker),
`native` (motia-bench-native: the same handler as a C++ step) and `node` (the
baseline, plain-node-server.js). Each round starts a fresh process of every
system, in a rotated order, and measures it: time to the first 200, idle RSS,
then wrk at 64 and at 1 connection with the CPU time of the server's process
tree. The report gives medians over rounds; ratios are against plain Node from
the same rounds. See README.md for what each figure means.
"""

import argparse
import datetime
import http.client
import json
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TICK = os.sysconf("SC_CLK_TCK")
SYSTEMS = ["js", "native", "node"]
LABEL = {"js": "js step (motia-actors)", "native": "native step (C++)", "node": "plain node http"}
LOADS = {"c64": ["-t2", "-c64"], "c1": ["-t1", "-c1"]}
LOAD_LABEL = {"c64": "64 connections (wrk -t2 -c64)", "c1": "1 connection (wrk -t1 -c1)"}

# What issue 2 asks for, checked against the medians.
TARGET_JS_RPS = 10_000
TARGET_JS_RATIO = 0.7
TARGET_NATIVE_RATIO = 2.0
TARGET_STARTUP_MS = 500
TARGET_IDLE_RSS_MB = 20

_running = []  # every Popen this run started, for cleanup


# --- processes -------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_stat(pid):
    """(ppid, cpu ticks) of one process from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])  # ppid, utime + stime


def descendants(root):
    """Pids below `root` (what repeated `pgrep -P` finds), from one /proc scan."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(read_stat(int(entry))[0], []).append(int(entry))
            except (OSError, IndexError):
                pass  # exited while we looked
    found, todo = [], [root]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def cpu_ticks(pids):
    out = {}
    for pid in pids:
        try:
            out[pid] = read_stat(pid)[1]
        except OSError:
            pass
    return out


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine_ticks():
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def start_time(pid):
    """When `pid` started (ticks since boot): tells a process from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def stop(proc, grace=5.0):
    """SIGTERM the process we started (it drains and stops its worker), then
    SIGKILL whatever is left: its process group, and its descendants, which
    may have groups of their own (the node worker does)."""
    if proc in _running:
        _running.remove(proc)
    tree = [(pid, start_time(pid)) for pid in descendants(proc.pid)]
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the group is gone: nothing left over
    for pid, born in tree:
        if born is not None and start_time(pid) == born:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    proc.wait(5.0)


def stop_all(*_):
    for proc in list(_running):
        stop(proc, grace=2.0)


# --- one server ------------------------------------------------------------


class Server:
    """One fresh process of a system, on its own port and data dir."""

    def __init__(self, system, bins, workdir):  # bins: .motia and .native paths
        self.system = system
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"{system}-", dir=workdir)
        data = os.path.join(self.dir, "data")
        common = ["--port", str(self.port), "--data-dir", data, "--quiet"]
        if system == "js":
            self.argv = [bins.motia, "run", os.path.join(HERE, "projects", "js-hello")] + common
        elif system == "native":
            empty = os.path.join(self.dir, "project")  # native steps only: no step files
            os.mkdir(empty)
            self.argv = [bins.native, "run", empty] + common
        else:
            self.argv = ["node", os.path.join(HERE, "plain-node-server.js"), str(self.port)]
        self.log = os.path.join(self.dir, "server.log")
        self.proc = None

    def start(self, timeout=20.0):
        """Launches the server; returns ms from just before exec to the first 200."""
        log = open(self.log, "wb")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        _running.append(self.proc)
        log.close()
        while time.monotonic() - t0 < timeout:
            reply = probe(self.port)
            if reply and reply[0] == 200:
                ms = (time.monotonic() - t0) * 1000
                check_body(self, reply)
                return ms
            if self.proc.poll() is not None:
                break
            time.sleep(0.005)
        raise RuntimeError(f"{self.system} did not answer 200 on GET /hello:\n{self.tail()}")

    def tail(self, n=15):
        with open(self.log, errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def pids(self):
        return [self.proc.pid] + descendants(self.proc.pid)

    def rss(self):
        """(kB of the server process, kB of its descendants: the node worker)."""
        return rss_kb(self.proc.pid), sum(rss_kb(p) for p in descendants(self.proc.pid))

    def url(self):
        return f"http://127.0.0.1:{self.port}/hello"

    def stop(self):
        stop(self.proc)


def probe(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        conn.request("GET", "/hello")
        r = conn.getresponse()
        return r.status, r.getheader("content-type", ""), r.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def check_body(server, reply):
    _, ctype, body = reply
    if json.loads(body) != {"message": "hello"} or "application/json" not in ctype:
        raise RuntimeError(f"{server.system}: unexpected answer {ctype!r} {body!r}")


# --- load ------------------------------------------------------------------

UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def parse_wrk(text):
    def number(pattern):
        m = re.search(pattern, text, re.M)
        return float(m.group(1)) if m else None

    def latency(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.M)
        return float(m.group(1)) * UNIT[m.group(2)] if m else None

    errors = int(number(r"Non-2xx or 3xx responses: (\d+)") or 0)
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors += sum(int(x) for x in m.groups())
    return {"rps": number(r"^Requests/sec:\s+([\d.]+)"),
            "requests": int(number(r"^\s+(\d+) requests in") or 0),
            "p50": latency(50), "p99": latency(99), "errors": errors}


def run_wrk(args, url, seconds):
    argv = ["wrk", *args, f"-d{seconds}s", "--latency", url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    _running.append(proc)
    out, _ = proc.communicate(timeout=seconds + 30)
    _running.remove(proc)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return out, wrk_cpu


def measure_load(server, load, seconds):
    """One wrk run with the CPU seconds of the server's tree (main, descendants)."""
    root = server.proc.pid
    before = cpu_ticks(server.pids())
    m_before = machine_ticks()
    t0 = time.monotonic()
    out, wrk_cpu = run_wrk(LOADS[load], server.url(), seconds)
    wall = time.monotonic() - t0
    after = cpu_ticks(server.pids())
    m_after = machine_ticks()
    delta = {pid: (t - before.get(pid, 0)) / TICK for pid, t in after.items()}
    main_cpu = delta.pop(root, 0.0)
    child_cpu = sum(delta.values())
    r = parse_wrk(out)
    if r["rps"] is None:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    requests = max(r["requests"], 1)
    busy = (m_after[0] - m_before[0]) / max(m_after[1] - m_before[1], 1)
    r.update(cpu_us=(main_cpu + child_cpu) / requests * 1e6,
             main_pct=100 * main_cpu / wall, child_pct=100 * child_cpu / wall,
             wrk_pct=100 * wrk_cpu / wall, machine_pct=100 * busy * os.cpu_count(),
             raw=out)
    return r


def measure_system(system, args, workdir):
    server = Server(system, args, workdir)
    try:
        fig = {"startup_ms": server.start()}
        time.sleep(2.0)
        fig["idle_rss"] = server.rss()
        run_wrk(LOADS["c64"], server.url(), args.warmup)  # warm-up, not counted
        fig["c64"] = measure_load(server, "c64", args.duration)
        fig["loaded_rss"] = server.rss()
        fig["c1"] = measure_load(server, "c1", args.duration)
        return fig
    finally:
        server.stop()


# --- report ----------------------------------------------------------------


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def verdict(ok):
    return "MET" if ok else "MISSED"


def ratio_to_node(rounds, system, load):
    """Median over rounds of system/node req/s, each pair from the same round."""
    return med([r[system][load]["rps"] / r["node"][load]["rps"] for r in rounds])


def load_table(rounds, load):
    lines = [LOAD_LABEL[load]]
    for system in SYSTEMS:
        figs = [r[system][load] for r in rounds]
        ratio = ratio_to_node(rounds, system, load)
        rps = med([f["rps"] for f in figs])
        target = ""
        if load == "c64" and system == "js":
            ok = rps >= TARGET_JS_RPS and ratio >= TARGET_JS_RATIO
            target = f"≥{TARGET_JS_RPS:,} req/s and ≥{TARGET_JS_RATIO}x node: {verdict(ok)}"
        elif load == "c64" and system == "native":
            target = f"≥{TARGET_NATIVE_RATIO}x node: {verdict(ratio >= TARGET_NATIVE_RATIO)}"
        errors = sum(f["errors"] for f in figs)
        note = f"  ({errors} errors!)" if errors else ""
        lines.append(f"  {LABEL[system]:<24}{rps:>10,.0f}{med([f['p50'] for f in figs]):>9.2f}"
                     f"{med([f['p99'] for f in figs]):>9.2f}{med([f['cpu_us'] for f in figs]):>11.1f}"
                     f"{ratio:>8.2f}x   {target}{note}")
    return lines


def cpu_split(rounds, load):
    lines = [f"  {LOAD_LABEL[load]}:"]
    for system in SYSTEMS:
        figs = [r[system][load] for r in rounds]
        main, child = med([f["main_pct"] for f in figs]), med([f["child_pct"] for f in figs])
        wrk, machine = med([f["wrk_pct"] for f in figs]), med([f["machine_pct"] for f in figs])
        other = max(machine - main - child - wrk, 0)
        split = f"server {main:5.0f}%"
        if system == "js":
            split = f"motia-actors {main:4.0f}% + node worker {child:4.0f}%"
        lines.append(f"    {LABEL[system]:<24}{split:<38} wrk {wrk:4.0f}%   "
                     f"machine {machine:4.0f}% of {100 * os.cpu_count()}% (others {other:3.0f}%)")
    return lines


def startup_and_memory(rounds):
    lines = ["Start-up: launch (just before exec) to the first 200 on GET /hello, fresh data dir"]
    for system in SYSTEMS:
        ms = med([r[system]["startup_ms"] for r in rounds])
        target = f"target <{TARGET_STARTUP_MS} ms: {verdict(ms < TARGET_STARTUP_MS)}" \
            if system == "js" else ""
        lines.append(f"  {LABEL[system]:<24}{ms:>8.0f} ms   {target}")
    lines += ["", "Resident memory (VmRSS, MB): process | its node worker; idle = 2 s after ready"]
    for system in SYSTEMS:
        def mb(key, i):
            return med([r[system][key][i] for r in rounds]) / 1024
        proc = f"idle {mb('idle_rss', 0):5.1f}"
        loaded = f"after 64-conn load {mb('loaded_rss', 0):5.1f}"
        if system == "js":
            proc += f" | {mb('idle_rss', 1):5.1f}"
            loaded += f" | {mb('loaded_rss', 1):5.1f}"
        target = ""
        if system != "node":
            ok = mb("idle_rss", 0) < TARGET_IDLE_RSS_MB
            target = f"process idle target <{TARGET_IDLE_RSS_MB} MB: {verdict(ok)}"
        lines.append(f"  {LABEL[system]:<24}{proc:<20}{loaded:<34}{target}")
    return lines


def per_round(rounds):
    lines = ["Per round (req/s at c64 / c1, startup ms, order run):"]
    for i, r in enumerate(rounds, 1):
        cells = [f"{s} {r[s]['c64']['rps']:,.0f}/{r[s]['c1']['rps']:,.0f} "
                 f"{r[s]['startup_ms']:.0f}ms" for s in r["order"]]
        lines.append(f"  round {i}: " + " · ".join(cells))
    return lines


def report(rounds, header):
    head = f"  {'system':<24}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'CPU µs/req':>11}" \
           f"{'vs node':>9}   target (issue 2)"
    lines = header + ["", "GET /hello, medians over rounds (ratio: same-round pairs)", head]
    lines += load_table(rounds, "c64") + load_table(rounds, "c1")
    lines += ["", "CPU during the measured run (median % of one core):"]
    lines += cpu_split(rounds, "c64") + cpu_split(rounds, "c1")
    lines += [""] + startup_and_memory(rounds) + [""] + per_round(rounds)
    return "\n".join(lines) + "\n"


def header_lines(args):
    def version(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "?"
    rev = version(["git", "-C", HERE, "rev-parse", "--short", "HEAD"])
    dirty = " + uncommitted changes" if version(["git", "-C", HERE, "status", "--porcelain"]) else ""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [f"motia-actors benchmark (issue 2) · {now} · {args.rounds} round(s), systems "
            f"alternated · wrk {args.duration} s per figure after {args.warmup} s warm-up",
            f"  commit {rev}{dirty} · build {args.build_info} · node {version(['node', '--version'])}"
            f" · {os.cpu_count()} cores, load average at start "
            f"{os.getloadavg()[0]:.2f} (shared machine: compare only within this report)"]


# --- main ------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=int, default=10, help="seconds of each measured wrk run")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--motia", required=True, help="the motia-actors binary")
    p.add_argument("--native", required=True, help="the motia-bench-native binary")
    p.add_argument("--build-info", default="?")
    p.add_argument("--out", default=os.path.join(HERE, "results", "latest.txt"))
    args = p.parse_args()

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    rounds = []
    header = header_lines(args)
    minutes = args.rounds * 3 * (2 * args.duration + args.warmup + 5) / 60
    print(f"measuring {args.rounds} round(s) of 3 systems, about {minutes:.0f} min", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="motia-bench-") as workdir:
            for i in range(args.rounds):
                order = SYSTEMS[i % 3:] + SYSTEMS[:i % 3]  # nobody always goes first
                rnd = {"order": order}
                for system in order:
                    print(f"round {i + 1}/{args.rounds}: {system} ...", flush=True)
                    rnd[system] = measure_system(system, args, workdir)
                rounds.append(rnd)
    finally:
        stop_all()

    text = report(rounds, header)
    print("\n" + text, end="")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    raw = os.path.splitext(args.out)[0] + ".json"
    with open(raw, "w") as f:
        json.dump(rounds, f, indent=1)
    print(f"\nwritten to {args.out} (raw wrk output and figures: {raw})")


if __name__ == "__main__":
    main()
