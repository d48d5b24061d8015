"""Serving the log as static tiles (c2sp.org/tlog-tiles).

Hash tile ``N`` at tile level ``L`` holds, in order, up to 256 Merkle nodes of level ``8 * L``:
nodes ``(8L, 256N + i)``. A tile is full at 256 hashes; the rightmost tile of a level may be
partial, with ``floor(size / 256**L) mod 256`` hashes, served under a ``.p/<W>`` suffix. Entry
bundles are the level-0 counterpart for entries: each entry prefixed by its big-endian uint16
length. Paths are relative to the log's URL prefix, e.g. ``tile/0/x001/x234/067.p/5``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from ..errors import InvalidInputError, StorageError
from .merkle import HASH_SIZE, MAX_TREE_SIZE, Node, NodeReader, frontier_nodes, node_hash

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_TILE_LEVEL = 63
MAX_ENTRY_SIZE = 0xFFFF
_PATH = re.compile(r"tile/(entries|0|[1-9][0-9]?)/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([1-9][0-9]*))?")


@dataclass(frozen=True)
class Tile:
    """One hash tile (or, with ``entries``, one entry bundle): level, index and width."""

    level: int
    index: int
    width: int = TILE_WIDTH
    entries: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.level <= MAX_TILE_LEVEL or (self.entries and self.level != 0):
            raise InvalidInputError(f"tile level {self.level} is out of range")
        if self.index < 0:
            raise InvalidInputError("a tile index is non-negative")
        if not 1 <= self.width <= TILE_WIDTH:
            raise InvalidInputError(f"a tile is 1 to {TILE_WIDTH} hashes wide")

    @property
    def is_partial(self) -> bool:
        return self.width < TILE_WIDTH

    @property
    def path(self) -> str:
        kind = "entries" if self.entries else str(self.level)
        suffix = f".p/{self.width}" if self.is_partial else ""
        return f"tile/{kind}/{encode_index(self.index)}{suffix}"

    @property
    def nodes(self) -> list[Node]:
        """The Merkle nodes ``(level, index)`` whose hashes this tile holds, in order."""
        return tile_node_coordinates(self.level, self.index, self.width)


def encode_index(index: int) -> str:
    """Zero-padded 3-digit path elements, all but the last prefixed by ``x``: 1234067 ->
    ``x001/x234/067``."""
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise InvalidInputError("a tile index is a non-negative integer")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """The path of hash tile ``index`` at tile level ``level`` with ``width`` hashes."""
    return Tile(level, index, width).path


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """The path of entry bundle ``index`` holding ``width`` entries."""
    return Tile(0, index, width, entries=True).path


def parse_tile_path(path: str) -> Tile:
    """Parse a canonical tile or entry bundle path; refuse any other spelling of it."""
    match = _PATH.fullmatch(path)
    if match is None:
        raise InvalidInputError(f"{path!r} is not a tile path")
    kind, digits, width = match.groups()
    index = int(digits.replace("x", "").replace("/", ""))
    entries = kind == "entries"
    tile = Tile(0 if entries else int(kind), index, int(width or TILE_WIDTH), entries)
    if tile.path != path:
        raise InvalidInputError(f"{path!r} is not the canonical path of its tile")
    return tile


def tile_node_coordinates(level: int, index: int, width: int = TILE_WIDTH) -> list[Node]:
    """The Merkle nodes held by hash tile ``index`` of tile level ``level``."""
    tile = Tile(level, index, width)
    start = tile.index * TILE_WIDTH
    return [(TILE_HEIGHT * tile.level, start + i) for i in range(tile.width)]


def tile_bytes(level: int, index: int, width: int, read_nodes: NodeReader) -> bytes:
    """The content of a hash tile: its node hashes concatenated, read in one call."""
    nodes = tile_node_coordinates(level, index, width)
    hashes = read_nodes(nodes)
    if len(hashes) != len(nodes) or any(len(h) != HASH_SIZE for h in hashes):
        raise StorageError(f"node reader did not return {len(nodes)} hashes")
    return b"".join(hashes)


def entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Encode entries as a bundle: each one prefixed by its big-endian uint16 length."""
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise InvalidInputError(f"an entry bundle holds 1 to {TILE_WIDTH} entries")
    parts = []
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise InvalidInputError(f"an entry in a bundle is at most {MAX_ENTRY_SIZE} bytes")
        parts.append(len(entry).to_bytes(2, "big") + entry)
    return b"".join(parts)


def parse_entry_bundle(data: bytes) -> list[bytes]:
    """Decode an entry bundle; raise :class:`InvalidInputError` if it is truncated or too long."""
    entries: list[bytes] = []
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise InvalidInputError("entry bundle ends inside a length prefix")
        length = int.from_bytes(data[offset : offset + 2], "big")
        offset += 2
        if offset + length > len(data):
            raise InvalidInputError("entry bundle ends inside an entry")
        entries.append(data[offset : offset + length])
        offset += length
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise InvalidInputError(f"an entry bundle holds 1 to {TILE_WIDTH} entries")
    return entries


def _level_tiles(level: int, size: int, first_full: int) -> Iterator[Tile]:
    span = TILE_WIDTH**level
    full, width = divmod(size // span, TILE_WIDTH)
    for index in range(first_full, full):
        yield Tile(level, index)
    if width:
        yield Tile(level, full, width)


def tiles_for_size(size: int) -> Iterator[Tile]:
    """Every hash tile a tree of ``size`` leaves has, level by level, full then partial."""
    yield from new_tiles(0, size)


def new_tiles(old_size: int, new_size: int) -> Iterator[Tile]:
    """The hash tiles that exist at ``new_size`` but not, with that width, at ``old_size``.

    These are what a log must write when it grows; the others are unchanged.
    """
    if not 0 <= old_size <= new_size <= MAX_TREE_SIZE:
        raise InvalidInputError(f"cannot grow a tree from {old_size} to {new_size}")
    level = 0
    while new_size >= TILE_WIDTH**level:
        old_full, old_width = divmod(old_size // TILE_WIDTH**level, TILE_WIDTH)
        for tile in _level_tiles(level, new_size, old_full):
            if not (tile.index == old_full and tile.width == old_width):
                yield tile
        level += 1


def entry_bundles_for_size(size: int) -> Iterator[Tile]:
    """Every entry bundle a log of ``size`` entries serves, full then the partial one."""
    for tile in _level_tiles(0, size, 0):
        yield Tile(0, tile.index, tile.width, entries=True)


def _tile_tree(
    level: int,
    index: int,
    width: int,
    size: int,
    stored: Callable[[Node], bytes],
    in_tile: Callable[[int, int], bytes],
    combine: Callable[[bytes, bytes], bytes],
) -> bytes:
    """The root of the tree of ``size`` leaves with the nodes of tile ``level/index``
    (``width`` hashes) hashed by ``in_tile(first, end)`` (the perfect subtree over the tile's
    hashes ``first`` to ``end - 1``) and every node beside the tile taken from ``stored``."""
    shift = TILE_HEIGHT * level
    first = index * TILE_WIDTH
    start, end = first << shift, (first + width) << shift
    if end > size:
        raise InvalidInputError(f"tile {level}/{index} of width {width} is beyond size {size}")

    def node(height: int, at: int) -> bytes:
        low, high = at << height, (at + 1) << height
        if high <= start or low >= end:
            return stored((height, at))
        if start <= low and high <= end:  # wholly inside: start and end are multiples of 2**shift
            return in_tile((low - start) >> shift, (high - start) >> shift)
        return combine(node(height - 1, 2 * at), node(height - 1, 2 * at + 1))

    hashes = [node(height, at) for height, at in frontier_nodes(size)]
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = combine(left, result)
    return result


def _perfect_root(hashes: Sequence[bytes]) -> bytes:
    """The root of a perfect subtree over ``hashes`` (a power of two of them)."""
    layer = list(hashes)
    while len(layer) > 1:
        layer = [node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
    return layer[0]


def tile_witness_nodes(level: int, index: int, width: int, size: int) -> list[Node]:
    """The stored nodes beside hash tile ``level/index`` that, with the tile's own hashes,
    rebuild the root of the tree of ``size`` leaves (at most about two per tree level)."""
    wanted: list[Node] = []

    def note(node: Node) -> bytes:
        wanted.append(node)
        return b""

    _tile_tree(level, index, width, size, note, lambda first, end: b"", lambda left, right: b"")
    return wanted


def root_with_tile(
    level: int,
    index: int,
    hashes: Sequence[bytes],
    size: int,
    witnesses: Mapping[Node, bytes],
) -> bytes:
    """The root of the tree of ``size`` leaves rebuilt from a tile's ``hashes`` and the
    :func:`tile_witness_nodes` beside it. It equals a signed checkpoint's root of that size only
    if every hash in the tile is the one that checkpoint commits to."""
    width = len(hashes)
    if not 1 <= width <= TILE_WIDTH or any(len(h) != HASH_SIZE for h in hashes):
        raise InvalidInputError(f"a tile holds 1 to {TILE_WIDTH} hashes of {HASH_SIZE} bytes")
    return _tile_tree(
        level,
        index,
        width,
        size,
        witnesses.__getitem__,
        lambda first, end: _perfect_root(hashes[first:end]),
        node_hash,
    )
