"""Reads that keep what they verified, on SQLite and PostgreSQL, against the operator's own SQL:

- a tile or entry bundle (``TransparencyLog.verified_tile``) is checked against a signed
  checkpoint once per process and then served as the bytes that passed: an edit afterwards
  does not change this process's answer, a process opened after the edit refuses the tile, and
  an edit before the first read is refused and leaves nothing kept;
- the event at a leaf (``TransparencyLog.verified_entry``) reuses a verification only for a
  row byte-identical to the one verified: an edited row is verified afresh and refused;
- evidence (``TransparencyLog.inclusion``) reads its proof from the store each time, so an
  edited node on the path is refused even for a leaf proven before;
- the event with its evidence (``Ledger.event_with_inclusion``, what ``GET /leaves/{i}``
  serves) reads the leaf's row and its proof's nodes in one read of the store, with the same
  checks: an edited row, an edited or deleted node and a deleted leaf are all refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from logstore_support import SQL_STORES, create_city, register_many, sql_execute

from ledger import Ledger
from ledger.errors import NotFoundError, StoreIntegrityError, TamperedEventError
from ledger.log import leaf_hash, parse_entry_bundle
from ledger.log.merkle import inclusion_proof_nodes
from ledger.log.tile_cache import ENTRIES

SIZE = 300
FORGED = hashlib.sha256(b"forged").digest()


@pytest.fixture(params=SQL_STORES)
def url(
    request: pytest.FixtureRequest,
    store_url_for: Callable[[str], str],
    open_ledger: Callable[..., Ledger],
) -> str:
    """A store of ``SIZE`` leaves with a checkpoint signed over all of them."""
    made = store_url_for(request.param)
    ledger = open_ledger(made)
    create_city(ledger)
    register_many(ledger, SIZE - ledger.log_size(), "fill")
    ledger.log.sign_checkpoint()
    return made


def edit_node(ledger: Ledger, index: int) -> None:
    """The operator writes a forged hash over leaf ``index``'s node."""
    changed = sql_execute(
        ledger,
        "UPDATE {schema}.ledger_log_nodes SET hash=%s WHERE level=0 AND idx=%s",
        (FORGED, index),
    )
    assert changed == 1


def edit_event(ledger: Ledger, leaf: int, state: bytes) -> None:
    column = "rowid" if ledger.store.kind == "sqlite" else "notification_id"
    table = str(ledger._recorder.events_table_name)  # type: ignore[attr-defined]
    changed = sql_execute(
        ledger,
        f"UPDATE {{schema}}.{table} SET state=%s WHERE {column} = "
        "(SELECT notification_id FROM {schema}.ledger_log_leaves WHERE leaf_index=%s)",
        (state, leaf),
    )
    assert changed == 1


def test_a_full_tile_is_served_as_authenticated_and_refused_by_a_process_opened_later(
    url: str, open_ledger: Callable[..., Ledger]
) -> None:
    serving = open_ledger(url)
    tile = serving.log.verified_tile(0, 0)
    bundle = serving.log.verified_tile(ENTRIES, 0)
    partial = serving.log.verified_tile(0, 1, SIZE - 256)  # a tile of given width never changes
    assert partial.data == serving.log.hash_tile(0, 1, SIZE - 256)
    assert tile.data == serving.log.hash_tile(0, 0)  # what the per-call check serves
    assert tile.data == b"".join(leaf_hash(e) for e in parse_entry_bundle(bundle.data))
    edit_node(serving, 3)
    edit_event(serving, 9, b'{"forged": true}')
    assert serving.log.verified_tile(0, 0) == tile  # the bytes that passed, not the edit
    assert serving.log.verified_tile(ENTRIES, 0) == bundle
    assert FORGED not in serving.log.verified_tile(0, 0).data
    edit_node(serving, 260)
    assert serving.log.verified_tile(0, 1, SIZE - 256) == partial
    later = open_ledger(url)
    with pytest.raises(StoreIntegrityError):
        later.log.verified_tile(0, 0)
    with pytest.raises(StoreIntegrityError):
        later.log.verified_tile(ENTRIES, 0)
    with pytest.raises(StoreIntegrityError):
        later.log.verified_tile(0, 1, SIZE - 256)
    assert len(later.log.verified_tiles) == 0  # a refused tile is never kept
    with pytest.raises(StoreIntegrityError):  # and the per-call check sees the edit too
        serving.log.hash_tile(0, 0)


def test_a_tile_edited_before_its_first_read_is_refused_every_time(
    url: str, open_ledger: Callable[..., Ledger]
) -> None:
    serving = open_ledger(url)
    edit_node(serving, 200)
    for _ in range(2):
        with pytest.raises(StoreIntegrityError):
            serving.log.verified_tile(0, 0)
    assert serving.log.verified_tiles.get((0, 0, 256)) is None


def test_an_event_verified_once_is_verified_afresh_once_its_row_changes(
    url: str, open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(url)
    verify = ledger._app.signed_mapper.verify
    calls: list[int] = []

    def counting(stored):  # type: ignore[no-untyped-def]
        calls.append(1)
        return verify(stored)

    first = ledger.log.verified_entry(42, counting)
    assert ledger.log.verified_entry(42, counting) is first and len(calls) == 1
    state = ledger.log.entry(42)
    forged = state.replace(b'"org-a"', b'"org-b"', 1)
    assert forged != state
    edit_event(ledger, 42, forged)
    with pytest.raises(TamperedEventError):
        ledger.log.verified_entry(42, counting)
    assert len(calls) == 2
    edit_event(ledger, 42, state)  # put back: the same bytes verify again
    assert ledger.log.verified_entry(42, counting).envelope == first.envelope


def test_evidence_reads_its_proof_each_time_and_refuses_an_edited_path(
    url: str, open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(url)
    event = ledger.log.verified_entry(5, ledger._app.signed_mapper.verify)
    included = ledger.log.inclusion(5, event.leaf_hash)
    assert included.size == SIZE and included.proof
    edit_node(ledger, 4)  # leaf 5's first step
    with pytest.raises(StoreIntegrityError):
        ledger.log.inclusion(5, event.leaf_hash)
    with pytest.raises(StoreIntegrityError):  # a wrong leaf hash never proves either
        ledger.log.inclusion(200, FORGED)


class ReadCounter:
    """Counts the recorder's log reads on a ledger (wrapping the methods on its recorder)."""

    def __init__(self, ledger: Ledger) -> None:
        self.calls: list[str] = []
        recorder = ledger.log._recorder
        for name in ("select_leaves", "read_nodes", "select_leaf_and_nodes"):
            original = getattr(recorder, name)
            setattr(recorder, name, self._counting(name, original))

    def _counting(self, name: str, original: Callable[..., object]) -> Callable[..., object]:
        def counted(*args: object) -> object:
            self.calls.append(name)
            return original(*args)

        return counted


def test_an_event_with_its_inclusion_is_one_read_and_matches_the_two_reads(
    url: str, open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(url)
    expected = ledger.event_at(123)
    expected_inclusion = ledger.log.inclusion(123, expected.leaf_hash)  # reads the checkpoint
    reads = ReadCounter(ledger)
    for leaf in (123, 0, SIZE - 1):
        event, included = ledger.event_with_inclusion(leaf)
        assert event.leaf_index == leaf and event.envelope == ledger.log.entry(leaf)
        assert included.proof == ledger.log.inclusion_proof(leaf, SIZE)
        assert included.size == SIZE and included.note == expected_inclusion.note
    assert reads.calls[:1] == ["select_leaf_and_nodes"]
    assert reads.calls.count("select_leaf_and_nodes") == 3
    assert ledger.event_with_inclusion(123)[0] is ledger.event_at(123)  # verified once


def test_an_event_with_its_inclusion_refuses_every_edit_on_the_one_read(
    url: str, open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(url)
    ledger.event_with_inclusion(42)  # the checkpoint is read: the next reads are fused
    state = ledger.log.entry(42)
    edit_event(ledger, 42, state.replace(b'"org-a"', b'"org-b"', 1))
    with pytest.raises(TamperedEventError):
        ledger.event_with_inclusion(42)
    edit_event(ledger, 42, state)
    ledger.event_with_inclusion(42)
    edit_node(ledger, 43)  # leaf 42's first step
    with pytest.raises(StoreIntegrityError):
        ledger.event_with_inclusion(42)
    edit_node(ledger, 42)  # the leaf's own stored hash: the row no longer matches its leaf
    with pytest.raises((StoreIntegrityError, TamperedEventError)):
        ledger.event_with_inclusion(42)
    level, idx = inclusion_proof_nodes(202, SIZE)[-1]  # a node on leaf 202's path
    assert level >= 1
    statement = "DELETE FROM {schema}.ledger_log_nodes WHERE level=%s AND idx=%s"
    assert sql_execute(ledger, statement, (level, idx)) == 1
    with pytest.raises(StoreIntegrityError, match="missing"):
        ledger.event_with_inclusion(202)
    assert sql_execute(ledger, "DELETE FROM {schema}.ledger_log_leaves WHERE leaf_index=7")
    with pytest.raises(StoreIntegrityError, match="leaf 7 is missing"):
        ledger.event_with_inclusion(7)
    with pytest.raises(NotFoundError):
        ledger.event_with_inclusion(SIZE + 5)
    with pytest.raises(NotFoundError):  # as event_at answers
        ledger.event_with_inclusion(-1)
