#!/usr/bin/env python3
"""Entry point the runtime spawns: ``python3 bin/worker.py`` with
MOTIA_WORKER_FD=3. Runs the motia_worker package next to this script, so the
binding works without being pip-installed (msgpack must be importable)."""

import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_package_dir = os.path.dirname(_here)
# Python put this script's directory first on sys.path; a step doing
# `import worker` must not find this file.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
sys.path.insert(0, _package_dir)
try:
    from motia_worker.main import run
finally:
    # Only the package was wanted: leave nothing else of this directory
    # (tests/, bin/) importable by the project's steps.
    sys.path.remove(_package_dir)

run()
