"""Where an audit reads from: a ledger's store, or a bundle exported from it.

Both give the leaves in log order (each with its stored event, or none if it was deleted), the
signed checkpoints, and what only a store has: stored leaf hashes, events outside the log and
the stored views.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from ..errors import StorageError

BATCH = 2000
_HEX_ID = re.compile("[0-9a-f]{32}")
ID_TEXTS = 1 << 12


class Leaf(NamedTuple):
    """One leaf as the replay reads it (a tuple: an audit builds a million of them)."""

    index: int  # type: ignore[assignment]  # the leaf's index, in place of tuple.index
    notification_id: int | None
    aggregate_id: str | None
    version: int | None
    topic: str | None
    state: bytes | None
    stored_hash: bytes | None

    def where(self) -> str | None:
        """The event a finding names: its aggregate and version (written only for a finding)."""
        return f"{self.aggregate_id} v{self.version}" if self.aggregate_id else None


class Source(Protocol):
    description: str

    def size(self) -> int: ...

    def leaves(self, start: int = 0) -> Iterator[Leaf]: ...

    def checkpoints(self) -> list[str]: ...

    def unlogged(self) -> list[int]: ...


class StoreSource:
    def __init__(self, ledger: Any) -> None:
        self.ledger = ledger
        self.description = f"store {ledger.store.url}"

    def size(self) -> int:
        return int(self.ledger._recorder.log_size())

    def leaves(self, start: int = 0) -> Iterator[Leaf]:
        """The leaves as :meth:`select_leaves` gives them, read as plain rows: a leaf whose
        event is gone has only its index and stored hash."""
        recorder = self.ledger._recorder
        id_text = _id_text(getattr(recorder, "convert_originator_id", None))
        make = Leaf._make
        while True:
            batch = recorder.select_leaf_rows(start, BATCH)
            for index, nid, raw_id, version, topic, state, stored_hash in batch:
                if type(stored_hash) is not bytes and stored_hash is not None:
                    stored_hash = bytes(stored_hash)
                if raw_id is None:
                    yield Leaf(index, None, None, None, None, None, stored_hash)
                    continue
                if type(state) is not bytes and state is not None:
                    state = bytes(state)
                yield make((index, nid, id_text(raw_id), version, topic, state, stored_hash))
            if len(batch) < BATCH:
                return
            start = batch[-1][0] + 1

    def checkpoints(self) -> list[str]:
        return list(self.ledger.log.checkpoints())

    def unlogged(self) -> list[int]:
        return list(self.ledger._recorder.unlogged_notification_ids())


def _id_text(convert: Callable[[Any], Any] | None) -> Callable[[Any], str]:
    """How a stored originator id becomes the text :meth:`select_leaves` gives (``str`` of the
    recorder's converted id). A store of UUIDs as 32 lowercase hex digits (SQLite) has each one
    written out with its hyphens, exactly ``str(UUID(raw))`` without building the ``UUID``."""
    if convert is None:
        return str
    convert_to_uuid = isinstance(convert("0" * 32), UUID)
    # An aggregate's events are near one another in the log: the texts of the ids seen lately
    # are kept (at most ID_TEXTS, then started afresh), each written out once.
    written: dict[str, str] = {}

    def text(raw: Any) -> str:
        if type(raw) is not str:
            return str(convert(raw))
        found = written.get(raw)
        if found is None:
            if convert_to_uuid and _HEX_ID.fullmatch(raw):
                found = f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"
            else:
                found = str(convert(raw))
            if len(written) >= ID_TEXTS:
                written.clear()
            written[raw] = found
        return found

    return text


class BundleSource:
    """A directory written by ``ledger export`` (see ``export.py`` for its layout)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"bundle {path}"
        manifest = path / "manifest.json"
        if not manifest.is_file():
            raise StorageError(f"{path} is not a ledger bundle: it has no manifest.json")
        self.manifest = json.loads(manifest.read_text(encoding="utf-8"))

    def size(self) -> int:
        return int(self.manifest["log_size"])

    def leaves(self, start: int = 0) -> Iterator[Leaf]:
        with (self.path / "events.jsonl").open("rb") as lines:
            for line in lines:
                row = json.loads(line)
                if row["leaf_index"] < start:
                    continue
                envelope = row["envelope"]
                yield Leaf(
                    row["leaf_index"],
                    row["notification_id"],
                    row["aggregate_id"],
                    row["version"],
                    row["topic"],
                    None if envelope is None else envelope.encode("utf-8"),
                    None,
                )

    def checkpoints(self) -> list[str]:
        folder = self.path / "checkpoints"
        return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.note"))]

    def unlogged(self) -> list[int]:
        return []
