"""``ledger serve --workers N`` supervises its children: killed with SIGKILL (no clean-up code
runs), its workers and its views process die with it, and a new server starts at once on the
same port."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from api_support import LEDGER_CLI, start_ledger_serve, start_process
from postgres_testing import drop_schema, new_schema, require_postgres

from ledger import DirectoryKeystore, Ledger


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, None when it is gone (a zombie counts as gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    state, parent = text.rsplit(")", 1)[1].split()[:2]
    return None if state in ("Z", "X") else (state, int(parent))


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None and stat[1] == pid:
                found.append(int(entry))
    return found


def wait_until_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if _stat(pid) is not None]
    return alive


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads children from /proc")
def test_sigkilled_server_takes_its_children_and_restarts_at_once(tmp_path: Path) -> None:
    require_postgres()
    db_url = new_schema()
    try:
        with Ledger(db_url, keystore=DirectoryKeystore(tmp_path / "ledger-keys")) as ledger:
            ledger.create(
                name="supervised",
                root_org_id="city",
                root_name="City",
                region="140400",
                origin="supervised.e2e.example/log",
            )
        server = start_ledger_serve(db_url, tmp_path, workers=2)
        try:
            port = int(server.base_url.rsplit(":", 1)[1])
            deadline = time.monotonic() + 30
            children = children_of(server.process.pid)
            while len(children) < 3 and time.monotonic() < deadline:  # 2 workers + views
                time.sleep(0.2)
                children = children_of(server.process.pid)
            assert len(children) >= 3, children
            os.kill(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)
            assert wait_until_gone(children, timeout=5) == []
            command = [*LEDGER_CLI, "serve", "--db", db_url, "--port", str(port)]
            again = start_process([*command, "--workers", "2"], tmp_path, {}, port, timeout=30)
            try:
                assert httpx.get(again.base_url + "/readyz").status_code == 200
            finally:
                again.stop()
        finally:
            server.stop()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGKILL)
    finally:
        drop_schema(db_url)
