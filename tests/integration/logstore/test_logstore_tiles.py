"""C2SP tlog-tiles from a ledger of more than 256 leaves: a client that knows only the tile
format rebuilds the signed checkpoint's root from the tiles, entry bundles hold the stored
envelopes, and full tiles never change as the log grows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from logstore_support import create_city, from_scratch, leaf_states, register_many

from ledger import Ledger, NotFoundError
from ledger.log import (
    TILE_WIDTH,
    Tile,
    entry_bundles_for_size,
    leaf_hash,
    node_hash,
    open_checkpoint,
    parse_entry_bundle,
    parse_tile_path,
    parse_verifier_key,
    tiles_for_size,
)

HASH = 32
FIRST_SIZE = 600  # two full level-0 tiles, a partial one, and a level-1 tile of two hashes
LATER_SIZE = 800


def grow_to(ledger: Ledger, size: int, tag: str) -> None:
    while ledger.log_size() < size:
        register_many(ledger, min(250, size - ledger.log_size()), f"{tag}-{ledger.log_size()}")
    assert ledger.log_size() == size


@pytest.fixture(params=["memory", "sqlite"])
def big(
    request: pytest.FixtureRequest,
    store_url_for: Callable[[str], str],
    open_ledger: Callable[..., Ledger],
) -> Ledger:
    ledger = open_ledger(store_url_for(request.param))
    create_city(ledger)
    grow_to(ledger, FIRST_SIZE, "first")
    return ledger


class TileClient:
    """A tlog-tiles client: it fetches resources by path and knows nothing of the ledger's nodes."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.fetched: dict[str, bytes] = {}

    def get(self, path: str) -> bytes:
        tile = parse_tile_path(path)
        if tile.entries:
            data = self.ledger.log.entry_tile(tile.index, tile.width)
        else:
            data = self.ledger.log.hash_tile(tile.level, tile.index, tile.width)
        self.fetched[path] = data
        return data

    def nodes(self, size: int) -> dict[tuple[int, int], bytes]:
        """Every hash the tiles of a tree of ``size`` hold, by (Merkle level, index)."""
        found: dict[tuple[int, int], bytes] = {}
        for tile in tiles_for_size(size):
            data = self.get(tile.path)
            assert len(data) == HASH * tile.width
            for i in range(tile.width):
                digest = data[HASH * i : HASH * (i + 1)]
                found[(8 * tile.level, TILE_WIDTH * tile.index + i)] = digest
        return found

    def root(self, size: int) -> bytes:
        """The tree hash of ``size`` leaves, from tiles alone (RFC 9162 over stored levels)."""
        nodes = self.nodes(size)

        def node(level: int, index: int) -> bytes:
            if (level, index) not in nodes:
                nodes[(level, index)] = node_hash(
                    node(level - 1, 2 * index), node(level - 1, 2 * index + 1)
                )
            return nodes[(level, index)]

        # The perfect subtrees of a tree of ``size`` leaves, left to right, largest first.
        subtrees, start = [], 0
        for level in reversed(range(size.bit_length())):
            if size >> level & 1:
                subtrees.append(node(level, start >> level))
                start += 1 << level
        result = subtrees[-1]
        for left in reversed(subtrees[:-1]):
            result = node_hash(left, result)
        return result


def test_a_tile_client_rebuilds_the_checkpoint_root(big: Ledger) -> None:
    ledger = big
    note = ledger.log.sign_checkpoint()
    checkpoint = open_checkpoint(note, parse_verifier_key(ledger.log.verifier_keys()[0]))
    assert checkpoint.size == FIRST_SIZE
    client = TileClient(ledger)
    assert client.root(checkpoint.size) == checkpoint.root_hash
    assert sorted(client.fetched) == [
        "tile/0/000",
        "tile/0/001",
        "tile/0/002.p/88",
        "tile/1/000.p/2",
    ]


def test_hash_tiles_hold_the_leaf_hashes_of_the_entry_bundles(big: Ledger) -> None:
    ledger = big
    client = TileClient(ledger)
    nodes = client.nodes(FIRST_SIZE)
    bundles = list(entry_bundles_for_size(FIRST_SIZE))
    assert [b.path for b in bundles] == [
        "tile/entries/000",
        "tile/entries/001",
        "tile/entries/002.p/88",
    ]
    entries = [e for b in bundles for e in parse_entry_bundle(client.get(b.path))]
    assert entries == leaf_states(ledger)  # the bundles are the stored envelopes, in leaf order
    assert [nodes[(0, i)] for i in range(FIRST_SIZE)] == [leaf_hash(e) for e in entries]
    # A level-1 tile holds the roots of the full level-0 tiles below it.
    for index in range(FIRST_SIZE // TILE_WIDTH):
        below = [leaf_hash(e) for e in entries[TILE_WIDTH * index : TILE_WIDTH * (index + 1)]]
        while len(below) > 1:
            below = [node_hash(below[i], below[i + 1]) for i in range(0, len(below), 2)]
        assert nodes[(8, index)] == below[0]


def test_full_tiles_never_change_as_leaves_are_appended(big: Ledger) -> None:
    ledger = big
    client = TileClient(ledger)
    before = {t: client.get(t.path) for t in tiles_for_size(FIRST_SIZE)}
    bundles_before = {b: client.get(b.path) for b in entry_bundles_for_size(FIRST_SIZE)}
    grow_to(ledger, LATER_SIZE, "later")
    note = ledger.log.sign_checkpoint()
    after = {t: client.get(t.path) for t in tiles_for_size(LATER_SIZE)}
    for tile, data in before.items():
        if not tile.is_partial:
            assert after[tile] == data, f"full tile {tile.path} changed"
        else:  # the partial tile is a prefix of the same tile now, and still served
            grown = next(t for t in after if (t.level, t.index) == (tile.level, tile.index))
            assert after[grown][: len(data)] == data
            assert client.get(tile.path) == data
    for bundle, data in bundles_before.items():
        assert client.get(bundle.path) == data
    assert after[Tile(0, 2)] == client.get("tile/0/002")  # full now: 768 >= 3 * 256
    checkpoint = open_checkpoint(note, parse_verifier_key(ledger.log.verifier_keys()[0]))
    assert client.root(LATER_SIZE) == checkpoint.root_hash
    assert client.root(FIRST_SIZE) == ledger.log.root(FIRST_SIZE)
    assert from_scratch(leaf_states(ledger))[0].root() == checkpoint.root_hash


def test_tiles_beyond_the_log_are_not_served(big: Ledger) -> None:
    ledger = big
    with pytest.raises(NotFoundError):
        ledger.log.hash_tile(0, 2)  # full width would need 768 leaves
    with pytest.raises(NotFoundError):
        ledger.log.hash_tile(0, 2, 89)
    with pytest.raises(NotFoundError):
        ledger.log.hash_tile(1, 0)  # a full level-1 tile needs 65,536 leaves
    with pytest.raises(NotFoundError):
        ledger.log.entry_tile(2)
    with pytest.raises(NotFoundError):
        ledger.log.entry_tile(3, 1)
    assert len(ledger.log.hash_tile(0, 2, 88)) == 88 * HASH
