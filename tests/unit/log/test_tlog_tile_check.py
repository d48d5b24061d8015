"""Checking a tile against a signed root: a tile's hashes and the few stored nodes beside it
rebuild the root of every tree that contains the tile (RFC 9162's root, as the reference
``mth`` computes it), and a change to any one hash of the tile changes that root."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from log_helpers import NodeStore, build

from ledger.errors import InvalidInputError
from ledger.log.merkle import root_hash
from ledger.log.tiles import (
    TILE_WIDTH,
    Tile,
    root_with_tile,
    tile_node_coordinates,
    tile_witness_nodes,
    tiles_for_size,
)

LARGEST = TILE_WIDTH**2 + 3 * TILE_WIDTH + 17  # full level-1 tiles exist, and a level-2 tile


@functools.cache
def tree() -> NodeStore:
    store, _ = build([i.to_bytes(4, "big") for i in range(LARGEST)])
    return store


def tile_hashes(store: NodeStore, tile: Tile) -> list[bytes]:
    return store.read(tile_node_coordinates(tile.level, tile.index, tile.width))


def rebuilt(store: NodeStore, tile: Tile, hashes: list[bytes], size: int) -> bytes:
    beside = tile_witness_nodes(tile.level, tile.index, tile.width, size)
    return root_with_tile(
        tile.level, tile.index, hashes, size, dict(zip(beside, store.read(beside), strict=True))
    )


@st.composite
def tile_in_a_tree(draw: st.DrawFn) -> tuple[Tile, int]:
    """A tile of a tree of some size, and a size at least that of a tree containing it."""
    small = draw(st.integers(1, LARGEST))
    tiles = list(tiles_for_size(small))
    tile = draw(st.sampled_from(tiles))
    return tile, draw(st.integers(small, LARGEST))


@settings(max_examples=150, deadline=None)
@given(tile_in_a_tree())
def test_a_tile_with_the_nodes_beside_it_rebuilds_the_root(case: tuple[Tile, int]) -> None:
    tile, size = case
    store = tree()
    assert rebuilt(store, tile, tile_hashes(store, tile), size) == root_hash(size, store.reader)


@settings(max_examples=150, deadline=None)
@given(tile_in_a_tree(), st.data())
def test_any_changed_hash_in_a_tile_changes_the_root(
    case: tuple[Tile, int], data: st.DataObject
) -> None:
    tile, size = case
    store = tree()
    hashes = tile_hashes(store, tile)
    at = data.draw(st.integers(0, tile.width - 1))
    hashes[at] = bytes([hashes[at][0] ^ 1]) + hashes[at][1:]
    assert rebuilt(store, tile, hashes, size) != root_hash(size, store.reader)


@settings(max_examples=100, deadline=None)
@given(tile_in_a_tree())
def test_the_nodes_beside_a_tile_are_few_and_outside_it(case: tuple[Tile, int]) -> None:
    tile, size = case
    beside = tile_witness_nodes(tile.level, tile.index, tile.width, size)
    assert not set(beside) & set(tile_node_coordinates(tile.level, tile.index, tile.width))
    assert len(beside) == len(set(beside)) <= 2 * size.bit_length()


def test_a_tile_beyond_the_tree_or_of_the_wrong_shape_is_refused() -> None:
    store = tree()
    with pytest.raises(InvalidInputError):
        tile_witness_nodes(0, 1, 1, TILE_WIDTH)  # needs TILE_WIDTH + 1 leaves
    with pytest.raises(InvalidInputError):
        root_with_tile(0, 0, [], 10, {})
    with pytest.raises(InvalidInputError):
        root_with_tile(0, 0, [b"short"], 10, {})
    hashes = tile_hashes(store, Tile(0, 0, 10))
    with pytest.raises(KeyError):  # a node beside the tile is missing
        root_with_tile(0, 0, hashes, 11, {})
