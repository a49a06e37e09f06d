"""Plays the runtime's side of the protocol against a real worker process.

The test side has its own tiny frame codec on purpose: a bug in the worker's
codec must not be mirrored by the tests.
"""

import os
import select
import socket
import subprocess
import sys
import time

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.dirname(HERE)
WORKER = os.path.join(PACKAGE_DIR, "bin", "worker.py")
PROJECT = os.path.join(HERE, "fixtures", "project")
TYPED_PROJECT = os.path.join(HERE, "fixtures", "typed")

# The unit tests import motia_worker from this checkout, installed or not.
if PACKAGE_DIR not in sys.path:
    sys.path.insert(0, PACKAGE_DIR)

TIMEOUT = 10.0  # generous: only a broken worker ever waits this long


def step(name, project=PROJECT):
    return os.path.join(project, "steps", name)


def fixture_files(project=PROJECT):
    """Every step file of a fixture project, in a stable order."""
    out = []
    for d, dirs, files in os.walk(os.path.join(project, "steps")):
        dirs.sort()
        out += [os.path.join(d, f) for f in sorted(files)
                if f.endswith("_step.py") or f.endswith(".step.py")]
    return out


def pack(msg):
    return msgpack.packb(msg, use_bin_type=True)


def frame(payload):
    return len(payload).to_bytes(4, "big") + payload


class Worker:
    """A worker process with its socket on fd 3, as the runtime starts it."""

    def __init__(self, env=None, argv=None):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock = ours
        child_fd = theirs.fileno()
        full_env = dict(os.environ, MOTIA_WORKER_FD="3")
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            argv or [sys.executable, WORKER],
            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, env=full_env, cwd=PROJECT,
            # dup2 makes fd 3 inheritable; close_fds would close it again.
            preexec_fn=lambda: os.dup2(child_fd, 3), close_fds=False)
        theirs.close()
        self._buf = b""
        self.inbox = []
        self.hello = None

    # -- receiving --------------------------------------------------------

    def _read_frames(self, deadline):
        """Reads what arrives before `deadline`; False on EOF."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out waiting for the worker")
        ready, _, _ = select.select([self.sock], [], [], left)
        if not ready:
            raise AssertionError("timed out waiting for the worker")
        data = self.sock.recv(1 << 20)
        if not data:
            return False
        self._buf += data
        while len(self._buf) >= 4:
            n = int.from_bytes(self._buf[:4], "big")
            if len(self._buf) < 4 + n:
                break
            msg = msgpack.unpackb(self._buf[4:4 + n], raw=False, strict_map_key=False)
            assert isinstance(msg, dict) and isinstance(msg.get("t"), str), msg
            self.inbox.append(msg)
            self._buf = self._buf[4 + n:]
        return True

    def recv(self, pred=None, timeout=TIMEOUT):
        """The next message matching `pred` (a type name or a function);
        others stay in the inbox."""
        test = (lambda m: m["t"] == pred) if isinstance(pred, str) else (pred or (lambda m: True))
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.inbox):
                if test(m):
                    return self.inbox.pop(i)
            if not self._read_frames(deadline):
                raise AssertionError(f"worker closed the socket; inbox: {self.inbox}")

    def result(self, inv):
        return self.recv(lambda m: m["t"] == "result" and m["id"] == inv)

    def call(self, inv=None):
        return self.recv(lambda m: m["t"] == "call" and (inv is None or m["inv"] == inv))

    # -- sending ----------------------------------------------------------

    def send(self, msg):
        self.sock.sendall(frame(pack(msg)))

    def write_raw(self, data):
        self.sock.sendall(data)

    def init(self, files=None, root=PROJECT):
        """Waits for hello (kept in self.hello), sends init, returns register."""
        self.hello = self.recv("hello")
        self.send({"t": "init", "root": root, "files": fixture_files() if files is None else files})
        return self.recv("register")

    def invoke(self, inv, step_name, kind, data, **extra):
        msg = {"t": "invoke", "id": inv, "step": step_name, "kind": kind, "input": data,
               "traceId": f"trace-{inv}", "attempt": 1, "messageId": "", "flows": [],
               "deadlineMs": 0}
        msg.update(extra)
        self.send(msg)

    def reply(self, call, value=None, ok=True, error=None):
        msg = {"t": "reply", "id": call["id"], "ok": ok}
        if ok:
            msg["value"] = value
        else:
            msg["error"] = error
        self.send(msg)

    # -- ending -----------------------------------------------------------

    def wait(self, timeout=TIMEOUT):
        """Exit code and everything the worker wrote on stderr."""
        code = self.proc.wait(timeout=timeout)
        return code, self.proc.stderr.read().decode("utf-8", "replace")

    def close(self):
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stderr.close()


def api_input(path_params=None, query=None, body=None, headers=None, raw=""):
    return {"pathParams": path_params or {}, "queryParams": query or {}, "body": body,
            "headers": headers or {}, "rawBody": raw}
