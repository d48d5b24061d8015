"""Reading a city's log over HTTP as C2SP tlog-tiles: its checkpoint, and entry bundles for a
range of leaves.

Nothing read here is trusted: the caller verifies the checkpoint's signatures and recomputes the
root from the entries. The reader only fetches what a range needs (a bundle that was partial
last time is fetched again at its new width, and the entries already read are skipped) and
counts its requests and entries, so an incremental run can show that it read only what is new.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from ..errors import InvalidInputError, StorageError
from ..log.tiles import TILE_WIDTH, entries_path, parse_entry_bundle

TIMEOUT = 30.0
MAX_CHECKPOINT_BYTES = 64 * 1024


@dataclass
class ReadCounts:
    requests: int = 0
    entries: int = 0
    bytes: int = 0


def bundles_for_range(start: int, end: int) -> Iterator[tuple[int, int]]:
    """The entry bundles ``(index, width)`` that hold leaves ``start`` to ``end - 1`` in a log
    of ``end`` leaves (the last one partial when ``end`` is not a multiple of 256)."""
    if not 0 <= start <= end:
        raise InvalidInputError(f"cannot read leaves {start} to {end}")
    if start == end:
        return
    for index in range(start // TILE_WIDTH, (end - 1) // TILE_WIDTH + 1):
        yield index, min(TILE_WIDTH, end - index * TILE_WIDTH)


class TileReader:
    """One city's log, read over HTTP from ``base_url`` (``/log/checkpoint``, ``/log/tile/…``)."""

    def __init__(self, base_url: str, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=TIMEOUT)
        self.counts = ReadCounts()

    def close(self) -> None:
        self.client.close()

    def _get(self, path: str) -> bytes:
        url = f"{self.base_url}/log/{path}"
        self.counts.requests += 1
        try:
            response = self.client.get(url)
        except httpx.HTTPError as error:
            raise StorageError(f"cannot read {url}: {error}") from None
        if response.status_code != 200:
            raise StorageError(f"{url} answered {response.status_code}")
        self.counts.bytes += len(response.content)
        return response.content

    def checkpoint(self) -> str:
        """The checkpoint note the city serves now (not yet verified)."""
        data = self._get("checkpoint")
        if len(data) > MAX_CHECKPOINT_BYTES:
            raise StorageError("the checkpoint is too large to be one")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise StorageError("the checkpoint is not UTF-8 text") from None

    def entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """Leaves ``start`` to ``end - 1`` as ``(leaf index, entry bytes)``, in order, from the
        entry bundles of a log of ``end`` leaves."""
        for index, width in bundles_for_range(start, end):
            path = entries_path(index, width)
            try:
                entries = parse_entry_bundle(self._get(path))
            except InvalidInputError as error:
                raise StorageError(f"entry bundle {path}: {error.message}") from None
            if len(entries) != width:
                raise StorageError(f"entry bundle {path} holds {len(entries)} entries")
            first = index * TILE_WIDTH
            for offset, entry in enumerate(entries):
                if first + offset >= start:
                    self.counts.entries += 1
                    yield first + offset, entry
