"""Load and measurement: wrk runs for GET, the POST flow with its done file, CPU and RSS.

CPU is user+sys of every process of the server (its tree, and a Redis we
started for it) between two readings, reaped children included; the load
generator's own CPU is reported apart and never counted as the server's.
"""

import os
import re
import resource
import struct
import subprocess
import threading
import time

import procs

HERE = os.path.dirname(os.path.abspath(__file__))
UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def wrk_args(conns):
    return [f"-t{min(2, conns)}", f"-c{conns}"]


def percentile(values, pct):
    """Nearest-rank percentile of `values` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


# --- wrk -------------------------------------------------------------------


def parse_wrk(text):
    def number(pattern):
        m = re.search(pattern, text, re.M)
        return float(m.group(1)) if m else None

    def latency(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.M)
        return float(m.group(1)) * UNIT[m.group(2)] if m else None

    errors = int(number(r"Non-2xx or 3xx responses: (\d+)") or 0)
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    timeouts = 0
    if m:
        errors += sum(int(x) for x in m.groups())
        timeouts = int(m.group(4))
    m = re.search(r"^BENCH sent (\d+) accepted (\d+) rejected (\d+)", text, re.M)
    return {"rps": number(r"^Requests/sec:\s+([\d.]+)"),
            "requests": int(number(r"^\s+(\d+) requests in") or 0),
            "p50": latency(50), "p99": latency(99), "errors": errors, "timeouts": timeouts,
            "sent": int(m.group(1)) if m else None,
            "accepted": int(m.group(2)) if m else None,
            "rejected": int(m.group(3)) if m else None}


def run_wrk(conns, url, seconds, script=None, env=None, timeout_s=10):
    """One wrk run; returns (its output, its own CPU seconds)."""
    argv = ["wrk", *wrk_args(conns), f"-d{seconds}s", f"--timeout={timeout_s}s", "--latency"]
    if script:
        argv += ["-s", script]
    argv.append(url)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env=env)
    procs._running.append(proc)
    try:
        out, _ = proc.communicate(timeout=seconds + timeout_s + 30)
    finally:
        procs.stop(proc, grace=1.0)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return out, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


# --- what the server uses ----------------------------------------------------


class Periodic:
    """Calls `tick()` every `every` seconds on a thread of its own, from
    `start_ticking` until `halt`."""

    def start_ticking(self, every):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(every,), daemon=True)
        self._thread.start()

    def _loop(self, every):
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(every)

    def tick(self):
        raise NotImplementedError

    def halt(self):
        self._stop.set()
        self._thread.join()


class Usage(Periodic):
    """CPU of a server between `__init__` and `finish`, and its peak RSS by role
    sampled every `every` seconds in between."""

    def __init__(self, server, every=0.5):
        self.server = server
        self.cpu0 = procs.cpu_seconds(server.pids())
        self.main_pid = server.main_pid()
        self.main0 = _own_cpu(self.main_pid)
        self.machine0 = procs.machine_ticks()
        self.t0 = time.monotonic()
        self.peak = {"main": 0, "workers": 0, "store": 0}
        self.start_ticking(every)

    def tick(self):
        rss = self.server.rss()
        if sum(rss.values()) > sum(self.peak.values()):
            self.peak = rss

    def finish(self, until=None):
        """Stops sampling; CPU shares are of the time up to `until` (monotonic,
        e.g. the last completion, so an idle wait does not dilute them)."""
        self.halt()
        wall = max((until or time.monotonic()) - self.t0, 1e-3)
        cpu = procs.cpu_seconds(self.server.pids()) - self.cpu0
        main = _own_cpu(self.main_pid) - self.main0
        m1 = procs.machine_ticks()
        busy = (m1[0] - self.machine0[0]) / max(m1[1] - self.machine0[1], 1)
        return {"cpu_s": cpu, "wall_s": wall, "main_pct": 100 * main / wall,
                "rest_pct": 100 * (cpu - main) / wall, "machine_pct": 100 * busy * os.cpu_count(),
                "rss_peak_kb": self.peak}


def _own_cpu(pid):
    try:
        return procs.read_stat(pid)[1] / procs.TICK
    except (OSError, IndexError):
        return 0.0


# --- per-request counters in the runtime process ------------------------------


class MallocCounter:
    """The counters of malloc_count.cpp in a running process, read from
    /proc/<pid>/mem at the address the library wrote to its file (no signal:
    nothing in the measured process is interrupted)."""

    SLOT = 64  # bytes per slot: calls, bytes, padding

    def __init__(self, path, timeout=5.0):
        if not procs.wait_until(lambda: os.path.exists(path) and os.path.getsize(path) > 0, timeout):
            raise RuntimeError("the allocation counter did not start (is LD_PRELOAD honoured? "
                               f"no {path})")
        with open(path) as f:
            pid, address, slots = f.read().split()
        self.pid, self.address, self.slots = int(pid), int(address, 16), int(slots)

    def read(self):
        """(allocation calls, bytes asked for) so far, every thread summed."""
        with open(f"/proc/{self.pid}/mem", "rb") as mem:
            mem.seek(self.address)
            raw = mem.read(self.SLOT * self.slots)
        calls = nbytes = 0
        for i in range(self.slots):
            c, b = struct.unpack_from("<QQ", raw, i * self.SLOT)
            calls += c
            nbytes += b
        return calls, nbytes


def measure_counts(server, conns_list, seconds, warmup):
    """Allocations and context switches per GET in the main (runtime) process,
    one window per connection count, on one server started with the allocation
    counter preloaded. CPU and throughput of these windows are not reported:
    the counter costs a little. Workers' context switches are recorded too."""
    counter = MallocCounter(server.malloc_file)
    main = server.main_pid()
    out = {}
    for conns in conns_list:
        if warmup:
            run_wrk(conns, server.url(), warmup)
        workers = server.roles()["workers"]
        m0, cs0 = counter.read(), procs.ctx_switches(main)
        w0 = [procs.ctx_switches(p) for p in workers]
        text, _ = run_wrk(conns, server.url(), seconds)
        m1, cs1 = counter.read(), procs.ctx_switches(main)
        w1 = [procs.ctx_switches(p) for p in workers]
        r = parse_wrk(text)
        n = r["requests"]
        if not n:
            raise RuntimeError(f"no answer at {conns} connections:\n{text}")
        wcs = sum(sum(b) - sum(a) for a, b in zip(w0, w1))
        out[str(conns)] = {
            "requests": n, "rps": r["rps"], "errors": r["errors"],
            "mallocs": (m1[0] - m0[0]) / n, "malloc_bytes": (m1[1] - m0[1]) / n,
            "cs_voluntary": (cs1[0] - cs0[0]) / n, "cs_nonvoluntary": (cs1[1] - cs0[1]) / n,
            "cs": (sum(cs1) - sum(cs0)) / n,
            "worker_cs": wcs / n if workers else None}
    return {"counts": out}


# --- GET -------------------------------------------------------------------


def measure_get(server, conns, seconds, warmup):
    """Warm-up (not counted), then one measured wrk run at `conns` connections."""
    if warmup:
        run_wrk(conns, server.url(), warmup)
    main = server.main_pid()
    usage = Usage(server)
    cs0 = procs.ctx_switches(main)
    out, wrk_cpu = run_wrk(conns, server.url(), seconds)
    cs1 = procs.ctx_switches(main)
    u = usage.finish()
    r = parse_wrk(out)
    if r["rps"] is None:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    if not r["requests"]:  # nothing answered within the cell (Motia at 64 connections)
        r.update(p50=None, p99=None)
    r.update(u, cpu_us=u["cpu_s"] / r["requests"] * 1e6 if r["requests"] else None,
             cs_main=(sum(cs1) - sum(cs0)) / r["requests"] if r["requests"] else None,
             wrk_pct=100 * wrk_cpu / u["wall_s"], raw=out)
    return r


# --- the flow --------------------------------------------------------------


class DoneFile:
    """Reads the `id t0 t1` lines appended by the last step, incrementally."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.rest = b""
        self.flows = {}  # tag -> {id: (t0, t1)}
        self.duplicates = 0

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return
        self.offset += len(chunk)
        data = self.rest + chunk
        lines = data.split(b"\n")
        self.rest = lines.pop()  # an incomplete last line waits for its end
        for line in lines:
            parts = line.split()
            if len(parts) != 3:
                continue
            fid = parts[0].decode(errors="replace")
            tag = fid.split("-", 1)[0]
            seen = self.flows.setdefault(tag, {})
            if fid in seen:
                self.duplicates += 1
            else:
                seen[fid] = (float(parts[1]), float(parts[2]))

    def count(self, tag):
        return len(self.flows.get(tag, {}))


def wait_done(done, tag, wrk, timeout, stall):
    """Polls the done file until every accepted flow of `tag` is done, then
    briefly for the flows of requests wrk cut off in flight (the server may
    finish those too). Gives up after `stall` seconds without a new line (once
    the first came) or `timeout` in all. Returns (all accepted done, monotonic
    time of the last new line)."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    last, last_change, settle = -1, t0, None
    while True:
        done.poll()
        n = done.count(tag)
        now = time.monotonic()
        if n != last:
            last, last_change = n, now
        if settle is None and n >= wrk["accepted"]:
            # Cut-off requests finish about as fast as accepted ones did.
            settle = min(stall, 1.0 + 0.5 * (now - t0))
        quiet = now - last_change
        if (n >= wrk["sent"] or now > deadline or (n and quiet > stall)
                or (settle is not None and quiet > settle)):
            return n >= wrk["accepted"], last_change
        time.sleep(0.05)


def drive_flow(server, conns, seconds, tag, rate=0.0):
    """POSTs flows for `seconds`; returns wrk's figures (accepted, rejected, ...)."""
    env = dict(os.environ, BENCH_TAG=tag, BENCH_RATE=str(rate / min(2, conns) if rate else 0))
    out, wrk_cpu = run_wrk(conns, server.url("/flow"), seconds,
                           script=os.path.join(HERE, "flow.lua"), env=env)
    r = parse_wrk(out)
    if r["accepted"] is None:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    r.update(wrk_cpu=wrk_cpu, raw=out)
    return r


def measure_flow(server, conns, seconds, warmup, drain_timeout, stall=15.0):
    """Warm-up flows (drained, not counted), then POSTs for `seconds` and a
    bounded wait until every accepted flow is done. flows/s counts from the
    first measured POST to the last completion."""
    done = DoneFile(server.done_file)
    if warmup:
        w = drive_flow(server, conns, warmup, "w")
        wait_done(done, "w", w, drain_timeout, stall)
    usage = Usage(server)
    start_ms = time.time() * 1000
    r = drive_flow(server, conns, seconds, "m")
    complete, last_line = wait_done(done, "m", r, drain_timeout, stall)
    u = usage.finish(until=last_line)
    flows = done.flows.get("m", {})
    n = len(flows)
    e2e = [t1 - t0 for t0, t1 in flows.values()]
    last = max((t1 for _, t1 in flows.values()), default=start_ms)
    r.update(u, completed=n, complete=complete, duplicates=done.duplicates,
             lost=max(r["accepted"] - n, 0),
             flows_per_s=n / max((last - start_ms) / 1000, 1e-3) if n else 0.0,
             post_per_s=r["accepted"] / seconds,
             e2e_p50=percentile(e2e, 50), e2e_p99=percentile(e2e, 99),
             cpu_us=u["cpu_s"] / n * 1e6 if n else None,
             wrk_pct=100 * r["wrk_cpu"] / seconds)
    return r
