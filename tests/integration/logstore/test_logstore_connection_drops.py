"""A PostgreSQL connection that drops around a command's COMMIT: nothing is lost or doubled.

A TCP proxy stands between the ledger and the server and cuts the ledger's connection when the
insert's COMMIT goes through it, either after handing the COMMIT to the server (the command is
stored, the writer never hears so) or instead of handing it on (the server rolls back). The
insert is retried on a new connection: in the first case the retry finds the events and the
idempotency claim stored and the command answers as a replay of itself; in the second it stores
them. Either way the log holds each event once, its leaves contiguous and its root the root of
its leaves.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit, urlunsplit

import pytest
from logstore_support import create_city, from_scratch, leaf_states, register_many

from ledger import Ledger

pytestmark = pytest.mark.postgres

COMMIT = b"COMMIT\x00"  # the query text as it travels in the extended protocol's Parse message


class DroppingProxy:
    """Relays TCP connections to ``upstream``; once armed, cuts the client side of the first
    connection that sends a COMMIT, after relaying it (``deliver=True``) or instead."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.armed: bool | None = None  # None: relay everything; else deliver the COMMIT?
        self.cuts = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, *, deliver: bool) -> None:
        with self._lock:
            self.armed = deliver

    def _accept(self) -> None:
        with suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                server = socket.create_connection(self.upstream)
                self._sockets += [client, server]
                threading.Thread(
                    target=self._pump, args=(client, server, True), daemon=True
                ).start()
                threading.Thread(
                    target=self._pump, args=(server, client, False), daemon=True
                ).start()

    def _pump(self, source: socket.socket, target: socket.socket, to_server: bool) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                if to_server and COMMIT in data:
                    with self._lock:
                        deliver, self.armed = self.armed, None
                    if deliver is not None:
                        if deliver:
                            target.sendall(data)
                        self.cuts += 1
                        cut(source)  # the writer's side goes now; the server's goes too when
                        if not deliver:  # the COMMIT did not (it then rolls back)
                            cut(target)
                        return
                target.sendall(data)
        with suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.listener.close()
        for sock in self._sockets:
            cut(sock)


def cut(sock: socket.socket) -> None:
    """End a connection now. ``close`` alone would not while another thread waits in ``recv``
    on the socket: the kernel keeps it open for that thread, and the peer never sees the end."""
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()


@contextmanager
def proxied(url: str) -> Iterator[tuple[str, DroppingProxy]]:
    parts = urlsplit(url)
    proxy = DroppingProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    netloc = (
        f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    )
    try:
        yield urlunsplit(parts._replace(netloc=netloc)), proxy
    finally:
        proxy.close()


def stored_once(ledger: Ledger) -> None:
    """Every leaf is a distinct event, and the stored root is the root of the stored leaves."""
    states = leaf_states(ledger)
    assert len(set(states)) == len(states)
    assert ledger.log.root() == from_scratch(states)[0].root()


@pytest.mark.parametrize("deliver", [True, False], ids=["commit-delivered", "commit-lost"])
def test_a_connection_cut_at_commit_loses_and_doubles_nothing(
    postgres_schema: str, open_ledger: Callable[..., Ledger], deliver: bool
) -> None:
    with proxied(postgres_schema) as (url, proxy):
        ledger = open_ledger(url)
        create_city(ledger)
        size = ledger.log_size()
        proxy.arm(deliver=deliver)
        result = register_many(ledger, 5, "cut-at-commit")
        assert proxy.cuts == 1
        # Delivered, the first attempt committed: the retry finds it and answers as a replay.
        assert result.replayed is deliver
        assert [e.leaf_index for e in result.events] == list(range(size, size + 5))
        assert ledger.log_size() == size + 5
        for ref in result.events:
            assert ledger.event(ref.aggregate_id, ref.version).leaf_index == ref.leaf_index
        again = register_many(ledger, 1, "after-the-cut")  # the pool recovered
        assert not again.replayed and again.events[0].leaf_index == size + 5
        stored_once(ledger)
