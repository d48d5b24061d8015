"""Helpers for the chaos suite and the soak benchmark (imported by name; not a test module).

Writers and servers are real processes killed with SIGKILL at random moments. Everything a
writer acknowledged (a line printed by ``writer_process.py``, a 2xx answer over HTTP) is kept
as an :class:`Ack`; :func:`check_store` then proves the store kept every acknowledged event
where it said, with a whole log, a clean ``ledger audit`` and views that equal a rebuild.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from writer_testing import WriterProcess

from ledger import DirectoryKeystore, Ledger

LEDGER_CLI = [sys.executable, "-m", "ledger.cli"]


@dataclass(frozen=True)
class Ack:
    key: str
    aggregate_id: str
    version: int
    leaf_index: int


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ack_of(line: dict[str, Any]) -> Ack:
    return Ack(line["key"], line["aggregate_id"], line["version"], line["leaf_index"])


# --- checking a store after the chaos ------------------------------------------------------


def check_store(url: str, keys: Path, acks: list[Ack]) -> dict[str, int]:
    """Every acknowledged event is stored and verifies at its acknowledged leaf, the leaves are
    contiguous with every event on one, ``ledger audit`` exits 0, and the views caught up
    incrementally equal the views rebuilt from empty. Returns counts."""
    assert len({a.key for a in acks}) == len(acks), "a key was acknowledged twice"
    with Ledger(url, keystore=DirectoryKeystore(keys)) as ledger:
        leaves = ledger._recorder.select_leaves(0, 10**7)
        assert [leaf.leaf_index for leaf in leaves] == list(range(len(leaves)))
        assert ledger._recorder.unlogged_notification_ids() == []  # type: ignore[attr-defined]
        for ack in acks:
            event = ledger.event_at(ack.leaf_index)  # verified on the way out
            assert (str(event.originator_id), event.originator_version) == (
                ack.aggregate_id,
                ack.version,
            ), ack
            assert event.body["idempotency_key"] == ack.key
        views = ledger.projections(verify=False)
        try:
            views.catch_up()
            incremental = views.digest()
            views.rebuild()
            assert views.digest() == incremental, "rebuilt views differ from the incremental ones"
        finally:
            views.close()
    audited = subprocess.run(
        [*LEDGER_CLI, "audit", "--db", url, "--quiet", "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert audited.returncode == 0, audited.stdout[-3000:] + audited.stderr[-3000:]
    return {"leaves": len(leaves), "acknowledged": len(acks)}


# --- a library writer killed again and again -----------------------------------------------


def kill_library_writer(
    url: str, keys: Path, org: str, kills: int, rng: random.Random, catch_up: Callable[[], Any]
) -> list[Ack]:
    """Start ``writer_process.py`` for ``org``, SIGKILL it at a random moment after it has
    acknowledged something, ``kills`` times; each new writer resumes at the first key not
    acknowledged (the killed writer's command in flight is retried with the same key). The
    views are caught up between kills. Returns every acknowledgement."""
    acks: list[Ack] = []
    next_number = 0
    for _ in range(kills):
        writer = WriterProcess.start(url, keys, org, "chaos", next_number, 0)
        deadline = time.monotonic() + 120
        while not writer.acknowledged and time.monotonic() < deadline:
            if writer.read_line() is None:
                break
        assert writer.acknowledged, writer.finish()[1]
        time.sleep(rng.uniform(0.0, 0.4))
        writer.process.send_signal(signal.SIGKILL)
        writer.finish(timeout=30)
        acks.extend(ack_of(line) for line in writer.acknowledged)
        next_number = int(writer.acknowledged[-1]["key"].rsplit("-", 1)[1]) + 1
        catch_up()
    # One last writer finishes the command the last kill interrupted.
    writer = WriterProcess.start(url, keys, org, "chaos", next_number, 1)
    status, stderr = writer.finish()
    assert status == 0, stderr
    acks.extend(ack_of(line) for line in writer.acknowledged)
    return acks


# --- ledger serve killed again and again, under HTTP load ----------------------------------


@dataclass
class HttpWriter:
    """Registers volunteers over HTTP for ever, retrying each key until it is acknowledged
    (connection refused or reset while the server is down, 503 with Retry-After)."""

    base_url: str
    api_key: str
    prefix: str
    acks: list[Ack] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self, limit: int | None = None) -> HttpWriter:
        self.thread = threading.Thread(target=self._run, args=(limit,), daemon=True)
        self.thread.start()
        return self

    def _run(self, limit: int | None) -> None:
        number = 0
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            while not self.stop.is_set() and (limit is None or number < limit):
                key = f"{self.prefix}-{number}"
                try:
                    answer = client.post(
                        "/volunteers",
                        json={},
                        headers={"Authorization": f"Bearer {self.api_key}", "Idempotency-Key": key},
                    )
                except httpx.TransportError as error:
                    self._failed(type(error).__name__)
                    time.sleep(0.05)
                    continue
                if answer.status_code in (200, 201):
                    ref = answer.json()["events"][0]
                    self.acks.append(
                        Ack(key, ref["aggregate_id"], ref["version"], ref["leaf_index"])
                    )
                    number += 1
                elif answer.status_code == 503:
                    self._failed("503")
                    time.sleep(float(answer.headers.get("Retry-After", "0.1")) / 10)
                else:  # anything else is a bug: a write the client cannot repair by retrying
                    self.errors.append(f"{key}: {answer.status_code} {answer.text[:300]}")
                    number += 1

    def _failed(self, kind: str) -> None:
        self.failures[kind] = self.failures.get(kind, 0) + 1

    def finish(self, timeout: float = 120) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout)
            assert not self.thread.is_alive(), "the HTTP writer did not finish"


def start_serve(db_url: str, cwd: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    """``ledger serve`` on ``port``; returns once ``/readyz`` answers 200."""
    log = (cwd / f"serve-{port}.log").open("ab")
    command = [*LEDGER_CLI, "serve", "--db", db_url, "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", str(workers)],
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ledger serve exited with {process.returncode}; see {log.name}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"ledger serve did not become ready; see {log.name}")


def kill_server(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the main ``ledger serve`` process only: its children must die with it."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def reap_group(process: subprocess.Popen[bytes]) -> None:
    """Clean-up after a test: nothing of ours may outlive it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
