"""Loads step, stream and auth files and collects what `register` needs. A
file that fails to load becomes an entry in `errors`; the others still load."""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import sys
import traceback
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .config import middleware_of, plain_config, plain_stream_config
from .wire import format_exception, safe_str


class StepError(Exception):
    """A file that imported but is not a usable step. Its stack would show
    only the loader, so the register entry leaves it out."""


class Step:
    __slots__ = ("name", "file", "kind", "handler", "middleware", "cron_takes_input")

    def __init__(self, name: str, file: str, kind: Any, handler: Optional[Callable],
                 middleware: List[Callable]) -> None:
        self.name = name
        self.file = file
        self.kind = kind
        self.handler = handler
        self.middleware = middleware
        # Motia 1.0 calls cron handlers as handler(input, ctx) with input None;
        # 0.x as handler(ctx).
        self.cron_takes_input = handler is not None and _required_positional(handler) >= 2


class StreamDef:
    """A stream file's definition: its name and its access check, if any."""

    __slots__ = ("name", "file", "can_access")

    def __init__(self, name: str, file: str, can_access: Optional[Callable]) -> None:
        self.name = name
        self.file = file
        self.can_access = can_access


class Project:
    """What `init` loaded, and the body of the `register` message."""

    def __init__(self) -> None:
        self.steps: Dict[str, Step] = {}
        self.streams: Dict[str, StreamDef] = {}
        self.authenticate: Optional[Callable] = None
        self.register: Dict[str, Any] = {"steps": [], "streams": [], "auth": False, "errors": []}


def load_project(root: str, files: Sequence[str], stream_files: Sequence[str] = (),
                 auth: Optional[str] = None) -> Project:
    """Imports the step `files` in order, then the `stream_files`, then the
    `auth` file if given."""
    if root and root not in sys.path:
        # Steps import project modules relative to the root, as under Motia.
        sys.path.insert(0, root)
    project = Project()
    register = project.register
    for file in files:
        step, plain = _load(root, file, _step_from, register["errors"])
        if step is not None:
            # A duplicate name is registered anyway: the runtime validates the
            # whole project and reports it with both files, then refuses to start.
            project.steps.setdefault(step.name, step)
            register["steps"].append({"file": file, "config": plain})
    for file in stream_files:
        stream, plain = _load(root, file, _stream_from, register["errors"])
        if stream is not None:
            project.streams.setdefault(stream.name, stream)
            register["streams"].append({"file": file, "config": plain})
    if auth is not None:
        project.authenticate, _ = _load(root, auth, _auth_from, register["errors"])
        register["auth"] = project.authenticate is not None
    return project


def _load(root: str, file: str, read: Callable[[Any, str], Tuple[Any, Any]],
          errors: List[Dict[str, Any]]) -> Tuple[Any, Any]:
    """``read(module, file)`` of the imported file, or (None, None) with an
    entry in `errors`."""
    try:
        return read(_import(root, file), file)
    except Exception as err:  # a file's top level may raise anything
        errors.append(load_error(file, err))
    except SystemExit as err:
        errors.append(load_error(file, RuntimeError(f"file called sys.exit({err.code!r})")))
    return None, None


def _import(root: str, file: str) -> Any:
    name, package = module_name(root, file)
    existing = sys.modules.get(name)
    if existing is not None and _same_file(getattr(existing, "__file__", None), file):
        return existing  # another step already imported it as a module
    while name in sys.modules:
        name += "_"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise StepError("not a Python source file")
    module = importlib.util.module_from_spec(spec)
    module.__package__ = package
    # Registered before it runs, as `import` does, so that dataclasses and
    # pydantic can find the module of the classes it defines.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def module_name(root: str, file: str) -> Tuple[str, str]:
    """(module name, package) for a step file. Under the root, a file's
    package is its directory (``steps/billing/invoice_step.py`` is
    ``steps.billing.invoice_step``) so that relative imports work; ``.step``
    and other characters no identifier may hold become ``_``."""
    stem = os.path.basename(file)
    if stem.endswith(".py"):
        stem = stem[:-3]
    stem = _identifier(stem)
    rel = os.path.relpath(os.path.dirname(file), root) if root else os.pardir
    parts = [] if rel == os.curdir else rel.split(os.sep)
    if parts and all(p and p != os.pardir and "." not in p for p in parts):
        package = ".".join(parts)
        return f"{package}.{stem}", package
    return f"motia_step_{stem}", ""


def _identifier(s: str) -> str:
    s = re.sub(r"\W", "_", s, flags=re.ASCII)
    return "_" + s if not s or s[0].isdigit() else s


def _same_file(a: Optional[str], b: str) -> bool:
    try:
        return a is not None and os.path.samefile(a, b)
    except OSError:
        return False


def _step_from(module: Any, file: str) -> Tuple[Step, Dict[str, Any]]:
    config = getattr(module, "config", None)
    if not isinstance(config, dict):
        raise StepError("step file defines no `config` dict")
    name = config.get("name")
    if not isinstance(name, str) or not name:
        raise StepError("step config has no `name`")
    handler = getattr(module, "handler", None)
    kind = config.get("type")
    if kind != "noop" and not callable(handler):
        raise StepError(f'step "{name}" defines no `handler` function')
    try:
        plain = plain_config(config)
    except (TypeError, ValueError) as err:
        raise StepError(f'step "{name}" config is not plain data: {err}') from None
    step = Step(name, file, kind, handler if callable(handler) else None, middleware_of(config))
    return step, plain


def _stream_from(module: Any, file: str) -> Tuple[StreamDef, Dict[str, Any]]:
    config = getattr(module, "config", None)
    if not isinstance(config, dict):
        raise StepError("stream file defines no `config` dict")
    name = config.get("name")
    if not isinstance(name, str) or not name:
        raise StepError("stream config has no string `name`")
    can_access = config.get("canAccess", config.get("can_access"))
    try:
        plain = plain_stream_config(config, callable(can_access))
    except (TypeError, ValueError) as err:
        raise StepError(f'stream "{name}" config is not plain data: {err}') from None
    return StreamDef(name, file, can_access if callable(can_access) else None), plain


def _auth_from(module: Any, file: str) -> Tuple[Callable, None]:
    hook = getattr(module, "authenticate", None)
    if not callable(hook):
        raise StepError("auth file defines no `authenticate` function")
    return hook, None


def load_error(file: str, err: BaseException) -> Dict[str, Any]:
    """The `errors` entry for a file: message, stack, and its line when known."""
    if isinstance(err, StepError):
        return {"file": file, "message": safe_str(err)}
    if isinstance(err, SyntaxError):
        message = f"{type(err).__name__}: {err.msg}"
    else:
        message = f"{type(err).__name__}: {safe_str(err)}"
    out: Dict[str, Any] = {"file": file, "message": message}
    line = _line_in(file, err)
    if line is not None:
        out["line"] = line
    out["stack"] = format_exception(err)
    return out


def _line_in(file: str, err: BaseException) -> Optional[int]:
    """The line of `file` the error points at: a syntax error's own line, or
    the deepest frame in the file (the import or statement that raised)."""
    if isinstance(err, SyntaxError) and err.lineno and _same_file(err.filename, file):
        return err.lineno
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        if _same_file(frame.filename, file):
            line = frame.lineno
    return line


def _required_positional(fn: Callable) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in params if p.kind in kinds and p.default is inspect.Parameter.empty)
