#!/usr/bin/env python3
"""Load and checks for tests/system/durability.test.sh (stdlib only).

  load  --port P --first F --count N [--connections C] [--deadline S] --progress FILE
      POSTs {"id": i} to /ev for every i in [F, F+N) over C keep-alive
      connections. A 200 acknowledges an id; a connection error or any other
      status is retried (after a reconnect and a short sleep) until it is
      acknowledged, because the runtime is killed and restarted meanwhile.
      Writes the number of acknowledged ids to FILE as it goes (the test's
      chaos loop reads it to kill at random points of the load). Exits 1 if
      not every id is acknowledged within the deadline.

  check --port P --first F --count N --done-file FILE [--timeout S]
      Waits until every id of [F, F+N) is in FILE (one line per completion)
      and the runtime's queue has no pending delivery, then prints the
      number of duplicate completions. Exits 1 if an id is missing.
"""
import argparse
import http.client
import json
import os
import sys
import threading
import time


def log(msg):
    print(msg, flush=True)


def error_code(body):
    """The code of a JSON error body ({"error": {"code": ...}}), else '?'."""
    try:
        return json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return "?"


class Load:
    def __init__(self, args):
        self.args = args
        self.next_id = args.first
        self.end = args.first + args.count
        self.lock = threading.Lock()
        self.acked = 0
        self.attempts = 0
        self.errors = {}  # kind -> count
        self.stop = threading.Event()

    def take(self):
        with self.lock:
            if self.next_id >= self.end:
                return None
            i = self.next_id
            self.next_id += 1
            return i

    def note(self, ok, kind=None):
        with self.lock:
            self.attempts += 1
            if ok:
                self.acked += 1
            else:
                self.errors[kind] = self.errors.get(kind, 0) + 1

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.args.port, timeout=self.args.request_timeout)

    def post(self, conn, i):
        """Returns (conn, acknowledged, error kind). Drops the connection on error."""
        body = json.dumps({"id": i})
        try:
            if conn is None:
                conn = self.connect()
            conn.request("POST", "/ev", body, {"content-type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            if resp.status == 200:
                if resp.will_close:
                    conn.close()
                    conn = None
                return conn, True, None
            kind = "http %d %s" % (resp.status, error_code(data))
        except (OSError, http.client.HTTPException) as e:
            kind = type(e).__name__
        if conn is not None:
            conn.close()
        return None, False, kind

    def worker(self):
        conn = None
        while not self.stop.is_set():
            i = self.take()
            if i is None:
                break
            while not self.stop.is_set():
                conn, ok, kind = self.post(conn, i)
                self.note(ok, kind)
                if ok:
                    break
                # The runtime is down or restarting: back off a little.
                time.sleep(0.02)
        if conn is not None:
            conn.close()

    def write_progress(self):
        tmp = self.args.progress + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % self.acked)
        os.replace(tmp, self.args.progress)

    def run(self):
        started = time.monotonic()
        threads = [threading.Thread(target=self.worker, daemon=True) for _ in range(self.args.connections)]
        for t in threads:
            t.start()
        deadline = started + self.args.deadline
        while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
            self.write_progress()
            time.sleep(0.01)
        self.stop.set()
        self.write_progress()
        elapsed = time.monotonic() - started
        errors = ", ".join("%s: %d" % kv for kv in sorted(self.errors.items())) or "none"
        log("driver: %d/%d acknowledged in %.1f s (%d attempts; retried errors: %s)"
            % (self.acked, self.args.count, elapsed, self.attempts, errors))
        if self.acked != self.args.count:
            log("driver: not every id was acknowledged within %d s" % self.args.deadline)
            return 1
        return 0


def pending_deliveries(port):
    """The runtime's pending queue deliveries, or None if it does not answer."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/_motia/metrics")
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        if resp.status != 200:
            return None
        return json.loads(body)["queue"]["pending"]
    except (OSError, http.client.HTTPException, ValueError, KeyError):
        return None


def read_done(path, first, end):
    """Counts completions per id in [first, end); also returns malformed lines."""
    counts = {}
    bad = []
    try:
        with open(path) as f:
            data = f.read()
    except FileNotFoundError:
        return counts, bad
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    else:
        lines = lines[:-1]  # a line still being written
    for line in lines:
        try:
            i = int(line)
        except ValueError:
            bad.append(line)
            continue
        if first <= i < end:
            counts[i] = counts.get(i, 0) + 1
    return counts, bad


def check(args):
    first, end = args.first, args.first + args.count
    started = time.monotonic()
    deadline = started + args.timeout
    while True:
        counts, bad = read_done(args.done_file, first, end)
        pending = pending_deliveries(args.port)
        complete = len(counts) == args.count
        if (complete and pending == 0) or time.monotonic() >= deadline or bad:
            break
        time.sleep(0.1)
    waited = time.monotonic() - started
    completions = sum(counts.values())
    duplicates = completions - len(counts)
    histogram = {}
    for c in counts.values():
        histogram[c] = histogram.get(c, 0) + 1
    spread = ", ".join("%d ids x%d" % (histogram[c], c) for c in sorted(histogram) if c > 1) or "none"
    log("check: N=%d completed=%d completions=%d duplicates=%d (%s) pending=%s after %.1f s"
        % (args.count, len(counts), completions, duplicates, spread, pending, waited))
    if bad:
        log("check: malformed lines in %s: %r" % (args.done_file, bad[:5]))
        return 1
    if not complete:
        missing = [i for i in range(first, end) if i not in counts]
        log("check: %d acknowledged ids never completed, e.g. %s" % (len(missing), missing[:20]))
        return 1
    if pending is None:
        log("check: GET /_motia/metrics did not answer with the queue's pending count")
        return 1
    if pending != 0:
        log("check: the queue still has %d pending deliveries after %d s" % (pending, args.timeout))
        return 1
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("load")
    lp.add_argument("--port", type=int, required=True)
    lp.add_argument("--first", type=int, required=True)
    lp.add_argument("--count", type=int, required=True)
    lp.add_argument("--connections", type=int, default=16)
    lp.add_argument("--deadline", type=float, default=150)
    lp.add_argument("--request-timeout", type=float, default=40)
    lp.add_argument("--progress", required=True)
    cp = sub.add_parser("check")
    cp.add_argument("--port", type=int, required=True)
    cp.add_argument("--first", type=int, required=True)
    cp.add_argument("--count", type=int, required=True)
    cp.add_argument("--done-file", required=True)
    cp.add_argument("--timeout", type=float, default=120)
    args = p.parse_args()
    return Load(args).run() if args.cmd == "load" else check(args)


if __name__ == "__main__":
    sys.exit(main())
