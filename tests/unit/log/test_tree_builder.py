"""The incremental tree builder: same root however it is built, resumed or stored."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from log_helpers import NodeStore, build, mth

from ledger.errors import InvalidInputError
from ledger.log.merkle import EMPTY_ROOT, TreeBuilder, leaf_hash, node_hash, root_hash


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=6), max_size=90))
def test_incremental_root_equals_the_root_built_at_once(leaves: list[bytes]) -> None:
    store = NodeStore()
    builder = TreeBuilder()
    for count, data in enumerate(leaves, start=1):
        store.add(builder.append(leaf_hash(data)))
        assert builder.size == count
        assert builder.root() == mth(leaves[:count])
    assert builder.root() == root_hash(len(leaves), store.reader)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=6), max_size=90), st.data())
def test_add_builds_the_tree_append_builds(leaves: list[bytes], data: st.DataObject) -> None:
    """``add`` (the audit's, which returns nothing) and ``append`` mixed in any order keep the
    same frontier and root as ``append`` alone."""
    mixed, appended = TreeBuilder(), TreeBuilder()
    for item in leaves:
        digest = leaf_hash(item)
        if data.draw(st.booleans()):
            mixed.add(digest)
        else:
            mixed.append(digest)
        appended.append(digest)
        assert (mixed.size, mixed.frontier, mixed.root()) == (
            appended.size,
            appended.frontier,
            appended.root(),
        )
    assert mixed.root() == mth(leaves)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=6), min_size=1, max_size=90), st.data())
def test_builder_resumed_from_its_frontier_continues_the_same_tree(
    leaves: list[bytes], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(leaves)))
    store, _ = build(leaves[:cut])
    resumed = TreeBuilder.from_frontier(cut, store.reader)
    assert resumed.size == cut
    for item in leaves[cut:]:
        store.add(resumed.append(leaf_hash(item)))
    _, whole = build(leaves)
    assert resumed.root() == whole.root()
    assert resumed.frontier == whole.frontier


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=4), min_size=1, max_size=70))
def test_append_reports_exactly_the_perfect_nodes_it_completes(leaves: list[bytes]) -> None:
    builder = TreeBuilder()
    seen: dict[tuple[int, int], bytes] = {}
    for position, data in enumerate(leaves):
        completed = builder.append(leaf_hash(data))
        assert completed[0] == (0, position, leaf_hash(data))
        for level, index, digest in completed:
            assert (level, index) not in seen
            assert (index + 1) << level == position + 1
            seen[(level, index)] = digest
            if level:
                assert digest == node_hash(
                    seen[(level - 1, 2 * index)], seen[(level - 1, 2 * index + 1)]
                )
    size = len(leaves)
    expected = sum(size >> level for level in range(size.bit_length()))
    assert len(seen) == expected


def test_empty_builder_has_the_empty_root() -> None:
    assert TreeBuilder().root() == EMPTY_ROOT
    assert TreeBuilder.from_frontier(0, NodeStore().reader).root() == EMPTY_ROOT


def test_builder_refuses_anything_but_a_leaf_hash() -> None:
    with pytest.raises(InvalidInputError):
        TreeBuilder().append(b"not a hash")
