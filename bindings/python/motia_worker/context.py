"""The `context` a handler gets, and the `req` of api handlers."""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional

from .wire import error_to_wire, safe_str, to_wire

if TYPE_CHECKING:
    from .runner import Runner

LEVELS = ("info", "warn", "error", "debug")


class CallError(Exception):
    """A handler call (emit, state, streams) the runtime answered with
    ``ok: false``.

    `code` is the runtime's error code (``undeclared_emit``, ``bad_update``,
    ``unknown_stream``, ``bad_input``, ``unavailable``, ...), `message` its text.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message


class Request(dict):
    """Motia's `req`: a dict ``{pathParams, queryParams, body, headers,
    rawBody}`` whose fields also read as attributes, by their wire names or
    as Motia 1.0's snake_case ``path_params``, ``query_params``, ``raw_body``.
    """

    _ALIASES = {"path_params": "pathParams", "query_params": "queryParams", "raw_body": "rawBody"}

    def __getattr__(self, name: str) -> Any:
        key = self._ALIASES.get(name, name)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"request has no field {name!r}") from None


class Subscription(Request):
    """What a stream's ``canAccess`` gets: ``{groupId, id?}``, also as the
    attributes ``group_id`` and ``id`` (None when absent)."""

    _ALIASES = {"group_id": "groupId"}

    def __getattr__(self, name: str) -> Any:
        key = self._ALIASES.get(name, name)
        if key in ("groupId", "id"):
            return self.get(key)
        return super().__getattr__(name)


def make_request(value: Any) -> Request:
    req = Request(value) if isinstance(value, Mapping) else Request()
    req.setdefault("pathParams", {})
    req.setdefault("queryParams", {})
    req.setdefault("body", None)
    req.setdefault("headers", {})
    req.setdefault("rawBody", "")
    raw = req["rawBody"]
    if isinstance(raw, (bytes, bytearray)):
        # bin on the wire: the bytes as received; those that are not UTF-8
        # survive as lone surrogates (and go back out unchanged).
        req["rawBody"] = bytes(raw).decode("utf-8", "surrogateescape")
    return req


class State:
    """``context.state``: every method sends a call and returns an asyncio
    future settled by the runtime's reply. An argument of the wrong type
    raises TypeError at once."""

    __slots__ = ("_call",)

    def __init__(self, call) -> None:
        self._call = call

    def get(self, group: str, key: str) -> "asyncio.Future[Any]":
        return self._call("state.get", {"group": _text("group", group), "key": _text("key", key)})

    def set(self, group: str, key: str, value: Any) -> "asyncio.Future[Any]":
        return self._call("state.set", {"group": _text("group", group), "key": _text("key", key),
                                        "value": value})

    def delete(self, group: str, key: str) -> "asyncio.Future[Any]":
        return self._call("state.delete", {"group": _text("group", group), "key": _text("key", key)})

    def get_group(self, group: str) -> "asyncio.Future[List[Any]]":
        return self._call("state.getGroup", {"group": _text("group", group)})

    getGroup = get_group
    list = get_group  # Motia 1.0's name

    def clear(self, group: str) -> "asyncio.Future[None]":
        return self._call("state.clear", {"group": _text("group", group)})

    def update(self, group: str, key: str, ops: List[Mapping[str, Any]]) -> "asyncio.Future[Any]":
        """Applies `ops` (``{type, path?, value?, by?}``, type one of set,
        merge, increment, decrement, remove) atomically to the key's value."""
        if not isinstance(ops, (list, tuple)) or not all(
                isinstance(op, Mapping) and isinstance(op.get("type"), str) for op in ops):
            raise TypeError("state.update: ops must be a list of {type, path?, value?, by?} dicts")
        return self._call("state.update", {"group": _text("group", group), "key": _text("key", key),
                                           "ops": list(ops)})


def _text(what: str, v: Any, where: str = "state") -> str:
    if not isinstance(v, str):
        raise TypeError(f"{where}: {what} must be a str, not {type(v).__name__}")
    return v


class Logger:
    """``context.logger``: each call sends one `log` frame; the runtime writes
    it as a JSON line with the invocation's trace id, step and flows."""

    __slots__ = ("_runner", "_inv")

    def __init__(self, runner: "Runner", inv: int) -> None:
        self._runner = runner
        self._inv = inv

    def info(self, msg: Any, fields: Any = None, **kw: Any) -> None:
        self._runner.log(self._inv, "info", msg, fields, kw)

    def warn(self, msg: Any, fields: Any = None, **kw: Any) -> None:
        self._runner.log(self._inv, "warn", msg, fields, kw)

    warning = warn

    def error(self, msg: Any, fields: Any = None, **kw: Any) -> None:
        self._runner.log(self._inv, "error", msg, fields, kw)

    def debug(self, msg: Any, fields: Any = None, **kw: Any) -> None:
        self._runner.log(self._inv, "debug", msg, fields, kw)


def log_frame(inv: Optional[int], level: str, msg: Any, fields: Any = None,
              extra: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The `log` frame for one logger call. Never raises: a log line must not
    break the handler that writes it."""
    if isinstance(msg, BaseException):
        if fields is None:
            fields = {"error": msg}
        msg = safe_str(msg)
    frame: Dict[str, Any] = {"t": "log", "level": level, "msg": msg if isinstance(msg, str) else safe_str(msg)}
    if inv is not None:
        frame["inv"] = inv
    if fields is None and not extra:
        return frame
    try:
        plain = to_wire(fields, _error_hook)
        # `fields` is a map on the wire; keep a lone value rather than drop it.
        if plain is None:
            plain = {}
        elif not isinstance(plain, dict):
            plain = {"value": plain}
        if extra:
            plain.update(to_wire(extra, _error_hook))
        frame["fields"] = plain
    except Exception as err:
        frame["fields"] = {"fieldsError": f"log fields could not be encoded: {err}"}
    return frame


def _error_hook(v: Any) -> Any:
    # In logs (unlike response bodies, where they would leak) an exception's
    # message and traceback are what the reader wants.
    if isinstance(v, BaseException):
        out = error_to_wire(v)
        if isinstance(getattr(v, "code", None), str):
            out["code"] = v.code
        return out
    return None


class Stream:
    """``context.streams.<name>``: like `State`, every method sends a
    ``stream.*`` call and returns a future settled by the reply."""

    __slots__ = ("_call", "_name")

    def __init__(self, call, name: str) -> None:
        self._call = call
        self._name = name

    def _ids(self, op: str, group_id: Any, *ids: Any) -> Dict[str, Any]:
        where = f"streams.{self._name}.{op}"
        args = {"stream": self._name, "groupId": _text("group_id", group_id, where)}
        if ids:
            args["id"] = _text("id", ids[0], where)
        return args

    def get(self, group_id: str, id: str) -> "asyncio.Future[Any]":
        return self._call("stream.get", self._ids("get", group_id, id))

    def set(self, group_id: str, id: str, data: Any) -> "asyncio.Future[Any]":
        """Stores `data` under `id`; the future holds the stored item, with
        its ``id`` field set."""
        return self._call("stream.set", {**self._ids("set", group_id, id), "data": data})

    def delete(self, group_id: str, id: str) -> "asyncio.Future[Any]":
        return self._call("stream.delete", self._ids("delete", group_id, id))

    def get_group(self, group_id: str) -> "asyncio.Future[List[Any]]":
        return self._call("stream.getGroup", self._ids("get_group", group_id))

    getGroup = get_group
    list = get_group  # Motia 1.0's name

    def send(self, channel: Mapping[str, Any], event: Mapping[str, Any]) -> "asyncio.Future[None]":
        """Sends the ephemeral `event` ``{type, data}`` to the subscribers of
        `channel` ``{groupId, id?}`` (a group, or one item)."""
        where = f"streams.{self._name}.send"
        if not isinstance(channel, Mapping):
            raise TypeError(f"{where}: channel must be a dict {{groupId, id?}}")
        if not isinstance(event, Mapping) or not isinstance(event.get("type"), str):
            raise TypeError(f"{where}: event must be a dict {{type: str, data}}")
        item = channel.get("id")
        args = self._ids("send", channel.get("groupId", channel.get("group_id")),
                         *(() if item is None else (item,)))
        args["event"] = {"type": event["type"], "data": event.get("data")}
        return self._call("stream.send", args)


class Streams:
    """``context.streams``: one `Stream` per name, as attributes and items.
    Names the worker knows are listed by ``dir()``; any other name still gets
    a `Stream`, because a stream defined in another language's files is only
    known to the runtime, which refuses names it has not got
    (``unknown_stream``)."""

    __slots__ = ("_call", "_names")

    def __init__(self, call, names) -> None:
        self._call = call
        self._names = names

    def __getattr__(self, name: str) -> Stream:
        if name.startswith("_"):
            raise AttributeError(name)
        return Stream(self._call, name)

    def __getitem__(self, name: str) -> Stream:
        if not isinstance(name, str) or not name:
            raise KeyError(name)
        return Stream(self._call, name)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __dir__(self):
        return sorted(self._names)


class Context:
    """What a handler gets as `context`. Attributes come in Motia's Python
    spelling and its TypeScript one: ``trace_id``/``traceId``,
    ``message_id``/``messageId``."""

    def __init__(self, runner: "Runner", msg: Mapping[str, Any], data: Any = None) -> None:
        inv = msg["id"]
        self._runner = runner
        self._inv = inv
        self.trace_id = self.traceId = msg.get("traceId") or ""
        flows = msg.get("flows")
        self.flows = flows if isinstance(flows, list) else []
        self.attempt = msg.get("attempt", 1)
        self.message_id = self.messageId = msg.get("messageId") or ""
        self.state = State(self._call)
        self.logger = Logger(runner, inv)
        self.streams = Streams(self._call, runner.stream_names)
        self.trigger = Trigger(_TRIGGER_TYPES.get(msg.get("kind"), safe_str(msg.get("kind"))))
        self._data = data

    def _call(self, op: str, args: Dict[str, Any]) -> "asyncio.Future[Any]":
        return self._runner.call(self._inv, op, args)

    def emit(self, event: Any) -> "asyncio.Future[None]":
        """Sends ``{topic, data, messageGroupId?}``; the future settles once
        the runtime accepted the event."""
        if hasattr(event, "model_dump") and not isinstance(event, Mapping):
            event = event.model_dump()
        if not isinstance(event, Mapping) or not isinstance(event.get("topic"), str):
            raise TypeError("emit expects a dict {topic: str, data, messageGroupId?}")
        args = {"topic": event["topic"], "data": event.get("data")}
        group = event.get("messageGroupId", event.get("message_group_id"))
        if group is not None:
            if not isinstance(group, str):
                raise TypeError("emit: messageGroupId must be a str")
            args["messageGroupId"] = group
        return self._call("emit", args)

    enqueue = emit  # Motia 1.0's name for the same operation

    # Motia 1.0's helpers for one handler shared by several triggers.

    def is_api(self) -> bool:
        return self.trigger.type == "http"

    def is_queue(self) -> bool:
        return self.trigger.type == "queue"

    def is_cron(self) -> bool:
        return self.trigger.type == "cron"

    def is_state(self) -> bool:
        return False

    def is_stream(self) -> bool:
        return False

    def get_data(self) -> Any:
        """The payload whatever the trigger: an api request's body, an
        event's data, None for cron."""
        if self.is_cron():
            return None
        if self.is_api():
            return self._data.get("body") if isinstance(self._data, Mapping) else None
        return self._data

    async def match(self, handlers: Mapping[str, Any]) -> Any:
        """Runs the handler of `handlers` named for the trigger (``http`` or
        ``api``, ``queue``, ``cron``), else ``default``; returns its result."""
        kind = self.trigger.type
        names = {"http": ("http", "api"), "queue": ("queue",), "cron": ("cron",)}.get(kind, ())
        fn = next((handlers[n] for n in names if callable(handlers.get(n))), None)
        args: tuple = () if kind == "cron" else (self._data,)
        if fn is None:
            fn, args = handlers.get("default"), (self._data,)
        if not callable(fn):
            raise LookupError(f'no handler for trigger type "{kind}" in match() '
                              f"(has: {', '.join(handlers) or 'none'})")
        result = fn(*args)
        return await result if inspect.isawaitable(result) else result


# Motia 1.0 names the kind of invocation by its trigger type.
_TRIGGER_TYPES = {"api": "http", "event": "queue", "cron": "cron"}


class Trigger:
    """``context.trigger``: ``type`` is ``http``, ``queue`` or ``cron``."""

    __slots__ = ("type",)

    def __init__(self, type_: str) -> None:
        self.type = type_

    def __repr__(self) -> str:
        return f"Trigger(type={self.type!r})"
