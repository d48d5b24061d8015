"""Where an audit reads from: a ledger's store, or a bundle exported from it.

Both give the leaves in log order (each with its stored event, or none if it was deleted), the
signed checkpoints, and what only a store has: stored leaf hashes, events outside the log and
the stored views.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import StorageError

BATCH = 2000


@dataclass(frozen=True)
class Leaf:
    index: int
    notification_id: int | None
    aggregate_id: str | None
    version: int | None
    topic: str | None
    state: bytes | None
    stored_hash: bytes | None


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
        while True:
            batch = self.ledger._recorder.select_leaves(start, BATCH)
            for row in batch:
                deleted = row.originator_id is None
                yield Leaf(
                    row.leaf_index,
                    None if deleted else row.id,
                    None if deleted else str(row.originator_id),
                    None if deleted else row.originator_version,
                    None if deleted else row.topic,
                    None if deleted else row.state,
                    row.leaf_hash,
                )
            if len(batch) < BATCH:
                return
            start = batch[-1].leaf_index + 1

    def checkpoints(self) -> list[str]:
        return list(self.ledger.log.checkpoints())

    def unlogged(self) -> list[int]:
        return list(self.ledger._recorder.unlogged_notification_ids())


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
