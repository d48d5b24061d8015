"""Children of ``ledger serve`` die with it, however it dies.

``ledger serve --workers N`` starts N uvicorn worker processes and a views process. If the main
process is killed (SIGKILL included, when no clean-up code runs), orphaned children would keep
serving and keep the port, and a restart would fail with "address already in use". So every
child calls :func:`die_with_parent` at start-up, with the main process's pid (handed down in
``$LEDGER_SUPERVISOR_PID``): on Linux the kernel then sends it SIGKILL when the parent dies
(``prctl(PR_SET_PDEATHSIG)``), and on every platform a watcher thread notices the parent is gone
(the child is re-parented) within half a second and kills the child.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from typing import Any

SUPERVISOR_ENV = "LEDGER_SUPERVISOR_PID"
PR_SET_PDEATHSIG = 1
_POLL_SECONDS = 0.5


def die_with_parent(parent: int) -> None:
    """Make this process die when ``parent`` does; exit now if it is already gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="die-with-parent", daemon=True).start()


def _watch(parent: int) -> None:
    stop = threading.Event()
    while not stop.wait(_POLL_SECONDS):
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)


def die_with_supervisor() -> None:
    """:func:`die_with_parent` for a child ``ledger serve`` started (no-op otherwise)."""
    parent = os.environ.get(SUPERVISOR_ENV)
    if parent and parent.isdigit():
        die_with_parent(int(parent))


def create_supervised_app() -> Any:
    """The uvicorn factory of ``ledger serve --workers N``: each worker dies with the server."""
    from ledger_api.app import create_app_from_env

    die_with_supervisor()
    return create_app_from_env()
