"""Every stored event is exactly one leaf of the Merkle log, and the tree the recorders extend in
the insert transaction is the tree of those leaves, on every store and across restarts."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from logstore_support import (
    SQL_STORES,
    create_city,
    from_scratch,
    leaf_states,
    register_many,
)

from ledger import Ledger, MemoryKeystore
from ledger.canonical import parse_json
from ledger.log.merkle import leaf_hash
from ledger.writer import CommandResult

City = tuple[Ledger, dict[str, str]]


def run_some_commands(ledger: Ledger, number: str, tag: str) -> list[CommandResult]:
    """A mix of one-event and many-event commands, by two organisations."""
    results = [
        ledger.register_volunteer("org-a", idempotency_key=f"{tag}-v1"),
        ledger.give_consent(
            "org-a", number=number, purpose="certificate-name", idempotency_key=f"{tag}-c"
        ),
        register_many(ledger, 7, f"{tag}-many"),
        ledger.register_volunteer("org-b", idempotency_key=f"{tag}-v2"),
        register_many(ledger, 3, f"{tag}-few", org="org-b"),
    ]
    asked = ledger.request_agreement(
        "org-b", number=number, rights=["membership"], idempotency_key=f"{tag}-ask"
    )
    ledger.grant_agreement(
        "org-a",
        number=number,
        agreement_id=asked.value.agreement_id,
        idempotency_key=f"{tag}-grant",
    )
    ledger.join("org-b", number=number, idempotency_key=f"{tag}-join")
    ledger.leave("org-b", number=number, idempotency_key=f"{tag}-leave")
    return results


def test_every_stored_event_has_exactly_one_leaf_at_contiguous_indexes(city: City) -> None:
    ledger, person = city
    run_some_commands(ledger, person["number"], "a")
    notifications = ledger._recorder.select_notifications(1, 10**6)
    leaves = ledger._recorder.select_leaves(0, 10**6)

    assert ledger.log.size() == ledger.log_size() == len(notifications) == len(leaves)
    assert [leaf.leaf_index for leaf in leaves] == list(range(len(leaves)))
    assert sorted(n.leaf_index for n in notifications) == list(range(len(notifications)))
    # One leaf per stored event, no event twice, and the leaf carries that event's bytes.
    by_id = {n.id: n for n in notifications}
    assert sorted(leaf.id for leaf in leaves) == sorted(by_id)
    for leaf in leaves:
        assert leaf.state == by_id[leaf.id].state
        assert by_id[leaf.id].leaf_index == leaf.leaf_index
    # One writer: the log order is the commit order.
    ids = [leaf.id for leaf in leaves]
    assert ids == sorted(ids)


def test_leaf_data_is_the_stored_envelope_and_its_hash_is_recomputable(city: City) -> None:
    ledger, person = city
    run_some_commands(ledger, person["number"], "a")
    leaves = ledger._recorder.select_leaves(0, 10**6)
    stored_leaf_hashes = ledger._recorder.read_nodes([(0, i) for i in range(len(leaves))])
    for leaf, stored_hash in zip(leaves, stored_leaf_hashes, strict=True):
        entry = ledger.log.entry(leaf.leaf_index)
        assert entry == leaf.state
        envelope = parse_json(entry)
        assert set(envelope) == {"body", "signature", "recorded_at"}
        assert envelope["body"]["aggregate_id"] == str(leaf.originator_id)
        assert envelope["body"]["aggregate_version"] == leaf.originator_version
        recomputed = hashlib.sha256(b"\x00" + entry).digest()
        assert leaf.leaf_hash == stored_hash == recomputed == leaf_hash(entry)
        event = ledger.event_at(leaf.leaf_index)  # verifies the signature on the way out
        assert event.envelope == entry
        assert event.leaf_hash == recomputed


def test_command_results_report_the_leaf_index_each_event_got(city: City) -> None:
    ledger, person = city
    results = run_some_commands(ledger, person["number"], "a")
    refs = [ref for result in results for ref in result.events]
    assert len(refs) == 2 + 7 + 1 + 3
    many = results[2].events
    assert [r.leaf_index for r in many] == list(
        range(many[0].leaf_index, many[0].leaf_index + 7)
    ), "the events of one command get consecutive leaves, in the order they were staged"
    for ref in refs:
        leaf = ledger._recorder.select_leaves(ref.leaf_index, 1)[0]
        assert leaf.leaf_index == ref.leaf_index
        assert leaf.id == ref.notification_id
        body = parse_json(ledger.log.entry(ref.leaf_index))["body"]
        assert (body["aggregate_id"], body["aggregate_version"], body["type"]) == (
            ref.aggregate_id,
            ref.version,
            ref.type,
        )
    assert len({r.leaf_index for r in refs}) == len(refs)


def test_a_replayed_command_reports_the_leaves_of_the_first_run(city: City) -> None:
    ledger, _ = city
    first = register_many(ledger, 4, "replayed")
    size = ledger.log_size()
    again = register_many(ledger, 4, "replayed-other-key")
    assert not again.replayed
    retry = ledger.register_volunteer("org-a", idempotency_key="vol-1")
    assert retry.replayed
    assert ledger.log_size() == size + 4
    assert [r.leaf_index for r in first.events] == list(range(size - 4, size))
    assert retry.events[0].leaf_index == 5  # the conftest city's volunteer: the sixth event


def test_the_incremental_tree_has_the_root_of_a_tree_built_at_once(city: City) -> None:
    ledger, person = city
    sizes_and_roots = [(ledger.log.size(), ledger.log.root())]
    for round_number in range(4):
        run_some_commands(ledger, person["number"], f"r{round_number}")
        sizes_and_roots.append((ledger.log.size(), ledger.log.root()))
    states = leaf_states(ledger)
    builder, nodes = from_scratch(states)
    assert builder.size == ledger.log.size()
    assert builder.root() == ledger.log.root()
    # Every perfect node the recorder stored is the node of the tree built at once...
    coordinates = sorted(nodes)
    assert ledger._recorder.read_nodes(coordinates) == [nodes[c] for c in coordinates]
    # ...and every earlier tree head is still the head of that prefix of the leaves.
    for size, root in sizes_and_roots:
        assert from_scratch(states[:size])[0].root() == root == ledger.log.root(size)


def test_a_leaf_read_with_nodes_is_the_leaf_and_the_nodes_each_read_alone(city: City) -> None:
    ledger, person = city
    run_some_commands(ledger, person["number"], "fused")
    recorder = ledger._recorder
    size = ledger.log.size()
    _, nodes = from_scratch(leaf_states(ledger))
    for leaf in (0, size // 2, size - 1):
        wanted = [(0, leaf), (1, leaf // 2), (2, 0), (9, 0), (0, size + 3)]  # the last two: none
        found, read = recorder.select_leaf_and_nodes(leaf, wanted)
        alone = recorder.select_leaves(leaf, 1)[0]
        assert found is not None
        assert (found.leaf_index, found.leaf_hash, found.state, found.id) == (
            alone.leaf_index,
            alone.leaf_hash,
            alone.state,
            alone.id,
        )
        assert (found.originator_id, found.originator_version, found.topic) == (
            alone.originator_id,
            alone.originator_version,
            alone.topic,
        )
        assert read == {pair: nodes[pair] for pair in wanted if pair in nodes}
        assert (9, 0) not in read and (0, size + 3) not in read
    assert recorder.select_leaf_and_nodes(size + 1, [(0, 0)]) == (None, {(0, 0): nodes[(0, 0)]})
    assert recorder.select_leaf_and_nodes(0, [])[1] == {}


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_tree_extended_across_restarts_and_ledger_objects_matches_one_built_at_once(
    kind: str, store_url_for: Callable[[str], str]
) -> None:
    url = store_url_for(kind)
    keystore = MemoryKeystore()
    with Ledger(url, keystore=keystore) as ledger:
        number = create_city(ledger)["number"]
        heads = [(ledger.log.size(), ledger.log.root())]
    for restart in range(4):
        # Two ledgers on the same store, writing in turn, then both closed: a restart.
        with Ledger(url, keystore=keystore) as first, Ledger(url, keystore=keystore) as second:
            run_some_commands(first, number, f"first{restart}")
            register_many(second, 5 + restart, f"second{restart}")
            first.register_volunteer("org-b", idempotency_key=f"first{restart}-after")
            assert first.log.root() == second.log.root()
            heads.append((second.log.size(), second.log.root()))
    with Ledger(url, keystore=keystore) as ledger:
        states = leaf_states(ledger)
        assert (
            len(states) == ledger.log.size() == len(ledger._recorder.select_notifications(1, 10**6))
        )
        builder, nodes = from_scratch(states)
        assert builder.root() == ledger.log.root()
        coordinates = sorted(nodes)
        assert ledger._recorder.read_nodes(coordinates) == [nodes[c] for c in coordinates]
        for size, root in heads:
            assert ledger.log.root(size) == root == from_scratch(states[:size])[0].root()


def test_the_log_of_a_sqlite_file_survives_reopening_byte_for_byte(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    keystore = MemoryKeystore()
    with Ledger(url, keystore=keystore) as ledger:
        create_city(ledger)
        register_many(ledger, 20, "before")
        before = leaf_states(ledger), ledger.log.root()
    with Ledger(url, keystore=keystore) as ledger:
        assert (leaf_states(ledger), ledger.log.root()) == before
