"""The Python worker of motia-actors: loads Motia step files and runs their
handlers for the runtime over the worker protocol (docs/protocol.md).

`run()` is what ``python3 -m motia_worker`` and bin/worker.py call; the rest
is exported for tests and for tools that speak the protocol.
"""

from . import codec
from .context import CallError, Context, Request
from .main import run
from .runner import PROTOCOL_VERSION, Runner

__version__ = "0.1.0"

__all__ = ["CallError", "Context", "PROTOCOL_VERSION", "Request", "Runner", "codec", "run",
           "__version__"]
