"""The worker's side of docs/protocol.md: hello -> init -> register, then
invocations, handler calls, pings and drain."""

from __future__ import annotations

import asyncio
import inspect
import os
import platform
from typing import Any, Callable, Dict, Mapping, Optional, Set, TextIO

from .codec import ProtocolError
from .connection import Connection
from .context import CallError, Context, Request, Subscription, log_frame, make_request
from .loader import Step, StreamDef, load_project
from .wire import error_to_wire, to_wire

PROTOCOL_VERSION = 1


class Runner:
    """`finish(code)` is called once when the worker should exit; `stderr`
    gets the reason of a fatal exit. The caller routes its Connection's
    callbacks to on_message, on_protocol_error, on_internal_error and
    on_close, then calls start(conn)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, finish: Callable[[int], None],
                 stderr: TextIO) -> None:
        self.loop = loop
        self.conn: Optional[Connection] = None
        self._finish = finish
        self.stderr = stderr
        self.phase = "hello"  # hello -> ready
        self.steps: Dict[str, Step] = {}
        self.streams: Dict[str, StreamDef] = {}  # the stream files' definitions
        self.stream_names: frozenset = frozenset()  # init.streams and our own
        self.authenticate: Optional[Callable] = None
        self.inflight = 0
        self.draining = False
        self.done = False  # bye sent or exiting: send nothing more
        self._call_seq = 0
        self._pending: Dict[int, asyncio.Future] = {}
        self._tasks: Set[asyncio.Task] = set()  # strong refs: the loop keeps weak ones
        self._handlers = {"init": self._on_init, "invoke": self._on_invoke,
                          "reply": self._on_reply, "ping": self._on_ping, "drain": self._on_drain}

    def start(self, conn: Connection) -> None:
        self.conn = conn
        conn.send({"t": "hello", "protocol": PROTOCOL_VERSION, "lang": "python", "pid": os.getpid(),
                   "runtime": f"python {platform.python_version()}"})

    # -- connection callbacks -------------------------------------------------

    def on_message(self, msg: dict) -> None:
        if self.done:
            return
        handler = self._handlers.get(msg["t"])
        if handler is None:
            raise ProtocolError(f'unknown message type "{msg["t"]}"')
        handler(msg)

    def on_protocol_error(self, err: ProtocolError) -> None:
        self.fatal(2, f"protocol error: {err}")

    def on_internal_error(self, err: BaseException) -> None:
        self.fatal(1, f"internal error: {err!r}")

    def on_close(self) -> None:
        # The runtime is gone (or we said bye); nobody is left to report to.
        self.done = True
        self._finish(0)

    def fatal(self, code: int, message: str) -> None:
        self.done = True
        self.stderr.write(f"motia-actors python worker: {message}\n")
        self.stderr.flush()
        self._finish(code)

    # -- messages -------------------------------------------------------------

    def _on_init(self, msg: dict) -> None:
        if self.phase != "hello":
            raise ProtocolError("init received twice")
        root, files = msg.get("root"), msg.get("files")
        if not isinstance(root, str) or not _is_paths(files):
            raise ProtocolError("init needs a string root and an array of file paths")
        stream_files, streams, auth = msg.get("streamFiles", []), msg.get("streams", []), msg.get("auth")
        if not _is_paths(stream_files) or not _is_paths(streams) or not (auth is None or isinstance(auth, str)):
            raise ProtocolError("init: streamFiles and streams must be arrays of strings, auth a string")
        # Imports run on the loop's thread: nothing else can happen before
        # register anyway, and top-level code may want the running loop.
        project = load_project(root, files, stream_files, auth)
        self.steps, self.streams, self.authenticate = project.steps, project.streams, project.authenticate
        # The runtime may not know every stream yet when it starts its first
        # workers; those this worker defines are there anyway.
        self.stream_names = frozenset(streams) | project.streams.keys()
        self.phase = "ready"
        self.conn.send({"t": "register", **project.register})
        self._maybe_bye()

    def _on_ping(self, msg: dict) -> None:
        self.conn.send({"t": "pong", "id": _require_id(msg)})

    def _on_drain(self, msg: dict) -> None:
        self.draining = True
        self._maybe_bye()

    def _on_invoke(self, msg: dict) -> None:
        inv = _require_id(msg)
        if self.phase != "ready":
            raise ProtocolError("invoke before register")
        # `code` tells the runtime the handler never ran, so it can send the
        # invocation elsewhere without spending an attempt.
        if self.draining:
            return self._send_error(inv, {"message": "draining", "name": "DrainingError", "code": "draining"})
        kind = msg.get("kind")
        if kind in ("canAccess", "authenticate"):
            return self._on_stream_invoke(inv, kind, msg)
        step = self.steps.get(msg.get("step"))  # type: ignore[arg-type]
        if step is None:
            return self._send_error(inv, _unknown_step(f'unknown step "{msg.get("step")}"'))
        if step.handler is None:
            return self._send_error(inv, _unknown_step(f'step "{step.name}" is a noop and has no handler',
                                                       "NoHandlerError"))
        self._start(self._run(inv, step, msg))

    def _on_stream_invoke(self, inv: int, kind: str, msg: dict) -> None:
        # A stream's access check, or the project's authenticate hook. Neither
        # gets a context: their calls could only be refused.
        data = msg.get("input")
        data = data if isinstance(data, dict) else {}
        if kind == "authenticate":
            if self.authenticate is None:
                return self._send_error(inv, _unknown_step("no stream authenticate hook is loaded"))
            self._start(self._run_hook(inv, self.authenticate, (Request(data),), lambda v: v))
            return
        stream = self.streams.get(msg.get("step"))  # type: ignore[arg-type]
        if stream is None:
            return self._send_error(inv, _unknown_step(f'unknown stream "{msg.get("step")}"'))
        if stream.can_access is None:
            return self._send_result(inv, True)
        sub = data.get("subscription")
        args = (Subscription(sub if isinstance(sub, dict) else {}), data.get("authContext"))
        self._start(self._run_hook(inv, stream.can_access, args, bool))

    def _start(self, coro) -> None:
        self.inflight += 1
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_hook(self, inv: int, hook: Callable, args: tuple, answer: Callable[[Any], Any]) -> None:
        try:
            value = answer(await _settle(hook(*args)))
        except (Exception, SystemExit, asyncio.CancelledError) as err:
            self._finish_invocation(inv, err)
        else:
            self._finish_invocation(inv, None, lambda: self._send_result(inv, value))

    async def _run(self, inv: int, step: Step, msg: dict) -> None:
        kind = msg.get("kind")
        data = make_request(msg.get("input")) if kind == "api" else msg.get("input")
        try:
            value = await _call_handler(step, kind, data, Context(self, msg, data))
        except (Exception, SystemExit, asyncio.CancelledError) as err:
            self._finish_invocation(inv, err)
        else:
            self._finish_invocation(inv, None, lambda: self._send_api_result(inv, step, value)
                                    if kind == "api" else self._send_result(inv, None))

    def _finish_invocation(self, inv: int, err: Optional[BaseException],
                           answer: Optional[Callable[[], None]] = None) -> None:
        """Sends the error result for `err`, else calls `answer` to send the result."""
        self.inflight -= 1
        if err is not None:
            self._send_error(inv, error_to_wire(err))
        else:
            answer()
        self._maybe_bye()

    def _send_api_result(self, inv: int, step: Step, value: Any) -> None:
        try:
            response = api_response(value)
        except Exception as err:
            return self._send_error(inv, {"message": f"the handler's result could not be sent: {err}",
                                          "name": type(err).__name__})
        if response is None:
            got = type(value).__name__ if not isinstance(value, Mapping) else \
                f"status {value.get('status', value.get('status_code'))!r}"
            return self._send_error(inv, {
                "message": f'api step "{step.name}" must return {{status, body, headers?}} '
                           f"with an integer status 100-599 (got {got})",
                "name": "InvalidResponseError"})
        self._send_result(inv, response)

    def _send_result(self, inv: int, value: Any) -> None:
        if self.done:
            return
        try:
            self.conn.send({"t": "result", "id": inv, "ok": True, "value": to_wire(value)})
        except Exception as err:
            self._send_error(inv, {"message": f"the handler's result could not be sent: {err}",
                                   "name": type(err).__name__})

    def _send_error(self, inv: int, error: Dict[str, Any]) -> None:
        if self.done:
            return
        try:
            self.conn.send({"t": "result", "id": inv, "ok": False, "error": error})
        except Exception as err:
            # Only an error far over the frame limit (a giant message) gets here.
            self.conn.send({"t": "result", "id": inv, "ok": False,
                            "error": {"message": f"error could not be sent: {err}"}})

    def _maybe_bye(self) -> None:
        if not self.draining or self.inflight > 0 or self.done:
            return
        self.done = True
        self.conn.send({"t": "bye"})
        self.conn.close()  # on_close -> exit 0 once the bytes are written

    # -- handler calls --------------------------------------------------------

    def call(self, inv: int, op: str, args: Dict[str, Any]) -> asyncio.Future:
        """Sends a `call` for invocation `inv`; the future settles on its
        `reply`. Raises TypeError for arguments that cannot be sent."""
        fut = self.loop.create_future()
        if self.done:
            fut.set_exception(CallError("unavailable", "the worker is shutting down"))
            return fut
        plain = to_wire(args)
        self._call_seq += 1
        cid = self._call_seq
        self.conn.send({"t": "call", "id": cid, "inv": inv, "op": op, "args": plain})
        self._pending[cid] = fut
        return fut

    def _on_reply(self, msg: dict) -> None:
        fut = self._pending.pop(_require_id(msg), None)
        if fut is None or fut.done():  # unknown, or its awaiter was cancelled
            return
        if msg.get("ok"):
            fut.set_result(msg.get("value"))
            return
        e = msg.get("error")
        e = e if isinstance(e, dict) else {}
        code = e.get("code") if isinstance(e.get("code"), str) else ""
        message = e.get("message") if isinstance(e.get("message"), str) else "call failed"
        fut.set_exception(CallError(code, message))

    def log(self, inv: int, level: str, msg: Any, fields: Any, extra: Optional[dict] = None) -> None:
        if self.done:
            return
        try:
            self.conn.send(log_frame(inv, level, msg, fields, extra))
        except Exception as err:
            # A log line over the frame limit: keep the fact, drop the payload.
            self.conn.send(log_frame(inv, level, f"log line dropped: {err}"))


async def _call_handler(step: Step, kind: Any, data: Any, ctx: Context) -> Any:
    """The calling conventions of Motia handlers, by invocation kind. Api
    middleware ``mw(req, ctx, next)`` run here, in order, around the handler."""
    handler = step.handler
    if kind == "api":
        req = data
        if not step.middleware:
            return await _settle(handler(req, ctx))
        chain = step.middleware

        async def run(i: int) -> Any:
            if i == len(chain):
                return await _settle(handler(req, ctx))

            async def next_(*_ignored: Any) -> Any:  # Motia 0.x passed the request back
                return await run(i + 1)

            return await _settle(chain[i](req, ctx, next_))

        return await run(0)
    if kind == "event":
        return await _settle(handler(data, ctx))
    if kind == "cron":
        return await _settle(handler(None, ctx) if step.cron_takes_input else handler(ctx))
    raise ValueError(f'unknown invocation kind "{kind}" for step "{step.name}"')


async def _settle(v: Any) -> Any:
    # Handlers may be sync or async, and may return a future (e.g. that of
    # context.emit) instead of awaiting it.
    if inspect.isawaitable(v):
        return await v
    return v


def api_response(value: Any) -> Optional[Dict[str, Any]]:
    """``{status, body, headers?}`` from what an api handler returned: a dict,
    a pydantic model or any object with those attributes. ``status_code`` is
    accepted for ``status`` (Motia 1.0's model dump). None if there is no
    integer status 100-599."""
    if value is None:
        return None
    if hasattr(value, "model_dump") and not isinstance(value, Mapping):
        value = value.model_dump()
    if isinstance(value, Mapping):
        get = value.get
    else:
        get = lambda name, default=None: getattr(value, name, default)  # noqa: E731
    status = get("status")
    if status is None:
        status = get("status_code")
    if type(status) is not int or not 100 <= status <= 599:
        return None
    out = {"status": status, "body": get("body")}
    headers = get("headers")
    if headers:
        out["headers"] = headers
    return out


def _is_paths(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(f, str) for f in v)


def _unknown_step(message: str, name: str = "UnknownStepError") -> Dict[str, Any]:
    return {"message": message, "name": name, "code": "unknown_step"}


def _require_id(msg: dict) -> int:
    i = msg.get("id")
    if type(i) is not int or i < 0:
        raise ProtocolError(f"{msg['t']} has no unsigned integer id")
    return i
