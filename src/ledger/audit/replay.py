"""The audit replay: one pass over the log that checks every leaf, signature, key, version,
time, rule, checkpoint and view, and never stops at the first finding."""

from __future__ import annotations

import contextlib
import hashlib
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from hashlib import sha256 as _sha256
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from ..canonical import parse_json
from ..context import Context, S
from ..envelope import (
    TOPIC_PREFIX,
    body_bytes_of,
    check_body_numbers,
    check_body_shape,
    open_envelope_timed,
)
from ..errors import InvalidInputError, LedgerError, StorageError, VerificationError
from ..log.checkpoint import Checkpoint, open_checkpoint
from ..log.merkle import EMPTY_ROOT, LEAF_PREFIX, TreeBuilder
from ..log.note import NoteVerifier
from ..model import organisation_facts as facts
from ..model.aggregates import AGGREGATE_KINDS
from ..model.awards import scheme_minutes, star_level
from ..model.registry import EVENT_SPECS, EventSpec
from ..model.service import ServiceAccount
from ..model.timebank import Account
from ..signing import VerifyingKey
from ..trust import GENESIS, KEY_EVENT_TYPES, TrustDirectory, _no_events
from .compact import CompactStates
from .findings import Finding
from .signatures import SignatureChecker
from .sources import Leaf

CLOCK_SKEW = timedelta(minutes=5)
REVIEWS = {"RecordApproved", "RecordCorrected", "RecordVoided", "RecordRejected"}


@dataclass
class ReplayState:
    """Everything the replay knows after some leaves; saved for incremental audits."""

    size: int = 0
    directory: TrustDirectory = field(default_factory=lambda: TrustDirectory(_no_events))
    states: CompactStates = field(default_factory=CompactStates)
    tree: TreeBuilder = field(default_factory=TreeBuilder)
    last_recorded: datetime | None = None
    minted: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    log_keys: dict[str, VerifyingKey] = field(default_factory=dict)
    roots: dict[int, bytes] = field(default_factory=dict)
    unexplained_gaps: int = 0

    def __getstate__(self) -> dict[str, Any]:
        """The fields as saved (``--state``): the aggregate states themselves, none packed."""
        fields = dict(vars(self))
        fields["states"] = dict(self.states.items())
        return fields

    def __setstate__(self, fields: dict[str, Any]) -> None:
        vars(self).update(fields)
        self.states = CompactStates(fields["states"])


class AuditContext(Context):
    """Rules re-applied to the replayed state: reads come from the replay, never the store."""

    def __init__(self, replay: ReplayState) -> None:
        super().__init__(lambda _id: [], replay.directory, "", "")
        self._states = replay.states

    def _load(self, cls: type[S], aggregate_id: UUID) -> S:
        """A state the replay has not seen yet starts empty: nothing is read from a store, and
        nothing is remembered about where it was loaded (the replay keeps every state)."""
        return cls(aggregate_id=aggregate_id)

    def after(self, key: object, finaliser: Callable[[Context], None]) -> None:
        if isinstance(key, tuple) and key and key[0] == "pair":
            super().after(key, finaliser)


class Replay:
    def __init__(
        self,
        state: ReplayState,
        report: Callable[[Finding], None],
        checker: SignatureChecker,
        trusted_root: VerifyingKey | None,
        view_sink: Callable[[Any], None] | None = None,
    ) -> None:
        if not isinstance(state.states, CompactStates):  # read from an older saved state
            try:
                state.states = CompactStates(state.states)
            except (TypeError, AttributeError) as error:
                raise StorageError(f"the saved replay state is refused: {error}") from None
        self.s = state
        self.report = report
        self.checker = checker
        self.trusted_root = trusted_root
        self.view_sink = view_sink
        self.ctx = AuditContext(state)
        self.command: tuple[str, str] | None = None
        self.command_key_events: list[Any] = []
        self.touched_accounts: dict[UUID, set[str]] = {}
        self.events = 0

    def leaf(self, leaf: Leaf) -> None:
        """Check one leaf and take it into the replay."""
        index, state = leaf.index, leaf.state
        s = self.s
        if index < s.size:
            self.report(
                Finding(
                    "missing-event",
                    f"leaf {index} appears again after leaf {s.size - 1}",
                    index,
                    leaf.where(),
                )
            )
            return
        while index > s.size:
            self.report(Finding("missing-event", "this leaf is missing from the log", s.size))
            s.unexplained_gaps += 1
            self._append(EMPTY_ROOT)
        if state is None:
            self.report(
                Finding("missing-event", "the log has this leaf but its event is gone", index)
            )
            s.unexplained_gaps += 1
            self._append(leaf.stored_hash or EMPTY_ROOT)
            return
        digest = _sha256(LEAF_PREFIX + state).digest()  # leaf_hash(state)
        if leaf.stored_hash is not None and leaf.stored_hash != digest:
            self.report(
                Finding(
                    "leaf-hash-mismatch",
                    "the event's bytes differ from its logged leaf",
                    index,
                    leaf.where(),
                )
            )
        tree = s.tree
        tree.add(digest)
        s.size = size = tree.size
        if size in s.roots:
            s.roots[size] = tree.root()
        self.events += 1
        try:
            body, signature, recorded_at, recorded = open_envelope_timed(state, check_numbers=False)
        except InvalidInputError as error:
            self.report(Finding("malformed-event", str(error), index, leaf.where()))
            s.unexplained_gaps += 1  # as a body of the wrong shape: its version is a gap
            return
        self._event(leaf, body, signature, recorded_at, recorded)

    def _append(self, digest: bytes) -> None:
        self.s.tree.add(digest)
        self.s.size = self.s.tree.size
        if self.s.size in self.s.roots:
            self.s.roots[self.s.size] = self.s.tree.root()

    def _event(
        self,
        leaf: Leaf,
        body: dict[str, Any],
        signature: bytes,
        recorded_at: str,
        recorded: datetime,
    ) -> None:
        """The checks of one event (each body field read once): shape, identity, command
        boundary, times, key, signature (handed to the workers), rules and views.

        A body of the wrong shape is reported and left out of everything after: none of its
        fields can be trusted to mean what the rules read them as. Its version counts as a gap
        in its aggregate, as a missing event's does."""
        try:
            occurred = check_body_shape(body)
            check_body_numbers(body)
        except InvalidInputError as error:
            self.report(Finding("malformed-event", error.message, leaf.index, leaf.where()))
            self.s.unexplained_gaps += 1
            return
        kind, org = body["type"], body["org"]
        if (
            body["aggregate_id"] != leaf.aggregate_id
            or body["aggregate_version"] != leaf.version
            or leaf.topic != TOPIC_PREFIX + kind
        ):
            self.report(
                Finding(
                    "identity-mismatch",
                    "stored id, version or type differ from the signed body",
                    leaf.index,
                    leaf.where(),
                )
            )
        command = body["idempotency_key"]
        if self.command is not None and command != self.command[0]:
            self.end_command()
        self.command = (command, org)
        occurred_at = body["occurred_at"]
        self._times(leaf, occurred, occurred_at, recorded_at, recorded)
        spec = EVENT_SPECS.get(kind)
        key = self._key(leaf, body, spec)
        if key is not None:
            self.checker.submit((key.raw, signature, body_bytes_of(leaf.state or b"")), leaf)
        if not self._rules(leaf, body, kind, spec):
            return
        if self.view_sink is not None:
            self.view_sink(
                SimpleNamespace(
                    type=kind,
                    org=org,
                    data=body["data"],
                    occurred_at=occurred_at,
                    position=leaf.notification_id,
                )
            )

    def _times(
        self,
        leaf: Leaf,
        occurred: datetime,
        occurred_at: str,
        recorded_at: str,
        recorded: datetime,
    ) -> None:
        """``recorded_at`` in log order, and no event recorded before it happened (``occurred``
        and ``recorded`` are the two times parsed)."""
        last = self.s.last_recorded
        if last is not None and recorded < last:
            self.report(
                Finding(
                    "backdated-event",
                    f"recorded at {recorded_at}, before the event it follows ({last.isoformat()})",
                    leaf.index,
                    leaf.where(),
                )
            )
        if occurred > recorded + CLOCK_SKEW:
            self.report(
                Finding(
                    "backdated-event",
                    f"says it happened at {occurred_at}, after it was recorded ({recorded_at})",
                    leaf.index,
                    leaf.where(),
                )
            )
        if last is None or recorded > last:
            self.s.last_recorded = recorded

    def _key(self, leaf: Leaf, body: dict[str, Any], spec: EventSpec | None) -> VerifyingKey | None:
        directory = self.s.directory
        if body["type"] == GENESIS:
            try:
                root = VerifyingKey.from_base64(body["data"]["root_key"])
            except (KeyError, TypeError, LedgerError):
                self.report(Finding("malformed-event", "genesis without a root key", leaf.index))
                return None
            if self.trusted_root is not None and root != self.trusted_root:
                self.report(
                    Finding(
                        "untrusted-root",
                        f"genesis root key {root.key_id} is not "
                        f"the trusted {self.trusted_root.key_id}",
                        leaf.index,
                        leaf.where(),
                    )
                )
            return root if root.key_id == body["key_id"] else None
        try:
            # Positions are leaf indexes: the log proves them, where a notification id is a
            # number the store keeps beside it, which nothing signs.
            info = directory.authorise(
                body["key_id"],
                body["org"],
                leaf.index,
                spec.key_purpose if spec else None,
            )
        except LedgerError as error:
            self.report(Finding("key-not-valid", error.message, leaf.index, leaf.where()))
            known = directory.keys.get(body["key_id"])
            return known.key if known else None
        return info.key

    def end_command(self) -> None:
        """Checks that span a command: paired transfers, stars due, then key events."""
        try:
            self.ctx.finish()
        except LedgerError as error:
            self.report(Finding("time-bank-imbalance", error.message))
        for account_id, records in self.touched_accounts.items():
            self._check_stars(account_id, records)
        self.touched_accounts.clear()
        for notification in self.command_key_events:
            try:
                self.s.directory.follow(notification)
            except LedgerError as error:
                self.report(Finding("key-not-valid", error.message, notification.leaf_index))
            self._follow_log_keys(notification)
        self.command_key_events.clear()
        self.ctx.drafts.clear()
        self.s.states.compact()

    def _follow_log_keys(self, notification: Any) -> None:
        """Every log key the log names, retired ones too: the checkpoints they signed stay
        verifiable (the keys come from the same facts as the trust directory's)."""
        body = parse_json(notification.state)["body"]
        try:
            if body["type"] == GENESIS:
                key = facts.ledger_created(body["data"]).log_key
            elif body["type"] == "LogKeyAdded":
                key = facts.log_key_added(body["data"])
            else:
                return
        except (LedgerError, KeyError, TypeError):
            return  # a malformed key event: following it in the directory reported it
        self.s.log_keys[key.key_id] = key.public_key

    def _rules(
        self,
        leaf: Leaf,
        body: dict[str, Any],
        kind: str,
        spec: EventSpec | None,
    ) -> bool:
        """Re-apply the rules to the event; False when its data is not of its type's schema
        (reported, and nothing taken from it: no state, no key, no credit, no view row)."""
        if spec is None:
            self.report(
                Finding("rule-violation", f"unknown event type {kind!r}", leaf.index, leaf.where())
            )
            return False
        aggregate_id = _uuid(body["aggregate_id"])
        state = self.ctx.state(AGGREGATE_KINDS[spec.aggregate], aggregate_id)
        version = body["aggregate_version"]
        if version > state.version + 1 and self.s.unexplained_gaps:
            self.s.unexplained_gaps -= 1
            state.version = version - 1
        elif version != state.version + 1:
            self.report(
                Finding(
                    "version-sequence",
                    f"version {version} follows version {state.version}",
                    leaf.index,
                    leaf.where(),
                )
            )
        try:
            model = spec.parse(body["data"])
        except InvalidInputError as error:
            self.report(Finding("malformed-event", error.message, leaf.index, leaf.where()))
            state.version = version
            return False
        if kind in KEY_EVENT_TYPES:
            self.command_key_events.append(
                SimpleNamespace(
                    id=leaf.index,
                    leaf_index=leaf.index,
                    state=leaf.state,
                    originator_id=leaf.aggregate_id,
                    originator_version=leaf.version,
                )
            )
        # Organisation ids are few and kept in many states: one copy of each (interned).
        self.ctx.org = sys.intern(body["org"])
        self.ctx.occurred_at = body["occurred_at"]
        data = body["data"]
        try:
            self.ctx.emit(kind, aggregate_id, model, as_org=self.ctx.org)
        except LedgerError as error:
            self.report(Finding("rule-violation", error.message, leaf.index, leaf.where()))
            fact = SimpleNamespace(type=kind, org=self.ctx.org, occurred_at=self.ctx.occurred_at)
            with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
                state.apply(fact, data)
        if kind in REVIEWS:
            self.touched_accounts.setdefault(aggregate_id, set()).add(data["record_id"])
        if kind == "CreditEarned":
            self.s.minted[data["bank_id"]] += data["amount"]
        elif kind == "CreditClawedBack":
            self.s.minted[data["bank_id"]] -= data["amount"]
        return True

    def _check_stars(self, account_id: UUID, records: set[str]) -> None:
        """Under each scheme that counts a record the command changed, the stars held must be
        the stars the scheme's minutes reach."""
        account = self.s.states.get(account_id)
        if not isinstance(account, ServiceAccount):
            return
        directory = self.s.directory
        changed = [account.records[r].recording_org for r in records if r in account.records]
        for scheme in directory.reference.star_schemes.values():
            try:
                if not any(directory.is_at_or_above(scheme.owner, org) for org in changed):
                    continue
                minutes = scheme_minutes(directory, account, scheme.owner)
            except (LedgerError, KeyError) as error:  # a record by an organisation never seen
                self.report(
                    Finding(
                        "star-mismatch",
                        f"the stars of volunteer {account.number} under {scheme.scheme_id} "
                        f"cannot be counted: {error}",
                    )
                )
                continue
            due = star_level(minutes, scheme.thresholds_hours)
            have = account.stars.get(scheme.scheme_id, 0)
            if due != have:
                self.report(
                    Finding(
                        "star-mismatch",
                        f"volunteer {account.number} holds star {have} of {scheme.scheme_id} "
                        f"but the {minutes} minutes it counts reach {due}",
                    )
                )

    def finish(self) -> None:
        self.end_command()
        balances: dict[str, int] = defaultdict(int)
        for state in self.s.states.values_of(Account):
            bank = state.account_id.split(":", 1)[0]
            balances[bank] += state.balance
            if state.balance < 0:
                self.report(
                    Finding(
                        "time-bank-imbalance",
                        f"account {state.account_id} is at {state.balance}",
                    )
                )
        for bank in set(balances) | set(self.s.minted):
            if balances[bank] != self.s.minted[bank]:
                self.report(
                    Finding(
                        "time-bank-imbalance",
                        f"bank {bank}: accounts hold "
                        f"{balances[bank]} but {self.s.minted[bank]} was minted",
                    )
                )


@lru_cache(maxsize=1 << 12)  # the aggregates of the last few commands: bounded, and enough
def _uuid(text: str) -> UUID:
    return UUID(text)


def check_checkpoints(
    notes: list[str], state: ReplayState, log_size: int, report: Callable[[Finding], None]
) -> list[Checkpoint]:
    """Verify each kept checkpoint's signature; return those whose roots the replay must meet."""
    verifiers = (
        [
            NoteVerifier.for_key(state.directory.ledger.origin, key)
            for key in state.log_keys.values()
        ]
        if state.directory.ledger
        else []
    )
    good = []
    for note in notes:
        try:
            checkpoint = open_checkpoint(note, verifiers)
        except (VerificationError, InvalidInputError) as error:
            report(Finding("checkpoint-signature-invalid", f"{error.message}: {note[:80]!r}"))
            continue
        if checkpoint.size > log_size:
            report(
                Finding(
                    "truncated-log",
                    f"checkpoint of {checkpoint.size} leaves, but the log holds {log_size}",
                )
            )
        good.append(checkpoint)
    return good


def fingerprint(key: VerifyingKey) -> str:
    digest = hashlib.sha256(key.raw).hexdigest()
    return "SHA256:" + ":".join(digest[i : i + 4] for i in range(0, 32, 4))


def now() -> float:
    return time.monotonic()
