"""Processes of the benchmark: starting, accounting (CPU, RSS from /proc) and stopping.

Every process the benchmark starts is registered here, runs in its own session
(so its process group can be ended whole) and is stopped by `stop_all` on exit,
Ctrl-C or SIGTERM. Nothing is ever killed by name: only pids this run started,
their descendants, and leftovers whose command line lies in a directory this
run owns (Motia leaves step processes behind, see shared/notes/peer-motia.md).
"""

import os
import signal
import socket
import subprocess
import time

TICK = os.sysconf("SC_CLK_TCK")
_running = []  # every Popen this run started and has not stopped yet


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_stat(pid):
    """(ppid, own cpu ticks, reaped children's cpu ticks, start time) of one process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[1]), int(fields[11]) + int(fields[12]),
            int(fields[13]) + int(fields[14]), fields[19])


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _children_map():
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(read_stat(int(entry))[0], []).append(int(entry))
            except (OSError, IndexError):
                pass  # exited while we looked
    return children


def descendants(root, children=None):
    """Pids below `root`, from one /proc scan."""
    children = children if children is not None else _children_map()
    found, todo = [], [root]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def tree(roots):
    """`roots` and all their descendants, each once."""
    children = _children_map()
    out = []
    for root in roots:
        for pid in [root] + descendants(root, children):
            if pid not in out:
                out.append(pid)
    return out


def cpu_seconds(pids):
    """User+sys CPU of `pids` including their reaped children. A process that
    exits between two readings moves its time into its parent's reaped-children
    count, so the difference of two readings over a stable root counts short-
    lived processes too (Motia starts one per handler call)."""
    total = 0
    for pid in pids:
        try:
            _, own, reaped, _ = read_stat(pid)
            total += own + reaped
        except (OSError, IndexError):
            pass
    return total / TICK


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def ctx_switches(pid):
    """(voluntary, nonvoluntary) context switches of every live thread of `pid`,
    summed from /proc/<pid>/task/*/status ((0, 0) if it is gone). A thread that
    exits takes its counts with it; the runtime's threads live as long as it."""
    vol = invol = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0, 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        invol += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass  # the thread exited while we looked
    return vol, invol


def machine_ticks():
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def start_time(pid):
    try:
        return read_stat(pid)[3]
    except (OSError, IndexError):
        return None


def spawn(argv, log_path, env=None, cwd=None):
    """Starts `argv` in a new session with stdout+stderr to `log_path`."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                env=env, cwd=cwd)
    _running.append(proc)
    return proc


def stop(proc, grace=5.0, strays_under=None):
    """SIGTERM the process we started (it drains and stops its workers), then
    SIGKILL what is left: its process group, its descendants (they may have
    groups of their own), anything else still in its session, and orphans
    whose command line contains `strays_under` (Motia leaves step processes
    behind, re-parented to init)."""
    if proc in _running:
        _running.remove(proc)
    tree_then = [(pid, start_time(pid)) for pid in descendants(proc.pid)]
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the group is gone: nothing left over
    for pid, born in tree_then:
        _kill_if_same(pid, born)
    for pid in _strays(proc.pid, strays_under):
        _kill_if_same(pid, start_time(pid))
    try:
        proc.wait(5.0)
    except subprocess.TimeoutExpired:
        pass


def _strays(session, under):
    """Processes left over from the session we started (it is `proc.pid`, as
    spawn starts a new session), and orphans (re-parented to init) whose
    command line names the directory `under`."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid, sid = int(fields[1]), int(fields[3])
        if sid == session or (under and ppid == 1 and under in cmdline(int(entry))):
            out.append(int(entry))
    return out


def _kill_if_same(pid, born):
    if born is not None and start_time(pid) == born:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def stop_all():
    for proc in list(_running):
        stop(proc, grace=2.0)


def wait_until(predicate, timeout, step=0.05):
    """Polls `predicate` until it is true or `timeout` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
