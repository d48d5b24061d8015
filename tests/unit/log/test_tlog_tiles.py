"""Tiles (c2sp.org/tlog-tiles): paths, which tiles a tree has, tile contents, entry bundles."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from log_helpers import build

from ledger.errors import InvalidInputError
from ledger.log.merkle import leaf_hash, node_hash
from ledger.log.tiles import (
    Tile,
    entries_path,
    entry_bundle,
    entry_bundles_for_size,
    new_tiles,
    parse_entry_bundle,
    parse_tile_path,
    tile_bytes,
    tile_node_coordinates,
    tile_path,
    tiles_for_size,
)


def test_tile_index_encoding_is_the_spec_example() -> None:
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(2, 0, 1) == "tile/2/000.p/1"
    assert tile_path(1, 1000) == "tile/1/x001/000"
    assert entries_path(1234067, 112) == "tile/entries/x001/x234/067.p/112"


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 63),
    st.integers(0, 10**15),
    st.integers(1, 256),
    st.booleans(),
)
def test_tile_paths_round_trip(level: int, index: int, width: int, entries: bool) -> None:
    tile = Tile(0 if entries else level, index, width, entries)
    assert parse_tile_path(tile.path) == tile


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1234067",
        "tile/0/x000/067",
        "tile/0/001/067",
        "tile/0/067.p/256",
        "tile/0/067.p/0",
        "tile/0/067.p/07",
        "tile/64/000",
        "tile/01/000",
        "tile/entries/x001",
        "tile/data/000",
        "/tile/0/000",
    ],
)
def test_non_canonical_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_tile_path(path)


def test_tree_of_70000_has_the_tiles_the_spec_lists() -> None:
    tiles = list(tiles_for_size(70000))
    level0 = [t for t in tiles if t.level == 0]
    assert len([t for t in level0 if not t.is_partial]) == 273
    assert [t.width for t in level0 if t.is_partial] == [112]
    assert [(t.index, t.width) for t in tiles if t.level == 1] == [(0, 256), (1, 17)]
    assert [(t.index, t.width) for t in tiles if t.level == 2] == [(0, 1)]
    assert max(t.level for t in tiles) == 2


def test_tree_of_256_has_a_full_tile_and_a_partial_one_above() -> None:
    assert list(tiles_for_size(256)) == [Tile(0, 0), Tile(1, 0, 1)]
    assert list(tiles_for_size(0)) == []


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 300_000), st.integers(0, 300_000))
def test_new_tiles_are_exactly_the_tiles_that_changed(a: int, b: int) -> None:
    old, new = min(a, b), max(a, b)
    before, after = set(tiles_for_size(old)), set(tiles_for_size(new))
    assert set(new_tiles(old, new)) == after - before


def test_hash_tile_holds_leaf_hashes_at_level_0_and_tile_roots_above() -> None:
    leaves = [i.to_bytes(2, "big") for i in range(600)]
    store, _ = build(leaves)
    assert tile_node_coordinates(1, 0, 2) == [(8, 0), (8, 1)]
    level0 = tile_bytes(0, 2, 600 - 512, store.reader)
    assert level0[:32] == leaf_hash(leaves[512])
    assert len(level0) == 88 * 32
    full = tile_bytes(0, 0, 256, store.reader)
    hashes = [full[i : i + 32] for i in range(0, len(full), 32)]
    while len(hashes) > 1:
        hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    assert tile_bytes(1, 0, 2, store.reader)[:32] == hashes[0]


def test_entry_bundle_is_big_endian_length_prefixed() -> None:
    bundle = entry_bundle([b"a", b"", b"x" * 300])
    assert bundle[:5] == b"\x00\x01a\x00\x00"
    assert bundle[5:7] == (300).to_bytes(2, "big")
    assert parse_entry_bundle(bundle) == [b"a", b"", b"x" * 300]


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00", b"\x00\x05abc", bytes(2) * 257],
    ids=["empty", "cut-length", "cut", "257"],
)
def test_malformed_entry_bundles_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidInputError):
        parse_entry_bundle(data)


def test_entries_too_large_for_a_bundle_are_refused() -> None:
    with pytest.raises(InvalidInputError):
        entry_bundle([bytes(65536)])
    with pytest.raises(InvalidInputError):
        entry_bundle([])


def test_entry_bundles_follow_level_0_tiles() -> None:
    assert [t.path for t in entry_bundles_for_size(513)] == [
        "tile/entries/000",
        "tile/entries/001",
        "tile/entries/002.p/1",
    ]
