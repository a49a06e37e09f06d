"""The systems compared: how each is started, what it needs, which processes are its.

A system is one variant of one scenario ("get" or "flow"): ours with JS, native
or Python steps (and for the flow, each durability), Motia 0.17, fastify (with
BullMQ and Redis for the flow), and the plain Node and Python floors. With a
baseline revision (run.sh --baseline REV) every system of ours has a twin,
`<key>@base`, that runs the binaries built from REV on the same projects. Every
measured cell starts a fresh `Server` of its system on a free 127.0.0.1 port,
with its own temp directory, and stops it afterwards.
"""

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import procs

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class System:
    key: str
    label: str
    scenario: str  # "get" or "flow"
    kind: str  # ours, motia, fastify, node, python
    lang: str = ""  # ours: js, native, py
    durability: str = ""  # ours, flow: process or strict
    build: str = ""  # ours: "" (the tree measured) or "base" (the baseline revision)


SYSTEMS = [
    System("ours-js", "motia-actors, JS step", "get", "ours", "js"),
    System("ours-native", "motia-actors, native step", "get", "ours", "native"),
    System("ours-py", "motia-actors, Python step", "get", "ours", "py"),
    System("motia", "Motia 0.17, JS step", "get", "motia"),
    System("fastify", "fastify", "get", "fastify"),
    System("node", "plain node http", "get", "node"),
    System("python", "plain python asyncio", "get", "python"),
    System("ours-js-process", "motia-actors, JS, process", "flow", "ours", "js", "process"),
    System("ours-js-strict", "motia-actors, JS, strict", "flow", "ours", "js", "strict"),
    System("ours-native-process", "motia-actors, native, process", "flow", "ours", "native", "process"),
    System("ours-native-strict", "motia-actors, native, strict", "flow", "ours", "native", "strict"),
    System("motia-flow", "Motia 0.17 (BullMQ, Redis)", "flow", "motia"),
    System("fastify-bullmq", "fastify + BullMQ + Redis", "flow", "fastify"),
]
BY_KEY = {s.key: s for s in SYSTEMS}
BASELINE = {"get": "node", "flow": "fastify-bullmq"}
BASE_SUFFIX = "@base"


def catalog(baseline_rev=None):
    """Every system of this run: SYSTEMS, and with a baseline revision each of
    ours followed by its twin on the baseline's binaries ("ours-js@base",
    labelled "motia-actors @REV, JS step")."""
    if not baseline_rev:
        return list(SYSTEMS)
    out = []
    for s in SYSTEMS:
        out.append(s)
        if s.kind == "ours":
            out.append(System(s.key + BASE_SUFFIX,
                              s.label.replace("motia-actors", f"motia-actors @{baseline_rev}", 1),
                              s.scenario, s.kind, s.lang, s.durability, "base"))
    return out


def current_of(key):
    """The key of the current tree's system for a baseline twin's key."""
    return key[:-len(BASE_SUFFIX)] if key.endswith(BASE_SUFFIX) else key


@dataclass
class Tools:
    motia_actors: str
    native: str
    peers: str  # the peers cache (peers.sh)
    base_motia_actors: str = ""  # the baseline revision's binaries (run.sh --baseline)
    base_native: str = ""
    malloc_lib: str = ""  # the LD_PRELOAD allocation counter (malloc_count.cpp)

    def binary(self, system):
        """The program that runs one of our systems."""
        if system.build == "base":
            return self.base_native if system.lang == "native" else self.base_motia_actors
        return self.native if system.lang == "native" else self.motia_actors

    def motia_dir(self):
        return os.path.join(self.peers, "motia")

    def fastify_modules(self):
        return os.path.join(self.peers, "fastify", "node_modules")


def _steps_listing(binary, project):
    """(ok, text) of `binary steps project --json`."""
    try:
        r = subprocess.run([binary, "steps", project, "--json"], capture_output=True, text=True,
                           timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    return r.returncode == 0, (r.stdout if r.returncode == 0 else (r.stderr or r.stdout))


def missing(system, tools):
    """Why `system` cannot run here, or None. Checked once, before the plan."""
    redis = shutil.which("redis-server")
    if system.kind == "ours":
        binary = tools.binary(system)
        if not (binary and os.access(binary, os.X_OK)):
            return f"{binary or 'the binary'} is not built"
        if system.lang == "py":
            ok, text = _steps_listing(binary, os.path.join(HERE, "projects", "py"))
            if not ok:
                return "motia-actors refuses the Python step: " + _last_line(text)
        if system.lang == "native" and system.scenario == "flow":
            with tempfile.TemporaryDirectory() as empty:
                ok, text = _steps_listing(binary, empty)
            if not ok or "flow-start" not in text:
                return "motia-bench-native has no flow steps: rebuild it (cmake --build BUILD " \
                       "--target motia-bench-native)"
        return None
    if system.kind == "motia":
        if not os.access(os.path.join(tools.motia_dir(), "node_modules", ".bin", "motia"), os.X_OK):
            return "Motia 0.17 is not installed (tests/bench/peers.sh failed; see its log)"
        return None if redis else "redis-server is not installed (Motia starts one)"
    if system.kind == "fastify":
        if not os.path.isdir(os.path.join(tools.fastify_modules(), "fastify")):
            return "fastify is not installed (tests/bench/peers.sh failed; see its log)"
        if system.scenario == "flow" and not redis:
            return "redis-server is not installed"
        return None
    if system.kind == "node":
        return None if shutil.which("node") else "node is not installed"
    return None  # python: this script runs on it


def _last_line(text):
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"


class Server:
    """One fresh process (tree) of a system. Roles: `main` is the process we
    start, `store` any Redis, `workers` every other process below main."""

    def __init__(self, system, tools, workdir, count_mallocs=False):
        self.system = system
        self.tools = tools
        self.port = procs.free_port()
        self.dir = tempfile.mkdtemp(prefix=f"{system.key}-", dir=workdir)
        self.log = os.path.join(self.dir, "server.log")
        self.done_file = os.path.join(self.dir, "done.txt")
        # Ours only: the allocation counter preloaded into the main process
        # writes where its counters are to this file (malloc_count.cpp).
        self.malloc_file = os.path.join(self.dir, "malloc-count.txt") if count_mallocs else None
        self.proc = None
        self.redis = None
        self.strays = None
        self.reaper = False

    # --- starting ----------------------------------------------------------

    def start(self, timeout=60.0):
        """Launches the system; returns ms from just before exec to the first 200."""
        argv, env, cwd = self._command()
        t0 = time.monotonic()
        self.proc = procs.spawn(argv, self.log, env=env, cwd=cwd)
        while time.monotonic() - t0 < timeout:
            reply = probe(self.port, timeout=PROBE_TIMEOUT.get(self.system.kind, 1.0))
            if reply and reply[0] == 200:
                ms = (time.monotonic() - t0) * 1000
                if json.loads(reply[2]) != {"message": "hello"}:
                    raise RuntimeError(f"{self.system.key}: unexpected answer {reply[2]!r}")
                return ms
            if self.proc.poll() is not None:
                break
            time.sleep(0.005)
        raise RuntimeError(f"{self.system.key} did not answer 200 on GET /hello within "
                           f"{timeout:.0f} s:\n{self.tail()}")

    def _command(self):
        s, t = self.system, self.tools
        env = dict(os.environ, BENCH_DONE_FILE=self.done_file)
        data = os.path.join(self.dir, "data")
        if s.kind == "ours":
            project = self._ours_project()
            binary = t.binary(s)
            if self.malloc_file:
                env.update(LD_PRELOAD=t.malloc_lib, MOTIA_MALLOC_COUNT_FILE=self.malloc_file)
            return ([binary, "run", project, "--port", str(self.port), "--data-dir", data,
                     "--quiet"], env, None)
        if s.kind == "motia":
            return self._motia_command(env)
        if s.kind == "fastify":
            argv = ["node", os.path.join(HERE, "peers", "fastify-app.js"), str(self.port)]
            if s.scenario == "flow":
                self.redis = start_redis(self.dir)
                argv.append(str(self.redis.port))
            env["NODE_PATH"] = t.fastify_modules()
            return argv, env, None
        if s.kind == "node":
            return ["node", os.path.join(HERE, "peers", "plain-node-server.js"),
                    str(self.port)], env, None
        return ["python3", os.path.join(HERE, "peers", "plain-python-server.py"),
                str(self.port)], env, None

    def _ours_project(self):
        """A copy of the step project (none for native) with the durability set."""
        project = os.path.join(self.dir, "project")
        if self.system.lang == "native":
            os.mkdir(project)
        else:
            shutil.copytree(os.path.join(HERE, "projects", self.system.lang), project)
        if self.system.durability:
            with open(os.path.join(project, "motia-actors.json"), "w") as f:
                json.dump({"durability": self.system.durability}, f)
        return project

    def _motia_command(self, env):
        """`motia start` in the installed peer, with fresh steps/ and an empty
        .motia/: Motia slows down with every invocation, so each cell starts
        clean (shared/notes/peer-motia.md)."""
        root = self.tools.motia_dir()
        for sub in ("steps", ".motia"):
            shutil.rmtree(os.path.join(root, sub), ignore_errors=True)
        shutil.copytree(os.path.join(HERE, "projects", "js", "steps"), os.path.join(root, "steps"))
        self.strays = root
        env.update(MOTIA_ANALYTICS_DISABLED="true", MOTIA_DOCKER_DISABLE_WORKBENCH="true",
                   NODE_ENV="production", REDISMS_SYSTEM_BINARY=shutil.which("redis-server"))
        self.reaper = True  # its per-call processes are orphaned: see peers/reaper.py
        return ([sys.executable, os.path.join(HERE, "peers", "reaper.py"),
                 os.path.join(root, "node_modules", ".bin", "motia"), "start", "--port",
                 str(self.port), "--host", "127.0.0.1", "--disable-verbose"], env, root)

    # --- observing ---------------------------------------------------------

    def main_pid(self):
        """The system's own main process: the one we started, or under the
        reaper its first child."""
        if not self.reaper:
            return self.proc.pid
        kids = [p for p in procs.descendants(self.proc.pid) if _ppid(p) == self.proc.pid]
        return min(kids, key=lambda p: int(procs.start_time(p) or 0), default=self.proc.pid)

    def roles(self):
        """{"main": [pid], "workers": [...], "store": [...]}, live now (the
        reaper itself is in none: it is ours, not the system's)."""
        roots = [self.proc.pid] + ([self.redis.proc.pid] if self.redis else [])
        main = self.main_pid()
        out = {"main": [main], "workers": [], "store": []}
        for pid in procs.tree(roots):
            if pid not in (main, self.proc.pid):
                out["store" if procs.comm(pid) == "redis-server" else "workers"].append(pid)
        return out

    def pids(self):
        """Every process whose CPU counts, the reaper included: orphans it
        reaped add their time to its reaped-children counters."""
        r = self.roles()
        return [self.proc.pid] + [p for p in r["main"] + r["workers"] + r["store"]
                                  if p != self.proc.pid]

    def rss(self):
        """kB of resident memory per role."""
        return {role: sum(procs.rss_kb(p) for p in pids) for role, pids in self.roles().items()}

    def tail(self, n=15):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def url(self, path="/hello"):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        if self.proc is not None:
            procs.stop(self.proc, strays_under=self.strays)
        if self.redis is not None:
            self.redis.stop()


def _ppid(pid):
    try:
        return procs.read_stat(pid)[0]
    except (OSError, IndexError):
        return None


class Redis:
    """A redis-server of our own on a free loopback port, data in a temp dir.
    Persistence like Motia's own instance: AOF, fsync every second."""

    def __init__(self, workdir):
        self.port = procs.free_port()
        self.dir = os.path.join(workdir, "redis")
        os.makedirs(self.dir, exist_ok=True)
        argv = [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--save", "", "--appendonly", "yes",
                "--appendfsync", "everysec", "--daemonize", "no"]
        self.proc = procs.spawn(argv, os.path.join(self.dir, "redis.log"))

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        procs.stop(self.proc, grace=3.0)


def start_redis(workdir, timeout=10.0):
    redis = Redis(workdir)
    if not procs.wait_until(redis.ping, timeout):
        redis.stop()
        raise RuntimeError(f"redis-server did not answer PING within {timeout:.0f} s")
    return redis


# Motia runs each call in new processes: on a busy machine its first answer
# takes seconds, and every probe that gives up early starts one more call.
PROBE_TIMEOUT = {"motia": 30.0}


def probe(port, path="/hello", timeout=1.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.getheader("content-type", ""), r.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()
