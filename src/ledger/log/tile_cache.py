"""Full tiles and entry bundles kept once they were authenticated, to serve with no work.

A full tile (256 hashes) or entry bundle (256 entries) never changes once the log holds it: the
log only grows. Once its bytes rebuilt the root of a signed checkpoint, the same bytes are the
right answer forever, so a process keeps them (least recently used first out, bounded by bytes)
with a strong entity tag, and serves them again without reading or hashing anything.

What is kept is only ever what was authenticated: a row changed in the database afterwards does
not reach a process that has the tile already, and a process that does not have it reads the
changed row and refuses it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

ENTRIES = -1  # the ``level`` of an entry bundle in a cache key
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

TileKey = tuple[int, int]  # (tile level, or ENTRIES for an entry bundle; tile index)


@dataclass(frozen=True)
class VerifiedTile:
    """The bytes of a full tile or entry bundle as authenticated, and their strong ETag."""

    data: bytes
    etag: str

    @classmethod
    def of(cls, data: bytes) -> VerifiedTile:
        return cls(data, '"' + hashlib.sha256(data).hexdigest() + '"')


class VerifiedTiles:
    """A thread-safe LRU of authenticated full tiles, at most ``max_bytes`` of tile data."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes is non-negative")
        self.max_bytes = max_bytes
        self._tiles: OrderedDict[TileKey, VerifiedTile] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tiles)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: TileKey) -> VerifiedTile | None:
        with self._lock:
            tile = self._tiles.get(key)
            if tile is not None:
                self._tiles.move_to_end(key)
            return tile

    def put(self, key: TileKey, data: bytes) -> VerifiedTile:
        """Keep ``data`` (already authenticated, of a full tile) under ``key``; return it."""
        tile = VerifiedTile.of(data)
        with self._lock:
            old = self._tiles.pop(key, None)
            if old is not None:
                self._bytes -= len(old.data)
            if len(data) > self.max_bytes:
                return tile  # served, not kept
            self._tiles[key] = tile
            self._bytes += len(data)
            while self._bytes > self.max_bytes:
                _, dropped = self._tiles.popitem(last=False)
                self._bytes -= len(dropped.data)
        return tile
