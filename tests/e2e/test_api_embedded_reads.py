"""On an embedded SQLite ledger, ``GET /leaves/{i}`` is answered on the server's event loop (no
thread hop): that holds only if such a read never waits for a writer. Here the operator's own
database access holds SQLite's write lock, a command sent over HTTP waits behind it, and the
leaves are still served and verifiable meanwhile; once the lock is released the command is
stored and its leaf served too."""

from __future__ import annotations

import sqlite3
import threading
import time

import httpx
from api_support import Api, verify_leaf_evidence


def test_leaves_are_served_while_a_writer_waits_for_the_sqlite_write_lock(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    size = int(api.client.get("/log/checkpoint").text.splitlines()[1])  # the note's tree size
    operator = sqlite3.connect(api.db_url.removeprefix("sqlite:///"), isolation_level=None)
    posted: list[httpx.Response] = []
    writer = threading.Thread(target=lambda: posted.append(api.post("/volunteers", {})))
    try:
        operator.execute("BEGIN IMMEDIATE")  # the write lock, held behind the server's back
        writer.start()
        time.sleep(0.5)  # the command has reached the lock and waits there
        started = time.monotonic()
        for leaf in (0, size // 2, size - 1):
            verify_leaf_evidence(api, leaf)
        assert time.monotonic() - started < 5
        assert writer.is_alive() and not posted  # still waiting for the lock
    finally:
        operator.execute("ROLLBACK")
        operator.close()
        writer.join(timeout=60)
    [response] = posted
    stored = api.ok(response)
    leaf = stored["events"][0]["leaf_index"]
    assert leaf >= size
    assert verify_leaf_evidence(api, leaf)["event"]["body"]["type"] == "VolunteerRegistered"
