"""Subtree proofs of the IETF Merkle Tree Certificates draft, checked as transparency-dev does.

A subtree ``[start, end)`` is a node of every tree that contains it: it is non-empty and starts at
a multiple of the smallest power of two at least its width. The ledger does not issue subtree
proofs; it verifies them so that the whole transparency-dev conformance suite runs against this
package, and so that a later move to subtree cosignatures finds the checks already in place.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ConsistencyProofError, InclusionProofError
from .merkle import EMPTY_ROOT, _check_count, _check_hashes, node_hash, verify_inclusion


def is_valid_subtree(start: int, end: int) -> bool:
    """Whether ``[start, end)`` is a subtree in the sense of the Merkle Tree Certificates draft.

    It must be non-empty and start at a multiple of the smallest power of two that is at least
    its width, so that it is a node of every tree that contains it, perfect or not.
    """
    if start >= end or start < 0:
        return False
    width = 1 << (end - start - 1).bit_length()
    return start % width == 0


def verify_subtree_inclusion(
    leaf_hash: bytes, index: int, start: int, end: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Return None if ``proof`` shows ``leaf_hash`` at ``index`` in the subtree ``[start, end)``."""
    if not is_valid_subtree(_check_count(start, "start"), _check_count(end, "end")):
        raise InclusionProofError(f"[{start}, {end}) is not a valid subtree")
    if not start <= _check_count(index, "leaf index") < end:
        raise InclusionProofError(f"leaf index {index} is outside the subtree [{start}, {end})")
    verify_inclusion(leaf_hash, index - start, end - start, proof, root)


def _verify_empty_subtree(proof: Sequence[bytes], subtree_root: bytes) -> None:
    """An empty subtree is part of every tree, so only its own root and proof can be wrong."""
    if proof:
        raise ConsistencyProofError("the subtree is empty but the proof is not")
    if subtree_root != EMPTY_ROOT:
        raise ConsistencyProofError("the subtree is empty but its root is not the empty root")


def verify_subtree_consistency(
    start: int, end: int, size: int, proof: Sequence[bytes], subtree_root: bytes, root: bytes
) -> None:
    """Return None if ``proof`` shows the subtree ``[start, end)`` sits in the tree of ``size``.

    Follows the subtree consistency verification of the Merkle Tree Certificates draft, with the
    same edge cases as transparency-dev/merkle: an empty subtree ``[start, start)`` is consistent
    with any tree when its root is ``EMPTY_ROOT`` and the proof is empty.
    """
    _check_count(size, "tree size")
    if _check_count(end, "end") > size:
        raise ConsistencyProofError(f"subtree end {end} is beyond tree size {size}")
    if _check_count(start, "start") == end:
        _verify_empty_subtree(proof, subtree_root)
        return
    if not is_valid_subtree(start, end):
        raise ConsistencyProofError(f"[{start}, {end}) is not a valid subtree")
    if start == 0 and end == size:
        if proof:
            raise ConsistencyProofError("the subtree is the whole tree but the proof is not empty")
        if subtree_root != root:
            raise ConsistencyProofError("the subtree is the whole tree but the roots differ")
        return
    if not proof:
        raise ConsistencyProofError("empty proof")
    _check_hashes(proof, ConsistencyProofError)
    fn, sn, tn = start, end - 1, size - 1
    flush = sn == tn
    while fn != sn and (flush or sn & 1):
        fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    rest: Sequence[bytes] = proof
    if fn == sn:
        fr = sr = subtree_root
    else:
        fr = sr = proof[0]
        rest = proof[1:]
    for sibling in rest:
        if tn == 0:
            raise ConsistencyProofError("proof is longer than the tree is high")
        if sn & 1 or sn == tn:
            if fn < sn:
                fr = node_hash(sibling, fr)
            sr = node_hash(sibling, sr)
            while not sn & 1:
                fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
        else:
            sr = node_hash(sr, sibling)
        fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    if tn != 0:
        raise ConsistencyProofError("proof is shorter than the tree is high")
    if fr != subtree_root:
        raise ConsistencyProofError(f"proof does not lead to the root of [{start}, {end})")
    if sr != root:
        raise ConsistencyProofError(f"proof does not lead to the root of the tree of size {size}")
