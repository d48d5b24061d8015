"""Inclusion and consistency proofs served from the stored nodes verify for every (index, size)
and every (old, new) of a small ledger, and cost one node read each, never a rebuild."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from logstore_support import from_scratch, leaf_states, register_many

from ledger import InvalidInputError, Ledger, NotFoundError
from ledger.errors import ConsistencyProofError, InclusionProofError
from ledger.log.merkle import leaf_hash, verify_consistency, verify_inclusion

City = tuple[Ledger, dict[str, str]]
FORGED_ROOT = leaf_hash(b"a history that was never logged")


class CountingReader:
    """Wraps a recorder's ``read_nodes``: counts calls and the nodes asked for."""

    def __init__(self, ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
        self.inner = ledger._recorder.read_nodes
        self.calls: list[int] = []
        monkeypatch.setattr(ledger._recorder, "read_nodes", self)

    def __call__(self, coordinates: Sequence[tuple[int, int]]) -> list[bytes]:
        self.calls.append(len(coordinates))
        return self.inner(coordinates)

    def reset(self) -> None:
        self.calls.clear()


@pytest.fixture
def small(city: City) -> Ledger:
    """A city with 20 leaves: odd sizes, powers of two and everything between."""
    ledger, _ = city
    register_many(ledger, 20 - ledger.log_size(), "fill")
    assert ledger.log_size() == 20
    return ledger


def test_every_inclusion_proof_verifies_against_the_root_of_its_size(small: Ledger) -> None:
    ledger = small
    states = leaf_states(ledger)
    for size in range(1, ledger.log.size() + 1):
        root = ledger.log.root(size)
        assert root == from_scratch(states[:size])[0].root()
        for index in range(size):
            proof = ledger.log.inclusion_proof(index, size)
            verify_inclusion(leaf_hash(ledger.log.entry(index)), index, size, proof, root)


def test_an_inclusion_proof_does_not_prove_another_leaf_or_place(small: Ledger) -> None:
    ledger = small
    size = ledger.log.size()
    root = ledger.log.root()
    proof = ledger.log.inclusion_proof(6, size)
    entry = ledger.log.entry(6)
    with pytest.raises(InclusionProofError):
        verify_inclusion(leaf_hash(ledger.log.entry(7)), 6, size, proof, root)
    with pytest.raises(InclusionProofError):
        verify_inclusion(leaf_hash(entry), 7, size, proof, root)
    with pytest.raises(InclusionProofError):
        verify_inclusion(leaf_hash(entry), 6, size, proof, ledger.log.root(size - 1))
    with pytest.raises(InclusionProofError):
        verify_inclusion(leaf_hash(entry), 6, size, [proof[0][::-1], *proof[1:]], root)


def test_every_consistency_proof_verifies_between_the_roots_of_its_sizes(small: Ledger) -> None:
    ledger = small
    size = ledger.log.size()
    roots = {n: ledger.log.root(n) for n in range(size + 1)}
    for new in range(1, size + 1):
        for old in range(1, new + 1):
            proof = ledger.log.consistency_proof(old, new)
            verify_consistency(old, new, roots[old], roots[new], proof)
            if old < new:
                with pytest.raises(ConsistencyProofError):
                    verify_consistency(old, new, FORGED_ROOT, roots[new], proof)
                with pytest.raises(ConsistencyProofError):
                    verify_consistency(old, new, roots[old], FORGED_ROOT, proof)
    assert ledger.log.consistency_proof(0, size) == []


def test_proofs_read_the_stored_nodes_once_and_only_logarithmically_many(
    small: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = small
    register_many(ledger, 300 - ledger.log_size(), "more")
    size = ledger.log.size()
    reader = CountingReader(ledger, monkeypatch)
    bound = 2 * size.bit_length() + 2
    for index in (0, 1, 137, 255, 256, size - 1):
        reader.reset()
        proof = ledger.log.inclusion_proof(index, size)
        assert len(reader.calls) == 1, f"inclusion proof of {index} read nodes {reader.calls}"
        assert reader.calls[0] <= bound
        verify_inclusion(leaf_hash(ledger.log.entry(index)), index, size, proof, ledger.log.root())
    for old in (1, 2, 3, 100, 256, 257, size - 1):
        reader.reset()
        proof = ledger.log.consistency_proof(old, size)
        assert len(reader.calls) == 1, f"consistency proof from {old} read nodes {reader.calls}"
        assert reader.calls[0] <= bound
    reader.reset()
    ledger.log.root()
    assert len(reader.calls) == 1
    assert reader.calls[0] <= size.bit_length()


def test_a_one_leaf_tree_needs_no_nodes_for_its_empty_proof(city: City) -> None:
    ledger, _ = city
    assert ledger.log.inclusion_proof(0, 1) == []
    assert ledger.log.root(1) == leaf_hash(ledger.log.entry(0))


def test_proofs_outside_the_log_are_refused(small: Ledger) -> None:
    ledger = small
    size = ledger.log.size()
    with pytest.raises(InvalidInputError):
        ledger.log.inclusion_proof(0, size + 1)
    with pytest.raises(NotFoundError):
        ledger.log.inclusion_proof(size, size)
    with pytest.raises(InvalidInputError):
        ledger.log.consistency_proof(5, 4)
    with pytest.raises(InvalidInputError):
        ledger.log.consistency_proof(1, size + 1)
    with pytest.raises(InvalidInputError):
        ledger.log.root(size + 1)
    with pytest.raises(NotFoundError):
        ledger.log.entry(size)
