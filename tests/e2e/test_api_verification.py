"""Public verification over HTTP: receipts, consistency proofs, checkpoints and tlog-tiles,
each checked with the ``ledger.log`` verification functions and the log's verifier key only."""

from __future__ import annotations

import pytest
from api_support import ORIGIN, Api, assert_problem, log_keys, unb64

from ledger.errors import InclusionProofError, NoteError
from ledger.log import (
    TreeBuilder,
    check_consistency,
    leaf_hash,
    open_checkpoint,
    parse_entry_bundle,
    parse_receipt,
    parse_verifier_key,
    verifier_key_string,
    verify_receipt,
)

IMMUTABLE = "public, max-age=31536000, immutable"


def verifiers(api: Api) -> list:  # type: ignore[type-arg]
    return [parse_verifier_key(line) for line in log_keys(api)]


def latest_checkpoint(api: Api, leaves: int = 0):  # type: ignore[no-untyped-def]
    """The served checkpoint, asked (``Ledger-Log-Size``) to hold at least ``leaves`` leaves: a
    worker may serve the one it read up to a second ago, before another worker's write."""
    headers = {"Ledger-Log-Size": str(leaves)} if leaves else {}
    response = api.client.get("/log/checkpoint", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-cache"
    return open_checkpoint(response.text, verifiers(api), origin=ORIGIN)


def write_something(api: Api) -> int:
    made = api.ok(api.post("/volunteers", {}))
    return int(made["events"][0]["leaf_index"])


def test_log_key_is_a_verifier_key_string(api: Api) -> None:
    keys = log_keys(api)
    assert keys
    for line in keys:
        verifier = parse_verifier_key(line)
        assert verifier.name == ORIGIN and not verifier.cosignature


def test_receipt_verifies_offline(api: Api) -> None:
    leaf = write_something(api)
    response = api.client.get(f"/receipts/{leaf}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert "attachment" in response.headers["content-disposition"]
    assert ".tlog-proof" in response.headers["content-disposition"]
    text = response.text
    assert text.startswith("c2sp.org/tlog-proof@v1\n")
    envelope = api.ok(api.get(f"/leaves/{leaf}"), 200)["envelope"].encode()

    # offline from here on: only the receipt text, the envelope bytes and the log key
    checkpoint = verify_receipt(text, envelope, verifiers(api))
    assert checkpoint.origin == ORIGIN and checkpoint.size > leaf
    receipt = parse_receipt(text)
    assert receipt.index == leaf and receipt.extra == envelope
    assert verify_receipt(text, leaf_hash(envelope), verifiers(api), leaf_is_hash=True)

    with pytest.raises(InclusionProofError):
        verify_receipt(
            text,
            envelope.replace(b'"aggregate_version":1', b'"aggregate_version":2'),
            verifiers(api),
        )
    other = parse_verifier_key(verifier_key_string(ORIGIN, b"\x07" * 32))
    with pytest.raises(NoteError):
        verify_receipt(text, envelope, [other])


def test_consistency_proof_between_two_checkpoints(api: Api) -> None:
    old = latest_checkpoint(api)
    for _ in range(3):
        leaf = write_something(api)
    new = latest_checkpoint(api, leaf + 1)
    assert new.size == old.size + 3 or (api.kind == "postgresql" and new.size >= old.size + 3)
    response = api.client.get("/proofs/consistency", params={"old": old.size, "new": new.size})
    proof = api.ok(response, 200)
    assert (proof["old_size"], proof["new_size"]) == (old.size, new.size)
    check_consistency(old, new, [unb64(h) for h in proof["proof"]])
    assert unb64(proof["old_root"]) == old.root_hash
    assert unb64(proof["new_root"]) == new.root_hash

    same = api.ok(
        api.client.get("/proofs/consistency", params={"old": new.size, "new": new.size}), 200
    )
    assert same["proof"] == [] and unb64(same["new_root"]) == new.root_hash


def test_a_write_through_the_server_is_in_the_next_checkpoint_it_serves(sqlite_api: Api) -> None:
    """The server keeps the checkpoint it served for up to a second, but not past a write of its
    own: the checkpoint served right after a write covers it."""
    for _ in range(3):
        before = latest_checkpoint(sqlite_api)
        leaf = write_something(sqlite_api)
        assert leaf >= before.size
        assert latest_checkpoint(sqlite_api).size > leaf


def test_every_served_checkpoint_is_signed_and_they_are_consistent(api: Api) -> None:
    write_something(api)
    latest_checkpoint(api)
    items = api.ok(api.client.get("/checkpoints", params={"limit": 5}), 200)["items"]
    assert items
    opened = [open_checkpoint(note, verifiers(api), origin=ORIGIN) for note in items]
    sizes = [c.size for c in opened]
    assert sizes == sorted(sizes, reverse=True)
    newest = opened[0]
    for older in opened[1:]:
        if older.size == 0:
            continue
        proof = api.ok(
            api.client.get("/proofs/consistency", params={"old": older.size, "new": newest.size}),
            200,
        )
        check_consistency(older, newest, [unb64(h) for h in proof["proof"]])


def test_consistency_errors_are_problems(api: Api) -> None:
    size = latest_checkpoint(api).size
    assert_problem(api.client.get("/proofs/consistency", params={"old": 5, "new": 2}), 400)
    assert_problem(
        api.client.get("/proofs/consistency", params={"old": 1, "new": size + 10**6}), 400
    )
    assert_problem(api.client.get("/proofs/consistency", params={"old": -1, "new": 2}), 422)
    assert_problem(api.client.get("/proofs/consistency", params={"old": "x", "new": 2}), 422)
    assert_problem(api.client.get("/proofs/consistency"), 422, "invalid-request")


def test_tlog_tiles_rebuild_the_checkpoint_root(api: Api) -> None:
    checkpoint = latest_checkpoint(api)
    size = checkpoint.size
    assert size > 256, "the city is built with at least one full tile"
    full_tiles, partial_width = divmod(size, 256)

    level0, entries = b"", []
    for n in range(full_tiles):
        tile = api.client.get(f"/log/tile/0/{n:03d}")
        assert tile.status_code == 200
        assert tile.headers["content-type"] == "application/octet-stream"
        assert tile.headers["cache-control"] == IMMUTABLE
        assert len(tile.content) == 256 * 32
        bundle = api.client.get(f"/log/tile/entries/{n:03d}")
        assert bundle.status_code == 200
        assert bundle.headers["cache-control"] == IMMUTABLE
        level0 += tile.content
        entries += parse_entry_bundle(bundle.content)
    if partial_width:
        tile = api.client.get(f"/log/tile/0/{full_tiles:03d}.p/{partial_width}")
        assert tile.status_code == 200, tile.text
        assert "immutable" not in tile.headers["cache-control"]
        assert len(tile.content) == partial_width * 32
        bundle = api.client.get(f"/log/tile/entries/{full_tiles:03d}.p/{partial_width}")
        assert bundle.status_code == 200
        assert "immutable" not in bundle.headers["cache-control"]
        level0 += tile.content
        entries += parse_entry_bundle(bundle.content)
    assert len(entries) == size

    hashes = [level0[i : i + 32] for i in range(0, len(level0), 32)]
    assert hashes == [leaf_hash(entry) for entry in entries]
    builder, subtrees = TreeBuilder(), []
    for hashed in hashes:  # a level-1 tile holds the root of each full level-0 tile
        subtrees += [node for level, _, node in builder.append(hashed) if level == 8]
    assert builder.root() == checkpoint.root_hash
    assert len(subtrees) == full_tiles

    level1 = api.client.get(f"/log/tile/1/000.p/{full_tiles}")
    assert level1.status_code == 200
    assert level1.content == b"".join(subtrees)
    assert "immutable" not in level1.headers["cache-control"]

    first = level0[: 256 * 32]
    narrow = api.client.get("/log/tile/0/000.p/7")
    assert narrow.status_code == 200 and narrow.content == first[: 7 * 32]
    narrow_entries = api.client.get("/log/tile/entries/000.p/3")
    assert parse_entry_bundle(narrow_entries.content) == entries[:3]
    # an entry is the envelope served for its leaf
    assert entries[5] == api.ok(api.get("/leaves/5"), 200)["envelope"].encode()


@pytest.mark.parametrize(
    "path",
    [
        "/log/tile/0/abc",
        "/log/tile/0/0",
        "/log/tile/0/000.p/0",
        "/log/tile/0/000.p/256",
        "/log/tile/0/000.p/999",
        "/log/tile/0/x000/000",
        "/log/tile/entries/000.p/300",
        "/log/tile/99/000",
        "/log/tile/0/123",
        "/log/tile/entries/x001/234",
    ],
)
def test_bad_or_missing_tiles_are_404_problems(sqlite_api: Api, path: str) -> None:
    assert_problem(sqlite_api.client.get(path), 404)


def test_unknown_leaves_events_and_receipts_are_404_problems(api: Api) -> None:
    size = latest_checkpoint(api).size
    assert_problem(api.client.get(f"/leaves/{size + 1000}"), 404, "not-found")
    assert_problem(api.client.get(f"/receipts/{size + 1000}"), 404)
    assert_problem(
        api.client.get("/events/00000000-0000-0000-0000-000000000000/1"), 404, "not-found"
    )
    assert_problem(api.client.get("/events/not-a-uuid/1"), 422, "invalid-request")
    assert_problem(api.client.get("/leaves/-1"), 422, "invalid-request")
    assert_problem(api.client.get("/leaves/abc"), 422, "invalid-request")
    assert_problem(api.client.get("/keys/0123456789abcdef0123456789abcdef"), 404, "not-found")


def test_a_leaf_answered_before_routing_is_answered_as_the_route_answers_it(api: Api) -> None:
    """``GET /leaves/5`` is answered on the event loop before FastAPI's routing; ``/leaves/05``
    (a spelling only the route reads) by the route: the same status, type and body, both
    counted under the route in ``/metrics`` (one worker's count); a leaf that does not exist
    is still the route's 404 problem."""

    def counted() -> int:
        text = api.client.get("/metrics").text
        prefix = (
            'ledger_http_requests_total{method="GET",route="/leaves/{leaf_index}",status="200"}'
        )
        return sum(
            int(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
        )

    before = counted()
    plain, spelled = api.client.get("/leaves/5"), api.client.get("/leaves/05")
    assert (plain.status_code, spelled.status_code) == (200, 200)
    assert plain.headers["content-type"] == spelled.headers["content-type"] == "application/json"
    assert plain.content == spelled.content
    assert plain.json()["leaf_index"] == 5
    if api.kind == "sqlite":  # one worker: its /metrics counts every request
        assert counted() == before + 2
    size = latest_checkpoint(api).size
    assert_problem(api.client.get(f"/leaves/{size + 1000}"), 404, "not-found")
