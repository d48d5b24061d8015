"""Tiles are checked before they are served: the operator's own SQL access changes a Merkle node,
an event, a leaf row or the stored checkpoint behind the ledger's back, on SQLite and on
PostgreSQL, and every tile that the change touches is refused with
:class:`StoreIntegrityError`, while the tiles it does not touch are still served unchanged."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest
from logstore_support import (
    SQL_STORES,
    add_log_key,
    create_city,
    register_many,
    retire_log_key,
    sql_execute,
)

from ledger import Ledger, MemoryKeystore, NotFoundError
from ledger.errors import StoreIntegrityError
from ledger.log import leaf_hash, open_checkpoint, parse_entry_bundle, parse_verifier_key

SIZE = 300  # a full level-0 tile, a partial one, and a level-1 tile of one hash
HASH = 32
FORGED = hashlib.sha256(b"forged").digest()


@pytest.fixture(params=SQL_STORES)
def signed(
    request: pytest.FixtureRequest,
    store_url_for: Callable[[str], str],
    open_ledger: Callable[..., Ledger],
) -> Ledger:
    """A ledger of ``SIZE`` leaves with a checkpoint signed over all of them."""
    ledger = open_ledger(store_url_for(request.param))
    create_city(ledger)
    register_many(ledger, SIZE - ledger.log_size(), "fill")
    assert ledger.log_size() == SIZE
    ledger.log.sign_checkpoint()
    return ledger


def every_tile(ledger: Ledger) -> dict[str, bytes | type[StoreIntegrityError]]:
    """What each tile of the ``SIZE``-leaf tree reads as now: its bytes, or the integrity error."""
    reads: dict[str, Callable[[], bytes]] = {
        "0/000": lambda: ledger.log.hash_tile(0, 0),
        "0/001.p/44": lambda: ledger.log.hash_tile(0, 1, 44),
        "1/000.p/1": lambda: ledger.log.hash_tile(1, 0, 1),
        "entries/000": lambda: ledger.log.entry_tile(0),
        "entries/001.p/44": lambda: ledger.log.entry_tile(1, 44),
    }
    seen: dict[str, bytes | type[StoreIntegrityError]] = {}
    for path, read in reads.items():
        try:
            seen[path] = read()
        except StoreIntegrityError:
            seen[path] = StoreIntegrityError
    return seen


def event_id_column(ledger: Ledger) -> str:
    return "rowid" if ledger.store.kind == "sqlite" else "notification_id"


def events_table(ledger: Ledger) -> str:
    return str(ledger._recorder.events_table_name)  # type: ignore[attr-defined]


def test_an_untouched_store_serves_every_tile(signed: Ledger) -> None:
    tiles = every_tile(signed)
    assert all(isinstance(data, bytes) for data in tiles.values()), tiles
    entries = parse_entry_bundle(tiles["entries/000"])  # type: ignore[arg-type]
    assert tiles["0/000"] == b"".join(leaf_hash(entry) for entry in entries)


def test_an_edited_leaf_hash_fails_its_hash_tile_and_its_entry_bundle(signed: Ledger) -> None:
    before = every_tile(signed)
    changed = sql_execute(
        signed, "UPDATE {schema}.ledger_log_nodes SET hash=%s WHERE level=0 AND idx=%s", (FORGED, 7)
    )
    assert changed == 1
    after = every_tile(signed)
    assert after["0/000"] is StoreIntegrityError
    assert after["entries/000"] is StoreIntegrityError
    for path in ("0/001.p/44", "1/000.p/1", "entries/001.p/44"):  # not derived from leaf 7
        assert after[path] == before[path]


def test_an_edited_event_with_its_leaf_hash_recomputed_fails_both_tiles(signed: Ledger) -> None:
    """The careful operator rewrites the event and its leaf hash to match: the stored tree no
    longer rebuilds the signed root, so neither tile holding the leaf is served."""
    leaf = 260
    state = signed.log.entry(leaf)
    forged = state.replace(b'"org-a"', b'"org-b"', 1)
    assert forged != state
    column = event_id_column(signed)
    assert (
        sql_execute(
            signed,
            f"UPDATE {{schema}}.{events_table(signed)} SET state=%s WHERE {column} = "
            "(SELECT notification_id FROM {schema}.ledger_log_leaves WHERE leaf_index=%s)",
            (forged, leaf),
        )
        == 1
    )
    assert (
        sql_execute(
            signed,
            "UPDATE {schema}.ledger_log_nodes SET hash=%s WHERE level=0 AND idx=%s",
            (leaf_hash(forged), leaf),
        )
        == 1
    )
    after = every_tile(signed)
    assert after["0/001.p/44"] is StoreIntegrityError
    assert after["entries/001.p/44"] is StoreIntegrityError
    assert isinstance(after["0/000"], bytes) and isinstance(after["entries/000"], bytes)


def test_an_edited_tile_root_fails_the_tiles_that_rest_on_it(signed: Ledger) -> None:
    # (8, 0) is the one hash of tile 1/000.p/1 and a node beside tile 0/001.
    sql_execute(
        signed, "UPDATE {schema}.ledger_log_nodes SET hash=%s WHERE level=8 AND idx=0", (FORGED,)
    )
    after = every_tile(signed)
    assert after["1/000.p/1"] is StoreIntegrityError
    assert after["0/001.p/44"] is StoreIntegrityError
    assert after["entries/001.p/44"] is StoreIntegrityError
    assert isinstance(after["0/000"], bytes)  # its own hashes still rebuild the signed root


def test_a_deleted_leaf_in_the_middle_fails_its_entry_bundle(signed: Ledger) -> None:
    before = every_tile(signed)
    sql_execute(signed, "DELETE FROM {schema}.ledger_log_leaves WHERE leaf_index=%s", (100,))
    assert signed.log.size() == SIZE  # the size alone does not show it
    with pytest.raises(StoreIntegrityError, match="leaf 100 is missing"):
        signed.log.entry_tile(0)
    assert signed.log.hash_tile(0, 0) == before["0/000"]  # the hashes themselves are intact
    # The leaf itself, and its receipt, are integrity failures too, not "not found".
    with pytest.raises(StoreIntegrityError, match="leaf 100 is missing"):
        signed.event_at(100)
    with pytest.raises(StoreIntegrityError, match="leaf 100 is missing"):
        signed.log.receipt(100)
    with pytest.raises(NotFoundError):
        signed.event_at(SIZE)
    assert signed.event_at(101).leaf_index == 101


def test_deleted_last_leaves_fail_the_tiles_the_checkpoint_covered(signed: Ledger) -> None:
    for table, column in (("ledger_log_leaves", "leaf_index"), ("ledger_log_nodes", "idx")):
        where = f"{column} >= %s" + (" AND level = 0" if table == "ledger_log_nodes" else "")
        sql_execute(signed, f"DELETE FROM {{schema}}.{table} WHERE {where}", (SIZE - 4,))
    assert signed.log.size() == SIZE - 4
    with pytest.raises(StoreIntegrityError, match="removed"):  # the checkpoint had it
        signed.event_at(SIZE - 1)
    with pytest.raises(StoreIntegrityError, match="removed"):
        signed.log.hash_tile(0, 1, 44)
    with pytest.raises(StoreIntegrityError, match="removed"):
        signed.log.entry_tile(1, 44)
    assert isinstance(signed.log.hash_tile(0, 0), bytes)


def test_a_forged_checkpoint_note_fails_every_tile(signed: Ledger) -> None:
    note = signed.log.latest()
    assert note is not None
    checkpoint = open_checkpoint(note, parse_verifier_key(signed.log.verifier_keys()[0]))
    root = base64.b64encode(checkpoint.root_hash).decode()
    forged = note.replace(root, base64.b64encode(FORGED).decode(), 1)  # the signature kept
    assert forged != note
    sql_execute(
        signed,
        "UPDATE {schema}.ledger_side SET value=%s WHERE namespace='checkpoint' AND key=%s",
        (forged.encode(), f"{SIZE:020d}"),
    )
    assert set(every_tile(signed).values()) == {StoreIntegrityError}


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_checkpoint_signed_by_a_retired_log_key_still_checks_tiles(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(store_url_for(kind))
    create_city(ledger)
    (old_id,) = ledger.trust_anchors()["log_keys"]
    (old_verifier,) = ledger.trust_anchors()["log_verifiers"]
    ledger.log.sign_checkpoint()
    add_log_key(ledger, "successor")
    retire_log_key(ledger, old_id, "retire")
    size = ledger.log.size()
    register_many(ledger, 3, "after")
    note = ledger.log.latest()
    assert note is not None
    assert open_checkpoint(note, parse_verifier_key(old_verifier)).size < size
    # The newest checkpoint was signed by the retired key alone; tiles it covers still serve.
    assert len(ledger.log.hash_tile(0, 0, 5)) == 5 * HASH
    assert len(parse_entry_bundle(ledger.log.entry_tile(0, 5))) == 5
    # A tile beyond it is checked against a checkpoint signed now by the successor.
    assert len(ledger.log.hash_tile(0, 0, size + 3)) == (size + 3) * HASH
    assert ledger.log.latest() != note


def test_a_tile_beyond_the_log_is_still_not_found(signed: Ledger) -> None:
    with pytest.raises(NotFoundError):
        signed.log.hash_tile(0, 1, 45)
    with pytest.raises(NotFoundError):
        signed.log.entry_tile(1)


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_checkpoint_signed_meanwhile_by_another_writer_is_no_false_alarm(
    kind: str,
    store_url_for: Callable[[str], str],
    open_ledger: Callable[..., Ledger],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process grows the log and signs while this one serves a tile that only the new
    checkpoint covers: the tile is checked against it, not taken for leaves removed."""
    url = store_url_for(kind)
    keystore = MemoryKeystore()
    this, other = open_ledger(url, keystore=keystore), open_ledger(url, keystore=keystore)
    create_city(this)
    this.log.sign_checkpoint()
    size = this.log.size()
    reading, interleaved = this.log.latest, []

    def latest_while_the_other_writer_signs() -> str | None:
        if len(interleaved) < 2:  # just before this process reads the newest checkpoint
            interleaved.append(register_many(other, 5, f"other-{len(interleaved)}"))
            other.log.sign_checkpoint()
        return reading()

    monkeypatch.setattr(this.log, "latest", latest_while_the_other_writer_signs)
    assert len(this.log.hash_tile(0, 0, size + 5)) == (size + 5) * HASH
    assert len(parse_entry_bundle(this.log.entry_tile(0, size + 10))) == size + 10
