"""Turns handler values into plain data the runtime can read.

The runtime holds every value as JSON (nlohmann::json), so values travel the
way ``json.dumps`` would carry them, with one difference that keeps more
information: bytes stay msgpack bin.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import math
import os
import pathlib
import traceback
import uuid
from typing import Any, Callable, Dict, Mapping, Optional

MAX_DEPTH = 256

_INT_MIN = -(1 << 63)
_UINT_MAX = (1 << 64) - 1

# A hook returns DROP to leave a value out: a map skips the key, an array
# holds nil in its place (as JSON.stringify does with functions).
DROP = object()

Hook = Callable[[Any], Any]


def to_wire(value: Any, hook: Optional[Hook] = None) -> Any:
    """A plain copy of `value`: dicts with string keys, lists, str, int,
    float, bool, None and bytes.

    Tuples and sets become lists, non-string keys become strings as JSON
    would write them (``200`` -> ``"200"``), NaN and infinities become None,
    datetimes their ISO text, enums their value, UUIDs, decimals and paths
    their ``str``; pydantic models and dataclasses become dicts.

    `hook(v)` is asked first about every value that is not a str, int,
    float, bool or None; it returns a replacement, DROP, or None to convert
    `v` as usual.

    Raises TypeError for anything else, for an integer past 64 bits, and for
    a value that is circular or nested deeper than MAX_DEPTH.
    """
    return _walk(value, 0, hook)


def _walk(v: Any, depth: int, hook: Optional[Hook]) -> Any:
    t = type(v)
    if t is str or t is bool or v is None:
        return v
    if t is int:
        if v < _INT_MIN or v > _UINT_MAX:
            raise TypeError(f"integer {v} does not fit in 64 bits")
        return v
    if t is float:
        return v if math.isfinite(v) else None
    if depth >= MAX_DEPTH:
        raise TypeError(f"value is circular or nested deeper than {MAX_DEPTH} levels")
    if hook is not None:
        replaced = hook(v)
        if replaced is DROP:
            return DROP
        if replaced is not None:
            return _walk(replaced, depth + 1, None)
    if t is dict:
        return _mapping(v, depth, hook)
    if t is list or t is tuple:
        return _sequence(v, depth, hook)
    return _other(v, depth, hook)


def _mapping(m: Mapping, depth: int, hook: Optional[Hook]) -> Dict[str, Any]:
    out = {}
    for key, val in m.items():
        w = _walk(val, depth + 1, hook)
        if w is not DROP:
            out[_key(key)] = w
    return out


def _sequence(seq: Any, depth: int, hook: Optional[Hook]) -> list:
    out = []
    for item in seq:
        w = _walk(item, depth + 1, hook)
        out.append(None if w is DROP else w)
    return out


def _key(k: Any) -> str:
    if isinstance(k, str):
        return str(k)
    if isinstance(k, enum.Enum):
        return _key(k.value)
    if isinstance(k, bool) or k is None:
        return {True: "true", False: "false", None: "null"}[k]
    if isinstance(k, (int, float)):
        return repr(int(k)) if isinstance(k, int) else repr(float(k))
    raise TypeError(f"map keys must be strings or numbers, not {type(k).__name__}")


def _other(v: Any, depth: int, hook: Optional[Hook]) -> Any:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, enum.Enum):
        return _walk(v.value, depth + 1, hook)
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        return _walk(int(v), depth, hook)
    if isinstance(v, float):
        return _walk(float(v), depth, hook)
    if isinstance(v, str):
        return str(v)
    if isinstance(v, Mapping):
        return _mapping(v, depth, hook)
    if isinstance(v, (list, tuple, set, frozenset)):
        return _sequence(v, depth, hook)
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, (uuid.UUID, decimal.Decimal, pathlib.PurePath)):
        return str(v)
    dump = getattr(v, "model_dump", None)
    if callable(dump) and not isinstance(v, type):
        # pydantic v2 model; by_alias so serialization aliases (pathParams)
        # show as the wire expects.
        return _walk(dump(mode="json", by_alias=True), depth + 1, hook)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        fields = {f.name: getattr(v, f.name) for f in dataclasses.fields(v)}
        return _mapping(fields, depth, hook)
    raise TypeError(f"a value of type {type(v).__name__} cannot be sent to the runtime")


# -- errors ----------------------------------------------------------------

_OWN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _foreign(frame: traceback.FrameSummary) -> bool:
    """False for frames of this package and of the import machinery: they sit
    between the runtime and the user's code and only hide the lines that
    matter."""
    name = frame.filename
    return not (name.startswith(_OWN_DIR) or name.startswith("<frozen importlib"))


def format_exception(err: BaseException) -> str:
    """The traceback text of `err`, as Python prints it, without this
    package's own frames."""
    te = traceback.TracebackException.from_exception(err)
    _trim(te, set())
    return "".join(te.format()).rstrip("\n")


def _trim(te: traceback.TracebackException, seen: set) -> None:
    if id(te) in seen:
        return
    seen.add(id(te))
    te.stack = traceback.StackSummary.from_list([f for f in te.stack if _foreign(f)])
    for chained in (te.__cause__, te.__context__):
        if chained is not None:
            _trim(chained, seen)


def error_to_wire(err: BaseException) -> Dict[str, Any]:
    """An exception as the protocol's ``{message, stack, name}``."""
    name = type(err).__name__
    try:
        message = str(err)
    except Exception:  # a broken __str__ must not lose the error itself
        message = ""
    try:
        stack = format_exception(err)
    except Exception:
        stack = ""
    out: Dict[str, Any] = {"message": message or name, "name": name}
    if stack:
        out["stack"] = stack
    return out


def safe_str(v: Any) -> str:
    try:
        return v if isinstance(v, str) else str(v)
    except Exception:
        return f"<{type(v).__name__} that cannot be printed>"
