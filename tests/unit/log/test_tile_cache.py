"""The cache of authenticated full tiles: bounded by bytes, least recently used out first, and
each tile kept with the strong ETag of exactly its bytes."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.log.tile_cache import ENTRIES, VerifiedTile, VerifiedTiles


def test_a_kept_tile_is_its_bytes_with_a_strong_etag_of_them() -> None:
    tiles = VerifiedTiles(max_bytes=1000)
    kept = tiles.put((0, 3), b"x" * 100)
    assert kept == tiles.get((0, 3))
    assert kept.data == b"x" * 100
    assert kept.etag == '"' + hashlib.sha256(b"x" * 100).hexdigest() + '"'
    assert not kept.etag.startswith("W/")
    assert tiles.get((ENTRIES, 3)) is None  # the bundle of the same index is another tile


def test_the_least_recently_used_tile_goes_first_when_the_bytes_run_over() -> None:
    tiles = VerifiedTiles(max_bytes=300)
    for index in range(3):
        tiles.put((0, index), bytes([index]) * 100)
    assert tiles.get((0, 0)) is not None  # now the most recently used
    tiles.put((0, 3), b"d" * 100)
    assert tiles.get((0, 1)) is None
    assert [tiles.get((0, i)) is not None for i in (0, 2, 3)] == [True, True, True]
    assert tiles.size_bytes == 300


def test_a_tile_larger_than_the_whole_cache_is_served_but_not_kept() -> None:
    tiles = VerifiedTiles(max_bytes=10)
    assert tiles.put((0, 0), b"y" * 11) == VerifiedTile.of(b"y" * 11)
    assert tiles.get((0, 0)) is None and len(tiles) == 0 and tiles.size_bytes == 0


def test_a_negative_bound_is_refused() -> None:
    with pytest.raises(ValueError):
        VerifiedTiles(max_bytes=-1)


@given(
    st.integers(0, 500),
    st.lists(st.tuples(st.integers(-1, 3), st.integers(0, 5), st.integers(0, 200)), max_size=60),
)
def test_the_cache_never_holds_more_than_its_bound_and_counts_its_bytes(
    bound: int, puts: list[tuple[int, int, int]]
) -> None:
    tiles = VerifiedTiles(max_bytes=bound)
    last: dict[tuple[int, int], bytes] = {}
    for level, index, length in puts:
        data = bytes([length % 251]) * length
        tiles.put((level, index), data)
        last[(level, index)] = data
    kept = {key: tiles.get(key) for key in last}
    assert tiles.size_bytes == sum(len(t.data) for t in kept.values() if t is not None)
    assert tiles.size_bytes <= bound
    for key, tile in kept.items():
        assert tile is None or tile.data == last[key]  # never stale bytes for a key
