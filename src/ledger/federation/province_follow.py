"""Following one city's log: verify its checkpoint, read only the new entries, verify each of
them and the root they make, and bring the city's figures up to date.

What is checked, in order (any failure refuses the city and keeps its saved state):

1. The checkpoint note is signed by a log key pinned in the city's trust anchors, for the
   pinned origin, and cosigned by the witness quorum if the anchors name one.
2. It extends the checkpoint this province saw last time: a smaller tree is a rollback; the same
   size with another root, or a larger tree whose root the remembered tree does not grow into,
   is a fork.
3. The new entries, read from the entry bundles, continue the remembered tree (its right
   frontier, kept in the state) to exactly the checkpoint's root. No tile is trusted: an entry
   counts only once the root recomputed from it equals the signed one.
4. Every entry passes the audit's replay (:mod:`ledger.audit.replay`): its signature, with a key
   the city's log registered to the acting organisation and chained to the pinned root key,
   valid at that position; versions, times and the domain's rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..audit.findings import Finding
from ..audit.replay import Replay, ReplayState
from ..audit.signatures import SignatureChecker
from ..audit.sources import Leaf
from ..envelope import TOPIC_PREFIX
from ..errors import LedgerError, StorageError, VerificationError
from ..log.checkpoint import Checkpoint
from ..state_codec import dumps_state, loads_state
from .province_file import CitySpec
from .province_reader import TileReader
from .province_views import CityViews

STATE_FORMAT = 1
SHOWN_FINDINGS = 3


class CityRefused(VerificationError):
    """A city whose log could not be verified; its saved state was not advanced."""

    def __init__(self, city: str, message: str) -> None:
        super().__init__(f"city {city}: {message}")
        self.city = city


@dataclass
class CityProgress:
    """What the province remembers of one city between runs (all of it JSON)."""

    size: int
    root: bytes
    checkpoint: str
    replay: Any  # the audit replay's state, in the audit's JSON state codec
    views: dict[str, list[list[Any]]]
    figures: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "size": self.size,
            "root": self.root.hex(),
            "checkpoint": self.checkpoint,
            "figures": self.figures,
            "views": self.views,
            "replay": self.replay,
        }

    @classmethod
    def from_json(cls, city: str, document: Any) -> CityProgress:
        try:
            if document["format"] != STATE_FORMAT:
                raise ValueError(f"state format {document['format']!r}")
            return cls(
                int(document["size"]),
                bytes.fromhex(document["root"]),
                str(document["checkpoint"]),
                document["replay"],
                dict(document["views"]),
                dict(document["figures"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise StorageError(f"the saved state of city {city} is unreadable: {error}") from None


@dataclass
class FollowResult:
    progress: CityProgress
    new_entries: int
    requests: int


def follow_city(
    spec: CitySpec, saved: CityProgress | None, reader: TileReader, *, workers: int = 1
) -> FollowResult:
    """Verify what ``spec``'s city serves now against what was ``saved``; return the new
    progress. Raise :class:`CityRefused` (naming the city) on anything that does not verify."""
    requests_before = reader.counts.requests
    try:
        note = reader.checkpoint()
        checkpoint = spec.policy.verify_checkpoint(note)
    except LedgerError as error:
        raise CityRefused(spec.name, f"its checkpoint does not verify: {error.message}") from None
    if checkpoint.origin != spec.origin:
        raise CityRefused(spec.name, f"checkpoint of {checkpoint.origin!r}, not {spec.origin!r}")
    start = saved.size if saved is not None else 0
    if saved is not None:
        _check_extends(spec.name, saved, checkpoint)
        if checkpoint.size == saved.size:
            return FollowResult(saved, 0, reader.counts.requests - requests_before)
    state = _replay_state(spec.name, saved)
    views = CityViews(saved.views if saved is not None else None)
    try:
        findings: list[Finding] = []
        checker = SignatureChecker(workers)
        replay = Replay(state, findings.append, checker, spec.root_key, views)
        try:
            for index, entry in reader.entries(start, checkpoint.size):
                replay.leaf(_leaf(index, entry))
                checker.collect(findings, wait=False)
                if findings:
                    break
            if not findings:
                replay.finish()
            checker.collect(findings, wait=True)
        except LedgerError as error:
            raise CityRefused(spec.name, f"its log cannot be read: {error.message}") from None
        finally:
            checker.close()
        root = state.tree.root()
        if state.size == checkpoint.size and root != checkpoint.root_hash:
            raise CityRefused(
                spec.name,
                f"the entries it served do not hash to its signed checkpoint's root at "
                f"{checkpoint.size} leaves: an entry was altered, or the log was forked",
            )
        if findings:
            shown = "; ".join(f.line() for f in findings[:SHOWN_FINDINGS])
            raise CityRefused(spec.name, f"{len(findings)} entries fail verification: {shown}")
        _check_ledger(spec, state)
        progress = CityProgress(
            checkpoint.size,
            root,
            note,
            json.loads(dumps_state(state)),
            views.rows(),
            views.figures(),
        )
    finally:
        views.close()
    new = checkpoint.size - start
    return FollowResult(progress, new, reader.counts.requests - requests_before)


def _check_extends(city: str, saved: CityProgress, checkpoint: Checkpoint) -> None:
    if checkpoint.size < saved.size:
        raise CityRefused(
            city,
            f"its checkpoint has {checkpoint.size} leaves, fewer than the {saved.size} this "
            "province verified before: the log was rolled back",
        )
    if checkpoint.size == saved.size and checkpoint.root_hash != saved.root:
        raise CityRefused(
            city,
            f"its checkpoint of {checkpoint.size} leaves states another root than the one this "
            "province verified before: the log was forked",
        )


def _replay_state(city: str, saved: CityProgress | None) -> ReplayState:
    if saved is None:
        return ReplayState()
    try:
        state = loads_state(json.dumps(saved.replay).encode("utf-8"))
    except StorageError as error:
        raise StorageError(f"the saved state of city {city}: {error.message}") from None
    if not isinstance(state, ReplayState) or state.size != saved.size:
        raise StorageError(f"the saved state of city {city} is not a replay of {saved.size} leaves")
    if state.tree.root() != saved.root:
        raise StorageError(f"the saved state of city {city} does not hold the tree it remembers")
    state.roots = {}
    return state


def _leaf(index: int, entry: bytes) -> Leaf:
    """An entry as the audit replay reads a leaf. A remote log has no notification ids: the
    leaf's position (index + 1) stands for one, in the same order. The envelope is only peeked
    at here for the event's identity; the replay parses it strictly and checks it."""
    try:
        body = json.loads(entry)["body"]
        kind, version = str(body["type"]), body["aggregate_version"]
        aggregate_id = str(body["aggregate_id"])
    except (ValueError, TypeError, KeyError):
        return Leaf(index, index + 1, "", 0, "", entry, None)  # the replay reports it
    return Leaf(
        index,
        index + 1,
        aggregate_id,
        version if isinstance(version, int) else None,
        TOPIC_PREFIX + kind,
        entry,
        None,
    )


def _check_ledger(spec: CitySpec, state: ReplayState) -> None:
    ledger = state.directory.ledger
    if ledger is None:
        raise CityRefused(spec.name, "its log does not begin with a ledger's genesis event")
    if ledger.origin != spec.origin:
        raise CityRefused(spec.name, f"its genesis names origin {ledger.origin!r}")
