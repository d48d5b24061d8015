"""Running an audit: trust anchors, the replay, checkpoints, views, and the incremental state."""

from __future__ import annotations

import gc
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, LedgerError, StorageError
from ..log.checkpoint import Checkpoint, CheckpointPolicy
from ..log.merkle import verify_consistency
from ..log.note import parse_note
from ..projections.base import ProjectedEvent
from ..projections.database import ViewDatabase
from ..projections.runner import VIEWS, apply_events, digest_of
from ..signing import VerifyingKey
from ..state_codec import dumps_state, loads_state
from ..storage.url import StoreURL
from .assessments import RESULT_TOPIC, AssessmentResults
from .findings import Finding
from .progress import Progress
from .replay import Replay, ReplayState, check_checkpoints, fingerprint
from .signatures import SignatureChecker
from .sources import BundleSource, Source, StoreSource

VIEW_BATCH = 2000
STATE_POSITIONS = "leaf-index"
"""How a saved replay state places key events; a state saved otherwise is not continued."""
COLLECT_EVERY = 64  # leaves between looks at the signature results (a chunk is 512 or more)
# The replay allocates a few short-lived objects per event and keeps few long-lived ones (the
# states are packed, and hold no cycles): collecting the young generation every 700 allocations,
# and the whole heap every 100 of those, cost 15% of the main process's time.
GC_THRESHOLDS = (50_000, 20, 100)


@dataclass
class AuditReport:
    source: str
    trust: str
    fingerprints: dict[str, str]
    leaves: int = 0
    events_checked: int = 0
    first_leaf: int = 0
    checkpoints_verified: int = 0
    checkpoints_witnessed: int | None = None
    views: str = "not compared"
    incremental: str = "full replay from the first event"
    seconds: float = 0.0
    assessments_recomputed: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for finding in self.findings:
            kinds[finding.kind] = kinds.get(finding.kind, 0) + 1
        return {
            "source": self.source,
            "clean": self.clean,
            "trust": self.trust,
            "fingerprints": self.fingerprints,
            "leaves": self.leaves,
            "events_checked": self.events_checked,
            "first_leaf": self.first_leaf,
            "checkpoints_verified": self.checkpoints_verified,
            "checkpoints_witnessed": self.checkpoints_witnessed,
            "views": self.views,
            "incremental": self.incremental,
            "seconds": round(self.seconds, 3),
            "events_per_second": round(self.events_checked / self.seconds) if self.seconds else 0,
            "assessments_recomputed": self.assessments_recomputed,
            "findings_by_kind": kinds,
            "findings": [f.to_json() for f in self.findings],
        }


class ViewRecomputer:
    """The views recomputed from the replayed events, each up to its stored position."""

    def __init__(self, upto: dict[str, int]) -> None:
        self.upto = upto
        self._last = max(upto.values(), default=0)
        self.database = ViewDatabase(StoreURL(kind="memory", url="memory://"))
        with self.database.transaction() as cursor:
            for view in VIEWS.values():
                for table, columns in view.tables.items():
                    cursor.execute(f"CREATE TABLE {table} ({columns})")
        self._batch: list[ProjectedEvent] = []

    def __call__(self, event: Any) -> None:
        if event.position is not None and event.position <= self._last:
            self._batch.append(
                ProjectedEvent(event.type, event.org, event.data, event.occurred_at, event.position)
            )
            if len(self._batch) >= VIEW_BATCH:
                self.flush()

    def flush(self) -> None:
        with self.database.transaction() as cursor:
            for name, upto in self.upto.items():
                apply_events(cursor, [e for e in self._batch if e.position <= upto], [name])
        self._batch = []

    def digest(self) -> dict[str, str]:
        self.flush()
        return {name: d for name, d in digest_of(self.database).items() if name in self.upto}


def load_trust(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        anchors: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        VerifyingKey.from_base64(anchors["root_key"])
    except (OSError, ValueError, KeyError, LedgerError) as error:
        raise StorageError(f"cannot read trust anchors from {path}: {error}") from None
    return anchors


def audit(
    source: Source,
    *,
    trust: dict[str, Any] | None = None,
    workers: int | None = None,
    state_file: Path | None = None,
    compare_views: bool = True,
    progress: bool = True,
    witnesses: CheckpointPolicy | None = None,
    witnessed_from: int = 0,
) -> AuditReport:
    """Replay and check ``source``; with ``witnesses`` (a trust policy's checkpoint policy) every
    stored checkpoint must also meet its quorum: each one was shown to somebody as the log's
    state, and a checkpoint nobody witnessed could have been shown to one verifier alone.
    Checkpoints smaller than ``witnessed_from`` (signed before the witnesses were set up, as the
    policy says) are not asked for it."""
    findings: list[Finding] = []
    state, remembered = _load_state(state_file)
    trusted_root = VerifyingKey.from_base64(trust["root_key"]) if trust else None
    if trust:
        for key in trust.get("log_keys", {}).values():
            log_key = VerifyingKey.from_base64(key)
            state.log_keys[log_key.key_id] = log_key
    report = AuditReport(source.description, "", {}, first_leaf=state.size)
    if remembered is not None and trusted_root is not None:
        _check_remembered_root(state, trusted_root, findings)
    notes = source.checkpoints()
    signed_sizes = {}
    for note in notes:
        try:
            size = Checkpoint.parse(parse_note(note)[0]).size
        except LedgerError:
            continue
        signed_sizes[size] = note
        if size > state.size:
            state.roots.setdefault(size, b"")
    newest = max(signed_sizes, default=0)
    snapshot: bytes | None = None
    views = _stored_views(source) if compare_views and remembered is None else None
    recomputer = ViewRecomputer(views[0]) if views else None
    checker = SignatureChecker(workers)
    replay = Replay(state, findings.append, checker, trusted_root, recomputer)
    total = source.size()
    bar = Progress(total - state.size, "audit", enabled=progress)
    results = AssessmentResults()
    thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        read = 0
        for leaf in source.leaves(state.size):
            replay.leaf(leaf)
            if leaf.topic == RESULT_TOPIC:
                results.see(leaf)
            read += 1
            if not read % COLLECT_EVERY:
                bar.advance(COLLECT_EVERY)
                checker.collect(findings, wait=False)
            if state_file is not None and state.size == newest:
                replay.end_command()
                snapshot = dumps_state(state)
        bar.advance(read % COLLECT_EVERY)
        replay.finish()
        checker.collect(findings, wait=True)
    finally:
        gc.set_threshold(*thresholds)
        checker.close()
    report.assessments_recomputed = results.recheck(source, findings.append)
    report.seconds = bar.close()
    report.leaves, report.events_checked = total, replay.events
    if remembered is not None and total < remembered[1]:
        findings.append(
            Finding(
                "truncated-log",
                f"the log holds {total} leaves, fewer than the "
                f"{remembered[1]} of the checkpoint verified before",
            )
        )
    if state.size < total:
        findings.append(Finding("truncated-log", f"the log says {total} leaves, {state.size} read"))
    _check_roots(source, notes, state, remembered, findings, report)
    if witnesses is not None:
        report.checkpoints_witnessed = _check_witnessed(notes, witnesses, findings, witnessed_from)
    for notification_id in source.unlogged():
        findings.append(
            Finding(
                "unlogged-event",
                f"notification {notification_id} is stored with no leaf in the log",
            )
        )
    if views and recomputer is not None:
        report.views = _compare_views(views, recomputer.digest(), findings)
    elif remembered is not None:
        report.views = "not compared in an incremental audit (run a full audit to compare)"
    _trust_report(report, trust, state)
    if remembered is not None:
        report.incremental = f"continued from the checkpoint of {remembered[1]} leaves"
    report.findings = findings
    if state.directory.ledger is None and state.size == 0 and not notes:
        raise StorageError(f"{source.description} holds no ledger")
    if state.directory.ledger is None:
        findings.append(
            Finding("missing-event", "the log does not begin with the ledger's genesis event")
        )
    if state_file is not None and snapshot is not None and not findings:
        _save_state(state_file, snapshot, signed_sizes[newest], newest, state.roots[newest])
    return report


def _check_witnessed(
    notes: list[str], witnesses: CheckpointPolicy, findings: list[Finding], witnessed_from: int
) -> int:
    """Check every kept checkpoint of at least ``witnessed_from`` leaves against the quorum;
    one finding per size that misses it.

    Return how many met it. A checkpoint whose own signature fails is reported by the root
    checks already; here it is only counted as not witnessed.
    """
    if not notes:
        findings.append(Finding("checkpoint-not-witnessed", "no checkpoint was signed at all"))
        return 0
    witnessed = 0
    for note in notes:
        try:
            size: int | str = Checkpoint.parse(parse_note(note)[0]).size
        except LedgerError:
            size = "unknown"
        if isinstance(size, int) and size < witnessed_from:
            continue
        try:
            witnesses.verify(note)
        except LedgerError as error:
            findings.append(
                Finding(
                    "checkpoint-not-witnessed",
                    f"the checkpoint of {size} leaves: {error.message}",
                )
            )
            continue
        witnessed += 1
    return witnessed


def _check_roots(
    source: Source,
    notes: list[str],
    state: ReplayState,
    remembered: tuple[str, int, bytes] | None,
    findings: list[Finding],
    report: AuditReport,
) -> None:
    checkpoints = check_checkpoints(notes, state, source.size(), findings.append)
    for checkpoint in checkpoints:
        computed = state.roots.get(checkpoint.size)
        if remembered is not None and checkpoint.size == remembered[1]:
            computed = remembered[2]
        if not computed:
            continue
        report.checkpoints_verified += 1
        if computed != checkpoint.root_hash:
            kind = "split-view" if remembered is not None else "checkpoint-root-mismatch"
            findings.append(
                Finding(
                    kind,
                    f"the checkpoint of {checkpoint.size} leaves states "
                    "another root than the stored events give",
                )
            )
    if remembered is not None and isinstance(source, StoreSource) and checkpoints:
        _check_store_consistency(source, remembered, checkpoints[-1], findings)


def _check_store_consistency(
    source: StoreSource,
    remembered: tuple[str, int, bytes],
    newest: Checkpoint,
    findings: list[Finding],
) -> None:
    note, size, root = remembered
    if newest.size < size:
        findings.append(
            Finding(
                "split-view",
                f"the newest checkpoint has {newest.size} leaves, "
                f"fewer than the {size} verified before",
            )
        )
        return
    try:
        proof = source.ledger.log.consistency_proof(size, newest.size)
        if size and size != newest.size:
            verify_consistency(size, newest.size, root, newest.root_hash, proof)
        elif size == newest.size and root != newest.root_hash:
            raise InvalidInputError("same size, different root")
    except LedgerError as error:
        findings.append(
            Finding(
                "split-view",
                f"no valid consistency proof from the remembered "
                f"checkpoint ({size} leaves) to {newest.size}: {error.message}; "
                f"remembered note: {note!r}",
            )
        )


def _check_remembered_root(
    state: ReplayState, trusted_root: VerifyingKey, findings: list[Finding]
) -> None:
    """A resumed audit does not replay the genesis, where the root key is compared with the
    trusted one: compare the root key the saved replay followed from it."""
    info = state.directory.ledger
    roots = [
        k.key
        for k in state.directory.keys.values()
        if info is not None and k.org_id == info.root_org and k.registered_leaf == 0
    ]
    if trusted_root not in roots:
        findings.append(
            Finding(
                "untrusted-root",
                f"the genesis this audit continues from names another root key than the "
                f"trusted {trusted_root.key_id}",
                0,
            )
        )


def _stored_views(source: Source) -> tuple[dict[str, int], dict[str, str]] | None:
    """The stored views' positions and digests, as they are (the audit never updates them)."""
    if not isinstance(source, StoreSource):
        return None
    database = ViewDatabase(source.ledger.store)
    try:
        try:
            positions = dict(database.query("SELECT view, position FROM view_tracking"))
        except Exception:
            return None
        # Every view this version keeps is compared, one without a tracking row (deleted) as
        # one at position 0: it has applied nothing, so it holds nothing.
        kept = {name: int(positions.get(name, 0)) for name in VIEWS}
        digests = digest_of(database)
        return kept, {name: digests[name] for name in kept}
    finally:
        database.close()


def _compare_views(
    stored: tuple[dict[str, int], dict[str, str]], computed: dict[str, str], findings: list[Finding]
) -> str:
    positions, digests = stored
    for name, digest in sorted(digests.items()):
        if computed.get(name) != digest:
            findings.append(
                Finding(
                    "view-digest-mismatch",
                    f"view {name!r} differs from the "
                    "same view recomputed from the events up to notification "
                    f"{positions[name]}",
                )
            )
    return f"{len(digests)} views compared, each at its stored position"


def _trust_report(report: AuditReport, trust: dict[str, Any] | None, state: ReplayState) -> None:
    ledger = state.directory.ledger
    if trust:
        report.trust = "trust anchors given by --trust"
    else:
        report.trust = (
            "NO TRUST ANCHORS GIVEN: trusted on first use, the root and log keys were taken "
            "from the data itself and no witness cosignature was required; compare these "
            "fingerprints with the published ones"
        )
    root_keys = [
        k.key
        for k in state.directory.keys.values()
        if ledger is not None and k.org_id == ledger.root_org
    ][:1]
    report.fingerprints = {f"root key {k.key_id}": fingerprint(k) for k in root_keys}
    report.fingerprints.update({f"log key {k}": fingerprint(v) for k, v in state.log_keys.items()})


def _load_state(path: Path | None) -> tuple[ReplayState, tuple[str, int, bytes] | None]:
    if path is None or not path.exists():
        return ReplayState(), None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("positions") != STATE_POSITIONS:
            return ReplayState(), None  # saved before keys were placed by leaf: replay all
        state = loads_state(Path(saved["replay"]).read_bytes())
    except (OSError, ValueError, KeyError, TypeError, AttributeError, StorageError) as error:
        raise StorageError(f"cannot read audit state {path}: {error}") from None
    if not isinstance(state, ReplayState):
        raise StorageError(f"cannot read audit state {path}: it holds no replay state")
    state.roots = {}
    return state, (saved["checkpoint"], saved["size"], bytes.fromhex(saved["root"]))


def _save_state(path: Path, snapshot: bytes, note: str, size: int, root: bytes) -> None:
    """Remember the newest verified checkpoint and the replay as it stood there."""
    replay_file = path.with_suffix(path.suffix + ".replay")
    replay_file.write_bytes(snapshot)
    path.write_text(
        json.dumps(
            {
                "checkpoint": note,
                "size": size,
                "root": root.hex(),
                "replay": str(replay_file.resolve()),
                "positions": STATE_POSITIONS,
            },
            indent=2,
        ),
        encoding="utf-8",
    )


def open_source(ledger: Any | None, bundle: Path | None) -> Source:
    if bundle is not None:
        return BundleSource(bundle)
    return StoreSource(ledger)
