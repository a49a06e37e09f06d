"""Runs a command under a child subreaper, for the CPU accounting of its tree.

Motia 0.17 runs each handler call as `tsx` plus a child `node`, and kills the
`tsx` parent first: the orphaned `node` is re-parented to init, which reaps it,
and its CPU time would vanish from the tree the benchmark reads. Here such
orphans are re-parented to this process instead (PR_SET_CHILD_SUBREAPER), which
reaps them, so their time lands in this process's reaped-children counters.
Signals are passed on to the command; the exit code is the command's.
Usage: python3 reaper.py COMMAND [ARGS...]
"""

import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def main(argv):
    if not argv:
        sys.exit("usage: reaper.py COMMAND [ARGS...]")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"reaper.py: prctl failed: {os.strerror(ctypes.get_errno())}")
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, _: os.kill(pid, s))
    code = 0
    while True:  # until the command and every orphan that came here are reaped
        try:
            child, status = os.wait()
        except ChildProcessError:
            break
        if child == pid:
            code = os.waitstatus_to_exitcode(status)
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main(sys.argv[1:])
