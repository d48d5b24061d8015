"""Tiles that fail verification, over real HTTP, on SQLite and PostgreSQL: the operator's own
database access edits a leaf hash, deletes a leaf, or rewrites an event with its leaf hash
behind a running ``ledger serve``. The tiles that rest on the change answer a 500-class
``store-integrity-failure`` problem (never the bytes, never a 4xx), each failure is logged and
counted on ``/metrics``, and the tiles the change does not touch are still served."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_support import PROBLEM_JSON, Server, start_ledger_serve
from ledger_testing import create_city

from ledger import DirectoryKeystore, Ledger
from ledger.context import Context
from ledger.model.ids import new_volunteer_number
from ledger.model.ids import volunteer_aggregate_id as volunteer_id
from ledger.results import NoValue

SIZE = 300  # tile 0/000 is full; 0/001.p/44 and entries/001.p/44 are partial
FORGED = hashlib.sha256(b"forged").digest()
KEPT_SECONDS = 1.05  # a little over the default LEDGER_CHECKPOINT_MAX_AGE


class Served:
    def __init__(self, server: Server, url: str) -> None:
        self.server, self.url = server, url

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.server.base_url}{path}", timeout=30)

    def execute(self, statement: str, params: tuple[object, ...] = ()) -> int:
        """One SQL statement behind the server's back (``%s`` placeholders)."""
        if self.url.startswith("sqlite"):
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as conn:
                return conn.execute(statement.replace("%s", "?"), params).rowcount
        import psycopg

        base, schema = self.url.split("?schema=")
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"SET search_path TO {schema}")
            return conn.execute(statement, params).rowcount  # type: ignore[arg-type]

    def integrity_failures(self) -> int:
        text = self.get("/metrics").text
        return sum(
            int(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("ledger_integrity_failures_total{")
        )


def fill(ledger: Ledger, count: int, key: str = "fill") -> None:
    """``count`` volunteers in one signed command (one insert)."""
    numbers = [new_volunteer_number() for _ in range(count)]

    def decide(ctx: Context) -> dict[str, object]:
        for number in numbers:
            ctx.emit("VolunteerRegistered", volunteer_id(number), {"number": number})
        return {}

    ledger._writer.run(
        org="org-a",
        signer=ledger.signer_for("org-a"),
        idempotency_key=key,
        command="RegisterMany",
        params={"numbers": numbers},
        decide=decide,
        result_type=NoValue,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, DirectoryKeystore | None]:
    """A ledger of ``SIZE`` leaves, a checkpoint signed over all of it: its URL and keystore."""
    if request.param == "sqlite":
        url, keystore = f"sqlite:///{tmp_path / 'ledger.db'}", None
    else:
        url = str(request.getfixturevalue("postgres_schema"))
        keystore = DirectoryKeystore(tmp_path / "ledger-keys")
    with Ledger(url, keystore=keystore) as ledger:
        create_city(ledger)
        fill(ledger, SIZE - ledger.log_size())
        assert ledger.log_size() == SIZE
        ledger.log.sign_checkpoint()
    return url, keystore


@pytest.fixture
def served(store: tuple[str, DirectoryKeystore | None], tmp_path: Path) -> Iterator[Served]:
    """That ledger served by one worker."""
    server = start_ledger_serve(store[0], tmp_path)
    try:
        yield Served(server, store[0])
    finally:
        server.stop()


TILES = ["/log/tile/0/000", "/log/tile/0/001.p/44", "/log/tile/entries/000"]


def assert_integrity_failure(response: httpx.Response) -> None:
    assert response.status_code == 500, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["type"] == "/problems/store-integrity-failure"
    assert (
        "behind the ledger's back" in response.json()["detail"]
        or "missing" in (response.json()["detail"])
    )


def test_an_edited_leaf_hash_is_an_integrity_failure_not_a_tile(served: Served) -> None:
    """The full tiles are first asked for after the edit: their first read authenticates them,
    and fails (a tile authenticated before an edit: see the test after this one)."""
    before = {path: served.get(path) for path in TILES[1:2]}
    assert all(response.status_code == 200 for response in before.values())
    failures = served.integrity_failures()
    changed = served.execute(
        "UPDATE ledger_log_nodes SET hash = %s WHERE level = 0 AND idx = %s", (FORGED, 3)
    )
    assert changed == 1
    assert_integrity_failure(served.get("/log/tile/0/000"))
    assert_integrity_failure(served.get("/log/tile/entries/000"))
    assert served.integrity_failures() == failures + 2
    assert "integrity failure serving GET /log/tile/0/000" in served.server.log()
    untouched = served.get("/log/tile/0/001.p/44")
    assert untouched.status_code == 200
    assert untouched.content == before["/log/tile/0/001.p/44"].content


def test_a_full_tile_is_served_as_authenticated_and_refused_by_a_fresh_process(
    served: Served, tmp_path: Path
) -> None:
    """A full tile and bundle authenticated by a worker stay exactly the bytes that passed
    (an edit of the database afterwards does not reach that worker's answer), and a process
    started after the edit reads the edited rows and refuses them."""
    full = ["/log/tile/0/000", "/log/tile/entries/000"]
    first = {path: served.get(path) for path in full}
    assert all(response.status_code == 200 for response in first.values())
    served.execute(
        "UPDATE ledger_log_nodes SET hash = %s WHERE level = 0 AND idx = %s", (FORGED, 3)
    )
    nid_column = "rowid" if served.url.startswith("sqlite") else "notification_id"
    events = "stored_events" if served.url.startswith("sqlite") else "ledger_events"
    select_nid = "(SELECT notification_id FROM ledger_log_leaves WHERE leaf_index = %s)"
    served.execute(f"UPDATE {events} SET state = %s WHERE {nid_column} = {select_nid}", (b"{}", 9))
    failures = served.integrity_failures()
    for path in full:
        again = served.get(path)
        assert again.status_code == 200
        assert again.content == first[path].content  # what was authenticated, not the edit
        assert again.headers["etag"] == first[path].headers["etag"]
    assert FORGED not in served.get("/log/tile/0/000").content
    assert served.integrity_failures() == failures
    fresh = start_ledger_serve(served.url, tmp_path)
    try:
        for path in full:
            assert_integrity_failure(httpx.get(f"{fresh.base_url}{path}", timeout=30))
    finally:
        fresh.stop()


def test_a_rewritten_event_and_leaf_hash_and_a_deleted_leaf_fail_their_tiles(
    served: Served,
) -> None:
    leaf = 270
    nid_column = "rowid" if served.url.startswith("sqlite") else "notification_id"
    events = "stored_events" if served.url.startswith("sqlite") else "ledger_events"
    forged_state = b'{"forged": true}'
    leaf_hash = hashlib.sha256(b"\x00" + forged_state).digest()
    select_nid = "(SELECT notification_id FROM ledger_log_leaves WHERE leaf_index = %s)"
    changed = served.execute(
        f"UPDATE {events} SET state = %s WHERE {nid_column} = {select_nid}", (forged_state, leaf)
    )
    assert changed == 1
    served.execute(
        "UPDATE ledger_log_nodes SET hash = %s WHERE level = 0 AND idx = %s", (leaf_hash, leaf)
    )
    failures = served.integrity_failures()
    assert_integrity_failure(served.get("/log/tile/0/001.p/44"))
    assert_integrity_failure(served.get("/log/tile/entries/001.p/44"))
    assert served.get("/log/tile/0/000").status_code == 200
    served.execute("DELETE FROM ledger_log_leaves WHERE leaf_index = %s", (17,))
    assert_integrity_failure(served.get("/log/tile/entries/000"))
    assert_integrity_failure(served.get("/leaves/17"))
    assert_integrity_failure(served.get("/receipts/17"))
    assert served.integrity_failures() == failures + 5
    assert served.get(f"/leaves/{SIZE + 10}").status_code == 404


def test_a_forged_checkpoint_fails_readyz_every_tile_and_itself(served: Served) -> None:
    """The operator rewrites the stored checkpoint's root (to match a rewritten log, say),
    keeping its signature: it no longer verifies with the log's key, so nothing is checked
    against it, ``/readyz`` fails, no tile is served, and neither is the checkpoint: the server
    goes on serving the note it verified before for at most a second (its kept bytes), then
    reads the forged one and refuses it."""
    assert served.get("/readyz").status_code == 200
    genuine = served.get("/log/checkpoint").text
    key = f"{SIZE:020d}"
    changed = served.execute(
        "UPDATE ledger_side SET value = %s WHERE namespace = 'checkpoint' AND key = %s",
        (forge_root(genuine).encode(), key),
    )
    assert changed == 1
    ready = served.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["type"] == "/problems/store-integrity-failure"
    assert "does not verify" in ready.json()["detail"]
    for path in TILES:
        assert_integrity_failure(served.get(path))
    kept = served.get("/log/checkpoint")
    assert kept.status_code == 500 or kept.text == genuine
    time.sleep(KEPT_SECONDS)
    assert_integrity_failure(served.get("/log/checkpoint"))


def test_the_checkpoint_is_kept_for_its_max_age_then_read_again(
    store: tuple[str, DirectoryKeystore | None], tmp_path: Path
) -> None:
    """A server keeps the checkpoint it read and verified for ``LEDGER_CHECKPOINT_MAX_AGE``:
    events another process writes meanwhile are not in the one it serves (tlog-tiles lets a
    checkpoint be cached for a few seconds), unless the request asks for them by sending
    ``Ledger-Log-Size`` (a malformed one asks for nothing); once that time has passed it signs
    one that covers them. Each answers as the route does, and each is counted under it."""
    url, keystore = store
    server = start_ledger_serve(url, tmp_path, env={"LEDGER_CHECKPOINT_MAX_AGE": "2"})
    try:
        served = Served(server, url)
        started = time.monotonic()
        first = served.get("/log/checkpoint")
        assert first.status_code == 200 and tree_size(first) == SIZE
        with Ledger(url, keystore=keystore) as elsewhere:
            fill(elsewhere, 3, key="three-more")
        kept = served.get("/log/checkpoint")
        if time.monotonic() - started < 2:
            assert (kept.text, kept.headers["etag"]) == (first.text, first.headers["etag"])
        asked = httpx.get(
            f"{server.base_url}/log/checkpoint", headers={"Ledger-Log-Size": str(SIZE + 3)}
        )
        assert asked.status_code == 200 and tree_size(asked) == SIZE + 3
        for nonsense in ["-1", "many", "1" * 17, ""]:  # asks for nothing: the kept note
            ignored = httpx.get(
                f"{server.base_url}/log/checkpoint", headers={"Ledger-Log-Size": nonsense}
            )
            assert (ignored.status_code, ignored.text) == (200, asked.text), nonsense
        with Ledger(url, keystore=keystore) as elsewhere:
            fill(elsewhere, 2, key="two-more")
        started = time.monotonic()
        assert tree_size(served.get("/log/checkpoint")) in {SIZE + 3, SIZE + 5}
        time.sleep(max(0.0, started + 2.05 - time.monotonic()))
        newer = served.get("/log/checkpoint")
        assert newer.status_code == 200 and tree_size(newer) == SIZE + 5
        assert newer.headers["etag"] == etag_of(newer.content)
        assert newer.headers["cache-control"] == "no-cache"
        metrics = served.get("/metrics").text
        assert 'route="/log/checkpoint",status="200"} 9' in metrics, metrics
    finally:
        server.stop()


def tree_size(checkpoint: httpx.Response) -> int:
    return int(checkpoint.text.splitlines()[1])


def etag_of(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest() + '"'


def forge_root(note: str) -> str:
    """The checkpoint note with another root hash line, its signature lines unchanged."""
    lines = note.split("\n")
    lines[2] = base64.b64encode(FORGED).decode()
    return "\n".join(lines)


def test_evidence_whose_stored_proof_does_not_lead_to_the_signed_root_is_not_served(
    served: Served,
) -> None:
    """The operator edits leaf 4's hash: leaf 5's event is intact, but its inclusion proof (leaf
    4's hash is its first step) no longer leads to the signed root, so its evidence and its
    receipt are integrity failures; a leaf whose proof does not pass through leaf 4 still serves."""
    assert served.get("/leaves/5").status_code == 200
    served.execute(
        "UPDATE ledger_log_nodes SET hash = %s WHERE level = 0 AND idx = %s", (FORGED, 4)
    )
    failures = served.integrity_failures()
    assert_integrity_failure(served.get("/leaves/5"))
    assert_integrity_failure(served.get("/receipts/5"))
    assert served.integrity_failures() == failures + 2
    assert served.get("/leaves/200").status_code == 200


def test_tiles_and_the_checkpoint_carry_caching_headers_and_answer_304(served: Served) -> None:
    """Full tiles and bundles: immutable for a year, a strong ETag (SHA-256 of the bytes), and
    304 with no body to a client that names it, however it lists it; partial tiles a short
    max-age; the checkpoint ``no-cache`` (revalidate each time, cheaply, by its ETag)."""
    for path in ["/log/tile/0/000", "/log/tile/entries/000"]:
        first = served.get(path)
        assert first.status_code == 200
        assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
        etag = first.headers["etag"]
        assert etag == '"' + hashlib.sha256(first.content).hexdigest() + '"'
        again = served.get(path)  # now from the worker's authenticated bytes
        assert (again.content, again.headers["etag"]) == (first.content, etag)
        for named in [etag, f'"other", {etag}', "*", f"W/{etag}"]:
            same = httpx.get(
                f"{served.server.base_url}{path}", headers={"If-None-Match": named}, timeout=30
            )
            assert same.status_code == 304, named
            assert same.content == b""
            assert same.headers["etag"] == etag
        stale = httpx.get(
            f"{served.server.base_url}{path}", headers={"If-None-Match": '"other"'}, timeout=30
        )
        assert stale.status_code == 200 and stale.content == first.content
    partial = served.get("/log/tile/0/001.p/44")
    assert partial.headers["cache-control"] == "public, max-age=5"
    assert partial.headers["etag"] == '"' + hashlib.sha256(partial.content).hexdigest() + '"'
    note = served.get("/log/checkpoint")
    assert note.headers["cache-control"] == "no-cache"
    revalidated = httpx.get(
        f"{served.server.base_url}/log/checkpoint",
        headers={"If-None-Match": note.headers["etag"]},
        timeout=30,
    )
    assert revalidated.status_code == 304 and revalidated.content == b""


def test_a_kept_tile_is_answered_as_the_route_answers_it_and_counted(served: Served) -> None:
    """The first request for a tile goes through the route; later ones are answered from the
    kept bytes before routing (``KeptTiles``): the same status, headers and bytes, counted under
    the tile route in ``/metrics``; a path the route refuses is still refused."""
    ignored = {"date"}
    for path in ["/log/tile/0/000", "/log/tile/entries/000", "/log/tile/0/001.p/44"]:
        first = served.get(path)
        again = served.get(path)
        assert first.status_code == 200
        assert (again.status_code, again.content) == (200, first.content)
        headers = {k: v for k, v in first.headers.items() if k not in ignored}
        assert {k: v for k, v in again.headers.items() if k not in ignored} == headers
    metrics = served.get("/metrics").text
    counted = 'route="/log/tile/{level}/{path:path}",status="200"} 6'
    assert counted in metrics, metrics
    for refused in ["/log/tile/0/0000", "/log/tile/00/000", "/log/tile/0/000.p/0"]:
        assert served.get(refused).status_code == 404, refused
    assert served.get("/log/tile/" + "1" * 11 + "/000").status_code == 422
    head = httpx.head(f"{served.server.base_url}/log/tile/0/000", timeout=30)
    assert head.status_code == 405
