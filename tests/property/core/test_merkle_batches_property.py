"""Property: however the events arrive in batches, every store's insert extends the Merkle tree
to exactly the tree built at once from the same leaves (every perfect node, every earlier head),
gives each event the next leaf in order and pairs each leaf with its own event's row.

PostgreSQL computes the nodes of a batch in its insert function, keeping the left siblings
completed within the batch and reading the older ones from the table: batch sizes that cross
many levels at once (up to 130 leaves after a log of up to 200) exercise both."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_testing import empty_store

from ledger.envelope import make_envelope
from ledger.log.merkle import TreeBuilder, leaf_hash
from ledger.storage.records import InsertReceipt

STORES = ["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def event(serial: int) -> StoredEvent:
    body = {"type": "VolunteerRegistered", "data": {"serial": serial}}
    state = make_envelope(body, serial.to_bytes(64, "big"), "2026-03-05T09:00:00Z")
    return StoredEvent(uuid4(), 1 + serial % 3, "t", state)


@pytest.mark.parametrize("kind", STORES)
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(
        st.one_of(st.integers(1, 9), st.integers(10, 130)),
        min_size=1,
        max_size=6,
    ).filter(lambda sizes: sum(sizes) <= 330)
)
def test_batched_inserts_build_the_tree_built_at_once(
    kind: str, tmp_path: Path, batches: list[int]
) -> None:
    builder = TreeBuilder()
    nodes: dict[tuple[int, int], bytes] = {}
    heads: list[tuple[int, bytes]] = []
    stored: list[StoredEvent] = []
    with empty_store(kind, tmp_path) as ledger:
        recorder = ledger._recorder
        for size in batches:
            events = [event(len(stored) + i) for i in range(size)]
            receipt = InsertReceipt()
            ids = recorder.insert_events(events, receipt=receipt)
            assert receipt.leaf_indexes == list(range(len(stored), len(stored) + size))
            assert ids is not None and len(ids) == size and ids == sorted(ids)
            for stored_event in events:
                for level, index, digest in builder.append(leaf_hash(stored_event.state)):
                    nodes[(level, index)] = digest
            stored.extend(events)
            heads.append((builder.size, builder.root()))
        # Each leaf holds its own event: the same originator, version and bytes, in order.
        leaves = recorder.select_leaves(0, len(stored) + 1)
        assert [leaf.leaf_index for leaf in leaves] == list(range(len(stored)))
        assert [(leaf.originator_id, leaf.originator_version, leaf.state) for leaf in leaves] == [
            (e.originator_id, e.originator_version, e.state) for e in stored
        ]
        coordinates = sorted(nodes)
        assert recorder.read_nodes(coordinates) == [nodes[c] for c in coordinates]
        for size, root in heads:
            assert ledger.log.root(size) == root
