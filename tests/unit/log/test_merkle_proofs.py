"""Inclusion and consistency proofs: they verify if and only if they describe the real tree."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from log_helpers import build, mth, path, proof

from ledger.errors import ConsistencyProofError, InclusionProofError, InvalidInputError
from ledger.log import merkle

# Distinct leaves: with repeated ones another index can honestly hold the same leaf.
leaves_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=70, unique=True)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int, int]:
    leaves = draw(leaves_lists)
    size = draw(st.integers(1, len(leaves)))
    return leaves, size, draw(st.integers(0, size - 1))


@st.composite
def tree_and_sizes(draw: st.DrawFn) -> tuple[list[bytes], int, int]:
    leaves = draw(leaves_lists)
    new = draw(st.integers(1, len(leaves)))
    return leaves, draw(st.integers(1, new)), new


def _flip(digest: bytes, bit: int) -> bytes:
    return bytes([digest[0] ^ (1 << (bit % 8))]) + digest[1:]


@settings(max_examples=80, deadline=None)
@given(tree_and_index())
def test_inclusion_proof_is_rfc_path_and_verifies(case: tuple[list[bytes], int, int]) -> None:
    leaves, size, index = case
    store, _ = build(leaves)
    generated = merkle.inclusion_proof(index, size, store.reader)
    assert generated == path(index, leaves[:size])
    root = merkle.root_hash(size, store.reader)
    assert root == mth(leaves[:size])
    merkle.verify_inclusion(merkle.leaf_hash(leaves[index]), index, size, generated, root)


@settings(max_examples=80, deadline=None)
@given(tree_and_index(), st.data())
def test_inclusion_proof_fails_when_any_hash_changes(
    case: tuple[list[bytes], int, int], data: st.DataObject
) -> None:
    leaves, size, index = case
    store, _ = build(leaves)
    hashes = merkle.inclusion_proof(index, size, store.reader)
    root = merkle.root_hash(size, store.reader)
    leaf = merkle.leaf_hash(leaves[index])
    bit = data.draw(st.integers(0, 7))
    with pytest.raises(InclusionProofError):
        merkle.verify_inclusion(leaf, index, size, hashes, _flip(root, bit))
    with pytest.raises(InclusionProofError):
        merkle.verify_inclusion(_flip(leaf, bit), index, size, hashes, root)
    if hashes:
        position = data.draw(st.integers(0, len(hashes) - 1))
        changed = [*hashes]
        changed[position] = _flip(changed[position], bit)
        with pytest.raises(InclusionProofError):
            merkle.verify_inclusion(leaf, index, size, changed, root)
        with pytest.raises(InclusionProofError):
            merkle.verify_inclusion(leaf, index, size, hashes[:-1], root)
    with pytest.raises(InclusionProofError):
        merkle.verify_inclusion(leaf, index, size, [*hashes, root], root)


@settings(max_examples=80, deadline=None)
@given(tree_and_index(), st.data())
def test_inclusion_proof_fails_for_another_index_or_size(
    case: tuple[list[bytes], int, int], data: st.DataObject
) -> None:
    """A proof names one leaf position in one tree. (Against the *same* root another size can
    pass when both trees have the same shape up to that leaf: the signed checkpoint, not the
    proof, binds a root to its size, which is why receipts verify the checkpoint first.)"""
    leaves, size, index = case
    store, _ = build(leaves)
    hashes = merkle.inclusion_proof(index, size, store.reader)
    root = merkle.root_hash(size, store.reader)
    leaf = merkle.leaf_hash(leaves[index])
    other_index = data.draw(st.integers(0, 2 * size).filter(lambda i: i != index))
    with pytest.raises(InclusionProofError):
        merkle.verify_inclusion(leaf, other_index, size, hashes, root)
    sizes = st.integers(index + 1, len(leaves)).filter(lambda s: s != size)
    if index + 1 < len(leaves):
        other_size = data.draw(sizes)
        other_root = merkle.root_hash(other_size, store.reader)
        with pytest.raises(InclusionProofError):
            merkle.verify_inclusion(leaf, index, other_size, hashes, other_root)


@settings(max_examples=80, deadline=None)
@given(tree_and_sizes())
def test_consistency_proof_is_rfc_proof_and_verifies(case: tuple[list[bytes], int, int]) -> None:
    leaves, old, new = case
    store, _ = build(leaves)
    generated = merkle.consistency_proof(old, new, store.reader)
    assert generated == (proof(old, leaves[:new]) if old != new else [])
    old_root = merkle.root_hash(old, store.reader)
    new_root = merkle.root_hash(new, store.reader)
    merkle.verify_consistency(old, new, old_root, new_root, generated)


@settings(max_examples=80, deadline=None)
@given(tree_and_sizes(), st.data())
def test_consistency_proof_fails_when_any_hash_or_size_changes(
    case: tuple[list[bytes], int, int], data: st.DataObject
) -> None:
    leaves, old, new = case
    store, _ = build(leaves)
    hashes = merkle.consistency_proof(old, new, store.reader)
    old_root = merkle.root_hash(old, store.reader)
    new_root = merkle.root_hash(new, store.reader)
    bit = data.draw(st.integers(0, 7))
    with pytest.raises(ConsistencyProofError):
        merkle.verify_consistency(old, new, _flip(old_root, bit), new_root, hashes)
    with pytest.raises(ConsistencyProofError):
        merkle.verify_consistency(old, new, old_root, _flip(new_root, bit), hashes)
    if hashes:
        position = data.draw(st.integers(0, len(hashes) - 1))
        changed = [*hashes]
        changed[position] = _flip(changed[position], bit)
        with pytest.raises(ConsistencyProofError):
            merkle.verify_consistency(old, new, old_root, new_root, changed)
    if new > 1:
        other_old = data.draw(st.integers(1, new).filter(lambda s: s != old))
        other_root = merkle.root_hash(other_old, store.reader)
        with pytest.raises(ConsistencyProofError):
            merkle.verify_consistency(other_old, new, other_root, new_root, hashes)
    if new < len(leaves):
        other_new = data.draw(st.integers(new + 1, len(leaves)))
        other_root = merkle.root_hash(other_new, store.reader)
        with pytest.raises(ConsistencyProofError):
            merkle.verify_consistency(old, other_new, old_root, other_root, hashes)


def test_consistency_proof_refuses_a_rewritten_history() -> None:
    honest, _ = build([b"a", b"b", b"c", b"d", b"e"])
    forked, _ = build([b"a", b"X", b"c", b"d", b"e"])
    old_root = merkle.root_hash(3, honest.reader)
    with pytest.raises(ConsistencyProofError, match="old root"):
        merkle.verify_consistency(
            3,
            5,
            old_root,
            merkle.root_hash(5, forked.reader),
            merkle.consistency_proof(3, 5, forked.reader),
        )


def test_proof_generation_reads_storage_once() -> None:
    store, _ = build([i.to_bytes(2, "big") for i in range(1000)])
    store.calls = 0
    merkle.inclusion_proof(417, 1000, store.reader)
    merkle.consistency_proof(333, 1000, store.reader)
    merkle.root_hash(999, store.reader)
    assert store.calls == 3


def test_proof_generation_asks_only_for_perfect_nodes() -> None:
    store, _ = build([bytes([i]) for i in range(77)])
    asked: list[tuple[int, int]] = []

    def reader(nodes: list[tuple[int, int]]) -> list[bytes]:
        asked.extend(nodes)
        return store.read(nodes)

    merkle.consistency_proof(13, 77, reader)
    merkle.inclusion_proof(5, 77, reader)
    assert all((index + 1) << level <= 77 for level, index in asked)


def test_frontier_nodes_cover_the_tree_left_to_right() -> None:
    assert merkle.frontier_nodes(0) == []
    assert merkle.frontier_nodes(1) == [(0, 0)]
    assert merkle.frontier_nodes(13) == [(3, 0), (2, 2), (0, 12)]
    assert merkle.frontier_nodes(256) == [(8, 0)]


def test_proof_requests_outside_the_tree_are_refused() -> None:
    store, _ = build([b"a", b"b"])
    with pytest.raises(InvalidInputError):
        merkle.inclusion_proof(2, 2, store.reader)
    with pytest.raises(InvalidInputError):
        merkle.consistency_proof(3, 2, store.reader)
    with pytest.raises(InvalidInputError):
        merkle.inclusion_proof(-1, 2, store.reader)
    assert merkle.consistency_proof(0, 2, store.reader) == []
    assert merkle.consistency_proof(2, 2, store.reader) == []


def test_hashing_uses_the_rfc_6962_domain_prefixes() -> None:
    assert merkle.LEAF_PREFIX == b"\x00"
    assert merkle.NODE_PREFIX == b"\x01"
    assert merkle.leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert merkle.node_hash(b"L", b"R") != merkle.node_hash(b"R", b"L")
