"""Entry point: connects to the runtime and serves it until drain or EOF."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from typing import Mapping, Optional, TextIO

from .codec import DEFAULT_MAX_FRAME
from .connection import Connection
from .runner import Runner

_PREFIX = "motia-actors python worker"


class SetupError(Exception):
    """A missing or unusable connection setting: exit 2 with its message."""


def main(env: Optional[Mapping[str, str]] = None, stderr: Optional[TextIO] = None) -> int:
    """Serves the runtime; returns the exit code: 0 after drain or when the
    runtime goes away, 2 on a protocol error or a missing/invalid connection
    setting, 1 on an internal error."""
    env = os.environ if env is None else env
    stderr = sys.stderr if stderr is None else stderr
    try:
        max_frame = _max_frame(env)
        sock, path = _open_socket(env)
    except SetupError as err:
        stderr.write(f"{_PREFIX}: {err}\n")
        stderr.flush()
        return 2
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(lambda lp, ctx: _report_stray(stderr, ctx))
    try:
        return loop.run_until_complete(_serve(loop, sock, path, max_frame, stderr))
    except SetupError as err:
        stderr.write(f"{_PREFIX}: {err}\n")
        stderr.flush()
        return 2


async def _serve(loop: asyncio.AbstractEventLoop, sock: Optional[socket.socket], path: Optional[str],
                 max_frame: int, stderr: TextIO) -> int:
    exit_code: asyncio.Future = loop.create_future()

    def finish(code: int) -> None:
        if not exit_code.done():
            exit_code.set_result(code)

    runner = Runner(loop, finish, stderr)
    conn = Connection(loop, max_frame=max_frame, on_message=runner.on_message,
                      on_protocol_error=runner.on_protocol_error,
                      on_internal_error=runner.on_internal_error, on_close=runner.on_close)
    if sock is not None:
        await loop.connect_accepted_socket(lambda: conn, sock)
    else:
        try:
            await loop.create_unix_connection(lambda: conn, path)
        except OSError as err:
            # Failing to reach a socket path is a setup mistake, not the
            # runtime going away: say so instead of exiting 0 quietly.
            raise SetupError(f"cannot connect to {path}: {err.strerror or err}") from None
    runner.start(conn)
    return await exit_code


def _open_socket(env: Mapping[str, str]):
    """(socket, None) for MOTIA_WORKER_FD, the normal case; (None, path) for
    MOTIA_WORKER_SOCKET, for workers started by hand."""
    fd_text = env.get("MOTIA_WORKER_FD", "")
    if fd_text != "":
        try:
            fd = int(fd_text)
            if fd < 0:
                raise ValueError
        except ValueError:
            raise SetupError(f'MOTIA_WORKER_FD is not a file descriptor: "{fd_text}"') from None
        try:
            sock = socket.socket(fileno=fd)
        except OSError as err:
            raise SetupError(f"MOTIA_WORKER_FD={fd} is not a usable socket: {err.strerror or err}") from None
        if sock.type != socket.SOCK_STREAM:
            raise SetupError(f"MOTIA_WORKER_FD={fd} is not a stream socket")
        sock.setblocking(False)
        return sock, None
    path = env.get("MOTIA_WORKER_SOCKET", "")
    if path:
        return None, path
    raise SetupError("set MOTIA_WORKER_FD (or MOTIA_WORKER_SOCKET); it is started by the runtime")


def _max_frame(env: Mapping[str, str]) -> int:
    text = env.get("MOTIA_WORKER_MAX_FRAME", "")
    if text == "":
        return DEFAULT_MAX_FRAME
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise SetupError(f'MOTIA_WORKER_MAX_FRAME is not a positive integer: "{text}"')
    return n


def _report_stray(stderr: TextIO, ctx: dict) -> None:
    # A handler's forgotten task or never-awaited failed call must not take
    # down the other invocations sharing this process: report it and go on.
    err = ctx.get("exception")
    text = ctx.get("message", "unhandled error in the event loop")
    if err is not None:
        text = f"{text}: {type(err).__name__}: {err}"
    stderr.write(f"{_PREFIX}: {text} (worker keeps running)\n")
    stderr.flush()


def run() -> None:
    """Process entry point (``python3 -m motia_worker``, bin/worker.py)."""
    # Die quietly on Ctrl-C in the runtime's terminal, as the Node worker does,
    # rather than print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        code = main()
    except BaseException as err:  # noqa: BLE001 - last resort, we are exiting
        sys.stderr.write(f"{_PREFIX}: internal error: {err!r}\n")
        code = 1
    _exit(code)


def _exit(code: int) -> None:
    # os._exit, not sys.exit: handlers still in flight (after EOF or a fatal
    # error) or threads they started must not keep the process alive.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.shutdown()
    os._exit(code)
