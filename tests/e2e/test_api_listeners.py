"""``ledger_api.server.serve`` with several workers: each worker has a listener of its own, so
connections opened together are spread over the workers (with one shared listener the first
worker woken took them all), a worker that dies is replaced on its listener, and SIGTERM stops
them all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from api_support import free_port

from ledger_api.server import one_listener_each

pytestmark = pytest.mark.skipif(not one_listener_each(), reason="SO_REUSEPORT spreading: Linux")

APP = """
import os


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = str(os.getpid()).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def make():
    return app
"""


def _start(folder: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    (folder / "pid_app.py").write_text(APP, encoding="utf-8")
    code = (
        "import sys; from ledger_api.server import serve; "
        f"sys.exit(serve('pid_app:make', '127.0.0.1', {port}, {workers}))"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(folder)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _ask(conn: socket.socket) -> int:
    """The pid of the worker serving ``conn`` (one keep-alive request)."""
    conn.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1]:
        chunk = conn.recv(4096)
        assert chunk, data
        data += chunk
    return int(data.split(b"\r\n\r\n", 1)[1])


def _wait_ready(port: int, process: subprocess.Popen[bytes], workers: int) -> None:
    """Until ``workers`` distinct workers answer (each listener has one)."""
    deadline = time.monotonic() + 60
    seen: set[int] = set()
    while len(seen) < workers:
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, f"only workers {seen} answered"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                seen.add(_ask(conn))
        except OSError:
            time.sleep(0.1)


def _pids_of_connections_opened_together(port: int, count: int) -> list[int]:
    """Open ``count`` connections at once, before any request, then ask each its worker."""
    conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    try:
        return [_ask(conn) for conn in conns]
    finally:
        for conn in conns:
            conn.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.slow
def test_connections_opened_together_are_spread_over_the_workers(tmp_path: Path) -> None:
    port = free_port()
    process = _start(tmp_path, port, workers=2)
    try:
        _wait_ready(port, process, workers=2)
        for _ in range(5):  # all 16 on one worker by the hash alone: 1 time in 32,768
            pids = _pids_of_connections_opened_together(port, 16)
            assert len(set(pids)) == 2, pids
    finally:
        _stop(process)


@pytest.mark.slow
def test_a_dead_worker_is_replaced_on_its_listener_and_sigterm_stops_all(tmp_path: Path) -> None:
    port = free_port()
    process = _start(tmp_path, port, workers=2)
    try:
        _wait_ready(port, process, workers=2)
        first = set(_pids_of_connections_opened_together(port, 16))
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while True:  # every connection is answered, by a new worker on the dead one's listener
            pids = set(_pids_of_connections_opened_together(port, 16))
            if len(pids) == 2 and victim not in pids:
                break
            assert time.monotonic() < deadline, pids
            time.sleep(0.2)
        workers = pids
        os.killpg(process.pid, 0)  # the group is alive
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        _stop(process)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:", 1)[1].split("\n", 1)[0]
    except (OSError, IndexError):
        return "zombie"


def test_a_port_taken_without_reuse_port_fails_at_once(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _start(tmp_path, port, workers=2)
        try:
            output = process.communicate(timeout=60)[0].decode()
        finally:
            _stop(process)
    assert process.returncode == 3, output
    assert f"cannot listen on 127.0.0.1:{port}" in output
