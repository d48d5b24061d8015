"""``ledger export``: a self-contained bundle an auditor can check offline.

Layout of a bundle directory::

    manifest.json       format, origin, log size, root, trust anchors, and the SHA-256 of
                        every other file
    events.jsonl        one line per leaf, in log order: leaf_index, notification_id,
                        aggregate_id, version, topic, envelope (the exact stored bytes as text)
    checkpoints/        every signed checkpoint note up to the bundle's size, <size>.note
    keys.jsonl          the key events (genesis, organisations, keys, log keys), in log order
    star-schemes.json   the star schemes and their thresholds as of the bundle's end

Everything is written as it is read, so memory does not grow with the ledger.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..log.checkpoint import Checkpoint
from ..log.note import parse_note
from ..trust import KEY_TOPICS
from .progress import Progress

FORMAT = "service-hour-ledger-bundle/v1"
BATCH = 2000


def export_bundle(
    ledger: Any, out: Path, *, upto: int | None = None, progress: bool = True
) -> dict[str, Any]:
    """Write a bundle of the log up to ``upto`` leaves (a signed checkpoint's size)."""
    ledger.refresh()
    notes = ledger.log.checkpoints()
    sizes = [Checkpoint.parse(parse_note(n)[0]).size for n in notes]
    size = ledger.log_size() if upto is None else upto
    if upto is not None and upto not in sizes:
        raise InvalidInputError(f"no checkpoint was signed at size {upto}; signed sizes: {sizes}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "checkpoints").mkdir(exist_ok=True)
    bar = Progress(size, "export", enabled=progress)
    key_topics = set(KEY_TOPICS)
    with (
        (out / "events.jsonl").open("w", encoding="utf-8") as events,
        (out / "keys.jsonl").open("w", encoding="utf-8") as keys,
    ):
        start = 0
        while start < size:
            batch = ledger._recorder.select_leaves(start, min(BATCH, size - start))
            if not batch:
                break
            for leaf in batch:
                line = json.dumps(
                    {
                        "leaf_index": leaf.leaf_index,
                        "notification_id": leaf.id,
                        "aggregate_id": None
                        if leaf.originator_id is None
                        else str(leaf.originator_id),
                        "version": leaf.originator_version,
                        "topic": leaf.topic,
                        "envelope": None if leaf.state is None else leaf.state.decode("utf-8"),
                    },
                    ensure_ascii=False,
                )
                events.write(line + "\n")
                if leaf.topic in key_topics:
                    keys.write(line + "\n")
            bar.advance(len(batch))
            start = batch[-1].leaf_index + 1
    for note, note_size in zip(notes, sizes, strict=True):
        if note_size <= size:
            (out / "checkpoints" / f"{note_size:020d}.note").write_text(note, encoding="utf-8")
    schemes = {
        s.scheme_id: {
            "owner": s.owner,
            "name": s.name,
            "version": s.version,
            "thresholds_hours": s.thresholds_hours,
        }
        for s in ledger.reference().star_schemes.values()
    }
    (out / "star-schemes.json").write_text(json.dumps(schemes, indent=2), encoding="utf-8")
    bar.close()
    manifest = {
        "format": FORMAT,
        "origin": ledger._directory.require_ledger().origin,
        "log_size": size,
        "root": ledger.log.root(size).hex(),
        "trust": ledger.trust_anchors(),
        "files": {
            p.relative_to(out).as_posix(): _sha256(p)
            for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != "manifest.json"
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
