"""Test helpers: a dict node store, and RFC 9162's recursive definitions as a reference.

The reference functions are transcribed from RFC 9162 section 2.1 as literally as possible, over
the list of leaf data, so that the storage-shaped code in ``ledger.log.merkle`` is checked
against the definitions rather than against itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.log.merkle import EMPTY_ROOT, Node, NodeReader, TreeBuilder, leaf_hash, node_hash


class NodeStore:
    """Perfect nodes in a dict, as a storage backend would keep them; counts reader calls."""

    def __init__(self) -> None:
        self.nodes: dict[Node, bytes] = {}
        self.calls = 0

    def add(self, completed: Sequence[tuple[int, int, bytes]]) -> None:
        for level, index, digest in completed:
            self.nodes[(level, index)] = digest

    def read(self, wanted: Sequence[Node]) -> list[bytes]:
        self.calls += 1
        return [self.nodes[node] for node in wanted]

    @property
    def reader(self) -> NodeReader:
        return self.read


def build(leaves: Sequence[bytes]) -> tuple[NodeStore, TreeBuilder]:
    """Append the leaf hashes of ``leaves`` one by one, storing every completed node."""
    store = NodeStore()
    builder = TreeBuilder()
    for data in leaves:
        store.add(builder.append(leaf_hash(data)))
    return store, builder


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 section 2.1.1."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = _k(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 section 2.1.3.1."""
    if len(leaves) <= 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def proof(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 section 2.1.4.1."""
    return _subproof(m, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], known: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if known else [mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], known), mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), mth(leaves[:k])]


# The leaves of the RFC 6962 / transparency-dev test tree the merkle vectors are built on.
TEST_TREE_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
