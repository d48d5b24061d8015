"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and an incremental tree builder.

Every hash a proof or a tile needs is named by a node address ``(level, index)``: the root of the
*perfect* subtree over leaves ``[index * 2**level, (index + 1) * 2**level)``, level 0 being the
leaf hashes. Only perfect nodes are ever stored; the roots of imperfect subtrees (the right edge of
a tree whose size is not a power of two) are recomputed from the perfect nodes that cover them.

Storage answers a :data:`NodeReader` with one query, so proof generation first works out every
node it needs, reads them in one call, then assembles the proof. Verification follows the
algorithms of RFC 9162 sections 2.1.3.2 and 2.1.4.2 and produces the same answers as
transparency-dev/merkle, whose conformance vectors the tests run (the subtree probes among them
are verified by :mod:`.subtree`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from ..errors import (
    ConsistencyProofError,
    InclusionProofError,
    InvalidInputError,
    StorageError,
)

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_TREE_SIZE = 2**64 - 1

Node = tuple[int, int]
NodeReader = Callable[[Sequence[Node]], list[bytes]]
"""Return the hashes of the given perfect nodes, in the order asked, in one storage round trip."""

_Range = tuple[int, int]


def leaf_hash(data: bytes) -> bytes:
    """The RFC 6962 hash of one log entry: SHA-256(0x00 || data)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 6962 hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _check_count(value: int, what: str) -> int:
    """Refuse what cannot be a leaf count or index in a tree of at most 2**64 - 1 leaves."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{what} must be an integer")
    if not 0 <= value <= MAX_TREE_SIZE:
        raise InvalidInputError(f"{what} must be between 0 and 2**64 - 1, got {value}")
    return value


def _largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162: the largest power of two strictly smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[Node]:
    """The maximal perfect nodes that tile leaves ``[start, end)``, left to right."""
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def frontier_nodes(size: int) -> list[Node]:
    """The perfect nodes whose concatenation is the tree of ``size`` leaves, left to right."""
    return range_nodes(0, _check_count(size, "tree size"))


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Hash perfect subtrees of decreasing size, right to left, into the root that covers them."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _nodes_of(ranges: Sequence[_Range]) -> list[Node]:
    """Every stored node the ranges' roots are hashed from, once each, in sorted order."""
    return sorted({node for start, end in ranges for node in range_nodes(start, end)})


def _range_hashes(ranges: Sequence[_Range], read_nodes: NodeReader) -> list[bytes]:
    """Read every node the ranges need in one call, then hash each range into its root."""
    per_range = [range_nodes(start, end) for start, end in ranges]
    wanted = _nodes_of(ranges)
    if not wanted:
        return []
    found = read_nodes(wanted)
    if len(found) != len(wanted):
        raise StorageError(f"node reader returned {len(found)} hashes for {len(wanted)} nodes")
    by_node = dict(zip(wanted, found, strict=True))
    return [_fold([by_node[node] for node in nodes]) for nodes in per_range]


def root_hash(size: int, read_nodes: NodeReader) -> bytes:
    """The Merkle tree hash of the first ``size`` leaves (``EMPTY_ROOT`` for an empty tree)."""
    if _check_count(size, "tree size") == 0:
        return EMPTY_ROOT
    return _range_hashes([(0, size)], read_nodes)[0]


def _inclusion_ranges(index: int, size: int) -> list[_Range]:
    """The leaf ranges whose roots form PATH(index, D[0:size]), leaf first (RFC 9162 2.1.3.1)."""
    path: list[_Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if index < start + k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
    path.reverse()
    return path


def _consistency_ranges(old_size: int, new_size: int) -> list[_Range]:
    """The leaf ranges whose roots form PROOF(old_size, D[0:new_size]) (RFC 9162 2.1.4.1)."""
    path: list[_Range] = []
    start, end, m, known = 0, new_size, old_size, True
    while True:
        if m == end - start:
            if not known:
                path.append((start, end))
            break
        k = _largest_power_of_two_below(end - start)
        if m <= k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start, m, known = start + k, m - k, False
    path.reverse()
    return path


def inclusion_proof(index: int, size: int, read_nodes: NodeReader) -> list[bytes]:
    """The RFC 9162 inclusion proof of the leaf at ``index`` in the tree of ``size`` leaves."""
    if _check_count(index, "leaf index") >= _check_count(size, "tree size"):
        raise InvalidInputError(f"leaf index {index} is not below tree size {size}")
    return _range_hashes(_inclusion_ranges(index, size), read_nodes)


def inclusion_proof_nodes(index: int, size: int) -> list[Node]:
    """The stored nodes :func:`inclusion_proof` reads for that leaf and tree size, in the order
    it asks for them, so a store can read them together with something else."""
    if _check_count(index, "leaf index") >= _check_count(size, "tree size"):
        raise InvalidInputError(f"leaf index {index} is not below tree size {size}")
    return _nodes_of(_inclusion_ranges(index, size))


def consistency_proof(old_size: int, new_size: int, read_nodes: NodeReader) -> list[bytes]:
    """The RFC 9162 proof that the tree of ``new_size`` leaves extends the one of ``old_size``.

    The proof from the empty tree, and between equal sizes, is empty: there is nothing to prove.
    """
    if _check_count(old_size, "old size") > _check_count(new_size, "new size"):
        raise InvalidInputError(f"old size {old_size} is larger than new size {new_size}")
    if old_size in (0, new_size):
        return []
    return _range_hashes(_consistency_ranges(old_size, new_size), read_nodes)


def _check_hashes(
    proof: Sequence[bytes], error: type[InclusionProofError | ConsistencyProofError]
) -> None:
    for position, item in enumerate(proof):
        if not isinstance(item, bytes) or len(item) != HASH_SIZE:
            raise error(f"proof hash {position} is not a {HASH_SIZE}-byte SHA-256 hash")


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Return None if ``proof`` shows ``leaf_hash`` at ``index`` in the tree with ``root``.

    Follows RFC 9162 section 2.1.3.2; raises :class:`InclusionProofError` saying what is wrong.
    """
    _check_count(index, "leaf index")
    _check_count(size, "tree size")
    if index >= size:
        raise InclusionProofError(f"leaf index {index} is not below tree size {size}")
    if not isinstance(leaf_hash, bytes) or len(leaf_hash) != HASH_SIZE:
        raise InclusionProofError(f"the leaf hash must be {HASH_SIZE} bytes")
    _check_hashes(proof, InclusionProofError)
    expected = len(_inclusion_ranges(index, size))
    if len(proof) != expected:
        raise InclusionProofError(
            f"proof has {len(proof)} hashes; leaf {index} of a tree of size {size} needs {expected}"
        )
    fn, sn, result = index, size - 1, leaf_hash
    for sibling in proof:
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or result != root:
        raise InclusionProofError(
            f"proof for leaf {index} does not lead to the root of the tree of size {size}"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Return None if ``proof`` shows the tree with ``new_root`` extends the one with ``old_root``.

    Follows RFC 9162 section 2.1.4.2. As in transparency-dev/merkle, equal sizes need an empty
    proof and equal roots, and a proof from the empty tree is refused: it would prove nothing, so
    a caller that trusts nothing yet must say so explicitly instead of calling this.
    """
    _check_count(old_size, "old size")
    _check_count(new_size, "new size")
    if old_size > new_size:
        raise ConsistencyProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == 0:
        raise ConsistencyProofError("a consistency proof from the empty tree proves nothing")
    if old_size == new_size:
        if proof:
            raise ConsistencyProofError(f"sizes are both {old_size} but the proof is not empty")
        if old_root != new_root:
            raise ConsistencyProofError(f"two different roots for the same size {old_size}")
        return
    _check_hashes(proof, ConsistencyProofError)
    expected = len(_consistency_ranges(old_size, new_size))
    if len(proof) != expected:
        raise ConsistencyProofError(
            f"proof has {len(proof)} hashes; sizes {old_size} to {new_size} need {expected}"
        )
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for sibling in path[1:]:
        if sn == 0:
            raise ConsistencyProofError("proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(sibling, fr), node_hash(sibling, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ConsistencyProofError("proof is shorter than the tree is high")
    if fr != old_root:
        raise ConsistencyProofError(f"proof does not lead to the old root at size {old_size}")
    if sr != new_root:
        raise ConsistencyProofError(f"proof does not lead to the new root at size {new_size}")


class TreeBuilder:
    """Appends leaf hashes to a Merkle tree while holding only its O(log n) right frontier.

    Each append reports the perfect nodes it completed, so a store can persist exactly the nodes
    that proofs and tiles will later read, and nothing needs to be recomputed.
    """

    __slots__ = ("_frontier", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._frontier: list[tuple[int, int, bytes]] = []

    @classmethod
    def from_frontier(cls, size: int, read_nodes: NodeReader) -> TreeBuilder:
        """Resume a tree of ``size`` leaves from its stored frontier nodes, read in one call."""
        nodes = frontier_nodes(size)
        hashes = read_nodes(nodes) if nodes else []
        if len(hashes) != len(nodes):
            raise StorageError(f"node reader returned {len(hashes)} hashes for {len(nodes)}")
        builder = cls()
        builder._size = size
        builder._frontier = [(lvl, idx, h) for (lvl, idx), h in zip(nodes, hashes, strict=True)]
        return builder

    @property
    def size(self) -> int:
        return self._size

    @property
    def frontier(self) -> list[tuple[int, int, bytes]]:
        """The perfect nodes ``(level, index, hash)`` of the current tree, left to right."""
        return list(self._frontier)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; return the perfect nodes this completed, the leaf itself first."""
        if not isinstance(leaf, bytes) or len(leaf) != HASH_SIZE:
            raise InvalidInputError(f"a leaf hash is {HASH_SIZE} bytes")
        if self._size >= MAX_TREE_SIZE:
            raise InvalidInputError("the tree is full")
        node = (0, self._size, leaf)
        completed = [node]
        while self._frontier and self._frontier[-1][0] == node[0]:
            level, index, left = self._frontier.pop()
            node = (level + 1, index >> 1, node_hash(left, node[2]))
            completed.append(node)
        self._frontier.append(node)
        self._size += 1
        return completed

    def add(self, leaf: bytes) -> None:
        """:meth:`append` for a caller that needs only the tree, not the nodes completed (the
        audit, once per leaf); ``leaf`` is a SHA-256 digest the caller has just made."""
        frontier, size = self._frontier, self._size
        if size >= MAX_TREE_SIZE:
            raise InvalidInputError("the tree is full")
        level, index, node = 0, size, leaf
        while frontier and frontier[-1][0] == level:
            node = node_hash(frontier.pop()[2], node)
            level, index = level + 1, index >> 1
        frontier.append((level, index, node))
        self._size = size + 1

    def root(self) -> bytes:
        """The Merkle tree hash of every leaf appended so far."""
        if not self._frontier:
            return EMPTY_ROOT
        return _fold([h for _, _, h in self._frontier])
