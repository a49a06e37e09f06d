"""A step's `config` made plain data for `register`: functions dropped,
pydantic model classes turned into JSON Schema, and ``hasMiddleware`` set
when there is middleware to run."""

from __future__ import annotations

from typing import Any, Dict, Mapping

from .wire import DROP, to_wire


def plain_config(config: Mapping[str, Any]) -> Dict[str, Any]:
    """The plain form of `config`. Raises TypeError for a value that is not
    plain data (and not a function or a schema class)."""
    out = to_wire(config, _hook)
    # Middleware are functions the worker runs itself; the runtime only needs
    # to know they exist (a list of nulls would tell it nothing).
    out.pop("middleware", None)
    if middleware_of(config):
        out["hasMiddleware"] = True
    return out


def plain_stream_config(config: Mapping[str, Any], can_access: bool) -> Dict[str, Any]:
    """The plain form of a stream file's `config`: ``name``, ``schema``
    (a pydantic model class becomes JSON Schema), ``baseConfig``, and
    ``canAccess`` reduced to whether there is an access check to run."""
    out = to_wire({k: config[k] for k in ("name", "schema", "baseConfig") if k in config}, _hook)
    out["canAccess"] = can_access
    return out


def middleware_of(config: Mapping[str, Any]) -> list:
    mw = config.get("middleware")
    if not isinstance(mw, (list, tuple)):
        return []
    return [m for m in mw if callable(m)]


def _hook(v: Any) -> Any:
    if isinstance(v, type):
        schema = json_schema_of(v)
        return DROP if schema is None else schema
    if callable(v) and not hasattr(v, "model_dump"):
        return DROP
    return None


def json_schema_of(cls: type) -> Any:
    """The JSON Schema of a pydantic model class (v2, or v1's ``schema()``),
    or None for any other class. Duck-typed, so pydantic need not be
    importable here for configs that do not use it."""
    v2 = getattr(cls, "model_json_schema", None)
    if callable(v2):
        return v2()
    v1 = getattr(cls, "schema", None)
    if callable(v1) and hasattr(cls, "__fields__"):
        return v1()
    return None
