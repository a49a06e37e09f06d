"""``python3 -m motia_worker``: the process the runtime spawns."""

from .main import run

if __name__ == "__main__":
    run()
