"""Chaos: writers and servers killed with SIGKILL at random moments, and many writers at once,
on SQLite and PostgreSQL. After each run every acknowledged event is stored and verifies at its
acknowledged leaf, the leaves are contiguous, ``ledger audit`` exits 0 and the views caught up
incrementally equal a rebuild (:func:`chaos_support.check_store`).

Bounded: 10 kills per loop, 8 writers of a few commands each. ``benchmarks/soak.py`` runs the
same loops longer (100+ kills, sustained HTTP load).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from chaos_support import (
    HttpWriter,
    ack_of,
    check_store,
    free_port,
    kill_library_writer,
    kill_server,
    reap_group,
    start_serve,
)
from writer_testing import run_writers, writer_city

from ledger import DirectoryKeystore, Ledger

pytestmark = pytest.mark.slow
STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
KILLS = 10
SERVERS = [("sqlite", 1), pytest.param("postgresql", 2, marks=pytest.mark.postgres)]


def keystore_dir(kind: str, url: str, cwd: Path) -> Path:
    """Where ``ledger serve`` run in ``cwd`` looks for keys."""
    if kind == "sqlite":
        return Path(url[len("sqlite:///") :] + ".keys")
    return cwd / "ledger-keys"


def http_city(url: str, keys: Path) -> str:
    """The writer city, and an API key of org-w0 that may register volunteers."""
    from ledger.apikeys import create_api_key

    writer_city(url, keys, writers=1)
    with Ledger(url, keystore=DirectoryKeystore(keys)) as ledger:
        return create_api_key(ledger, "org-w0", ["register"])


@pytest.mark.parametrize("kind", STORES)
def test_a_library_writer_killed_ten_times_loses_nothing(
    kind: str, store_url_for: Callable[[str], str], tmp_path: Path
) -> None:
    url, keys = store_url_for(kind), tmp_path / "keys"
    (org,) = writer_city(url, keys, writers=1)
    with Ledger(url, keystore=DirectoryKeystore(keys)) as ledger:
        views = ledger.projections(verify=False)
        try:
            acks = kill_library_writer(url, keys, org, KILLS, random.Random(18), views.catch_up)
        finally:
            views.close()
    assert len(acks) > KILLS
    check_store(url, keys, acks)


@pytest.mark.parametrize("kind", STORES)
def test_eight_library_writers_at_once(
    kind: str, store_url_for: Callable[[str], str], tmp_path: Path
) -> None:
    url, keys = store_url_for(kind), tmp_path / "keys"
    orgs = writer_city(url, keys, writers=8)
    writers = run_writers(url, keys, orgs, each=12)
    acks = [ack_of(line) for writer in writers for line in writer.acknowledged]
    check_store(url, keys, acks)


@pytest.mark.parametrize(
    ("kind", "workers"), [("sqlite", 1), pytest.param("postgresql", 2, marks=pytest.mark.postgres)]
)
def test_ledger_serve_killed_ten_times_under_http_load_loses_nothing(
    kind: str, workers: int, store_url_for: Callable[[str], str], tmp_path: Path
) -> None:
    url = store_url_for(kind)
    keys = keystore_dir(kind, url, tmp_path)
    api_key = http_city(url, keys)
    port, rng = free_port(), random.Random(19)
    server = start_serve(url, tmp_path, port, workers)
    writer = HttpWriter(f"http://127.0.0.1:{port}", api_key, "chaos-http").start()
    try:
        for _ in range(KILLS):
            seen = len(writer.acks)
            while len(writer.acks) == seen:  # something acknowledged by this server
                writer.stop.wait(0.05)
            writer.stop.wait(rng.uniform(0.0, 0.5))
            kill_server(server)
            server = start_serve(url, tmp_path, port, workers)  # at once, on the same port
        seen = len(writer.acks)
        while len(writer.acks) < seen + 3:
            writer.stop.wait(0.05)
        writer.finish()
    finally:
        writer.stop.set()
        kill_server(server)
        reap_group(server)
    assert writer.errors == []
    check_store(url, keys, writer.acks)


@pytest.mark.parametrize(
    ("kind", "workers"), [("sqlite", 1), pytest.param("postgresql", 2, marks=pytest.mark.postgres)]
)
def test_eight_http_writers_at_once(
    kind: str, workers: int, store_url_for: Callable[[str], str], tmp_path: Path
) -> None:
    url = store_url_for(kind)
    keys = keystore_dir(kind, url, tmp_path)
    api_key = http_city(url, keys)
    port = free_port()
    server = start_serve(url, tmp_path, port, workers)
    try:
        writers = [
            HttpWriter(f"http://127.0.0.1:{port}", api_key, f"http-{i}").start(limit=10)
            for i in range(8)
        ]
        for writer in writers:
            assert writer.thread is not None
            writer.thread.join(300)
            assert writer.errors == []
            assert len(writer.acks) == 10
    finally:
        kill_server(server)
        reap_group(server)
    check_store(url, keys, [ack for writer in writers for ack in writer.acks])
