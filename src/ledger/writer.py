"""The one write path: decide, sign, authorise, store with the log and the idempotency claim.

A command runs its decision against current verified state (cached states fast-forwarded by the
events stored since, see :mod:`ledger.state_cache`), signs every staged event with the acting
organisation's key, and stores the events, their Merkle leaves and the idempotency claim in one
transaction. A lost race for an aggregate is retried with fresh state; a reused idempotency key
returns the first result, or is refused if the content differs.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from .canonical import canonical_json, read_own_json
from .claim_seal import ClaimSeal
from .context import Context
from .drafting import CommandDraft
from .envelope import (
    SignedEvent,
    body_to_sign,
    check_idempotency_key,
    format_time,
    restamp_envelope,
    signing_input,
    validate_body,
    verify_body,
)
from .errors import (
    ConcurrencyConflictError,
    IdempotencyConflictError,
    InvalidInputError,
    KeyNotAuthorisedError,
    LedgerError,
    RuleViolationError,
    SignatureError,
    StoreIntegrityError,
)
from .mapper import SignedEventMapper
from .model.registry import Draft, spec_for
from .results import NoValue, ResultValue
from .signing import Signer, VerifyingKey, sign_many
from .state_cache import VerifiedStateCache, leaf_hash_of
from .storage.records import InsertReceipt, LedgerRecorderProtocol, SideRow
from .trust import GENESIS, KEY_TOPICS, TrustDirectory

MAX_ATTEMPTS = 8
KEY_TOPIC_SET = frozenset(KEY_TOPICS)


@dataclass(frozen=True)
class EventRef:
    """Where a stored event is: its aggregate and version, and its place in both logs."""

    aggregate_id: str
    version: int
    type: str
    notification_id: int
    leaf_index: int

    def to_json(self) -> dict[str, Any]:
        return {
            "aggregate_id": self.aggregate_id,
            "version": self.version,
            "type": self.type,
            "notification_id": self.notification_id,
            "leaf_index": self.leaf_index,
        }


V = TypeVar("V", bound=ResultValue, covariant=True)


@dataclass(frozen=True)
class CommandResult(Generic[V]):
    """What a command stored, and its value (a :mod:`ledger.results` type, the same on a first
    run and on a retry). ``replayed`` is True when an idempotent retry found it stored."""

    events: tuple[EventRef, ...]
    value: V
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "events": [e.to_json() for e in self.events],
            "value": self.value.to_json(),
            "replayed": self.replayed,
        }


R = TypeVar("R", bound=ResultValue)
Decision = Callable[[Context], dict[str, Any]]
SignerLookup = Callable[[str, str], Signer]
SideRows = Callable[[], Sequence[SideRow]]
RowsOfEvents = Callable[[Sequence[dict[str, Any]]], Sequence[SideRow]]


class Writer:
    def __init__(
        self,
        recorder: LedgerRecorderProtocol,
        mapper: SignedEventMapper,
        directory: TrustDirectory,
        clock: Callable[[], datetime],
        cache: VerifiedStateCache | None = None,
        rows_of_events: RowsOfEvents | None = None,
        claims: ClaimSeal | None = None,
    ) -> None:
        """``rows_of_events(bodies)`` gives side rows that follow from the bodies of the events
        being stored, whoever signed them (a transfer's receiving account, say); they are
        stored in the same transaction as the events. ``claims`` seals the idempotency claims
        (unsealed without it)."""
        self.recorder = recorder
        self.claims = claims if claims is not None else ClaimSeal(None)
        self.rows_of_events = rows_of_events
        self.mapper = mapper
        self.directory = directory
        self.clock = clock
        self.cache = cache if cache is not None else VerifiedStateCache()

    def read_events(self, aggregate_id: UUID) -> list[SignedEvent]:
        """Every event of the aggregate, verified (a long history on several cores)."""
        return self.mapper.verify_many(self.recorder.select_events(aggregate_id))

    def read_tail(
        self, aggregate_id: UUID, version: int, leaf_hash: bytes
    ) -> list[SignedEvent] | None:
        """The verified events after ``version``, or None when the stored event at ``version``
        is no longer the one whose leaf hash the caller remembers (the state must be rebuilt)."""
        stored = self.recorder.select_events(aggregate_id, gt=version - 1)
        if (
            not stored
            or stored[0].originator_version != version
            or leaf_hash_of(stored[0].state) != leaf_hash
        ):
            return None
        return self.mapper.verify_many(stored[1:])

    def read_many(
        self, starts: dict[UUID, tuple[int, bytes | None]]
    ) -> dict[UUID, list[SignedEvent] | None]:
        """For each aggregate, the verified events after the version given with the leaf hash of
        its event there (or all its events, given version 0): one read of the store for all.
        None for an aggregate whose event at that version is no longer the remembered one."""
        rows = self.recorder.select_events_from([(i, max(v, 1)) for i, (v, _) in starts.items()])
        found: dict[UUID, list[SignedEvent] | None] = {}
        for aggregate_id, (version, leaf_hash) in starts.items():
            stored = rows.get(aggregate_id, [])
            if leaf_hash is not None:
                if (
                    not stored
                    or stored[0].originator_version != version
                    or leaf_hash_of(stored[0].state) != leaf_hash
                ):
                    found[aggregate_id] = None
                    continue
                stored = stored[1:]
            found[aggregate_id] = self.mapper.verify_many(stored)
        return found

    def context(self, org: str, occurred_at: str) -> Context:
        """A fresh context for one attempt at a command."""
        return Context(
            self.read_events,
            self.directory,
            org,
            occurred_at,
            cache=self.cache,
            read_tail=self.read_tail,
            read_many=self.read_many,
        )

    def run(
        self,
        *,
        org: str,
        signer: Signer | Callable[[], Signer],
        idempotency_key: str,
        command: str,
        params: dict[str, Any],
        decide: Decision,
        result_type: type[R],
        occurred_at: datetime | None = None,
        other_signers: SignerLookup | None = None,
        side_rows: SideRows | None = None,
    ) -> CommandResult[R]:
        """Run a command for ``org``, signing with ``signer`` (or the signer a callable gives,
        looked up only when the command is not an idempotent retry).

        Events staged for another organisation or needing another key purpose (automatic awards)
        are signed with ``other_signers(org, purpose)``. ``side_rows()``, called after each
        decision, gives side-table rows stored in the same transaction as the events.
        """
        check_idempotency_key(idempotency_key)
        when = format_time(occurred_at or self.clock())
        request = request_hash({"command": command, "org": org, "params": params})
        # Nothing is read before deciding. The idempotency claim is not looked up: a retried
        # request is rare, and the claim's primary key refuses it in the insert (or its
        # decision fails), after which the stored result is replayed. The trust directory is
        # not refreshed: the insert is refused if a key event was stored after the position
        # the directory decided with (the fence), and the next attempt refreshes; a refusal
        # that a newer directory might not make is decided again after a refresh.
        for attempt in range(MAX_ATTEMPTS):
            if attempt:  # a lost race: let the winner's neighbours through before retrying
                time.sleep(random.uniform(0, 0.002 * attempt))
            refreshed = bool(attempt) or self.directory.stale
            if refreshed:
                self.directory.refresh()
            # Taken before deciding: every key event up to it is in the directory, so a key
            # event after it, followed by another thread while this one decides or not, fences.
            fence = self.directory.last_position
            ctx = self.context(org, when)
            try:
                # Looked up at each attempt: after a fenced attempt's refresh, a key revoked
                # since (here or by another process) is not chosen when the org has another.
                # (``hasattr``, not ``isinstance`` against the runtime-checkable protocol,
                # which costs microseconds per call)
                current = cast(Signer, signer) if hasattr(signer, "sign") else signer()
                value = decide(ctx)
                ctx.finish()
                signers = [self._signer(d, org, current, other_signers) for d in ctx.drafts]
                sealed = self._seal(ctx.drafts, signers, idempotency_key)
                rows = side_rows() if side_rows is not None else ()
                result = self._store(
                    sealed, org, idempotency_key, request, value, result_type, fence, rows
                )
            except LedgerError:
                ctx.discard()
                if not refreshed and self.directory.refresh():
                    continue  # the directory was behind: decide again with what it now knows
                replay = self._replay(org, idempotency_key, request, result_type)
                if replay is not None:
                    return replay
                raise
            except BaseException:
                ctx.discard()
                raise
            if result is not None and not result.replayed:
                ctx.keep(sealed)
                return result
            ctx.discard()
            if result is not None:
                return result
        raise ConcurrencyConflictError(
            f"{command}: other writers kept changing the same records; try again"
        )

    def submit(
        self,
        signed: Sequence[tuple[dict[str, Any], bytes]],
        other_signers: SignerLookup | None = None,
        side_rows: Sequence[SideRow] = (),
    ) -> CommandResult[NoValue]:
        """Store bodies signed outside the ledger, exactly as signed, all or nothing.

        Events the rules derive from them (a star attained, say) are signed by the ledger with
        ``other_signers``, as for any command; ``side_rows`` are stored in the same transaction.
        """
        if not signed:
            raise InvalidInputError("submit at least one signed event")
        canonical = [body_to_sign(validate_body(body, now=self.clock())) for body, _ in signed]
        first = signed[0][0]
        org, key = first["org"], first["idempotency_key"]
        if any(b["org"] != org or b["idempotency_key"] != key for b, _ in signed):
            raise InvalidInputError("events submitted together share one org and idempotency key")
        request = request_hash(
            [[b.hex(), s.hex()] for b, (_, s) in zip(canonical, signed, strict=True)]
        )
        replay = self._replay(org, key, request, NoValue)
        if replay is not None:
            return replay
        self.directory.refresh()
        fence = self.directory.last_position
        ctx = self.context(org, first["occurred_at"])
        try:
            sealed = self._check_submitted(ctx, signed, canonical, key, other_signers)
            result = self._store(sealed, org, key, request, {}, NoValue, fence, side_rows)
        except BaseException:
            ctx.discard()
            raise
        if result is None:
            ctx.discard()
            if self.rows_of_events is not None:
                # A writer that raced this one may have taken a key these events take (a
                # transfer id): looked up again, that refuses them for what it is.
                self.rows_of_events([event.body for event in sealed])
            raise ConcurrencyConflictError(
                "another event was stored for the same aggregate first; re-read it and re-sign"
            )
        if result.replayed:
            ctx.discard()
        else:
            ctx.keep(sealed)
        return result

    def _check_submitted(
        self,
        ctx: Context,
        signed: Sequence[tuple[dict[str, Any], bytes]],
        canonical: Sequence[bytes],
        key: str,
        other_signers: SignerLookup | None,
    ) -> list[SignedEvent]:
        """The submitted events, checked and sealed; ``canonical`` holds each body's canonical
        bytes, made by :meth:`submit` once it validated them."""
        org = signed[0][0]["org"]
        now = self._provisional_time()
        sealed: list[SignedEvent] = []
        for (body, signature), body_bytes in zip(signed, canonical, strict=True):
            key_info = self.directory.authorise(
                body["key_id"], org, purpose=spec_for(body["type"]).key_purpose
            )
            _refuse_self_revocation(body["type"], body["data"], body["key_id"])
            try:
                verify_body(body_bytes, signature, key_info.key)
            except SignatureError as error:
                raise SignatureError(f"submitted {body['type']}: {error}") from None
            ctx.occurred_at = body["occurred_at"]
            draft = ctx.emit(body["type"], UUID(body["aggregate_id"]), body["data"])
            if draft.version != body["aggregate_version"] or draft.data != body["data"]:
                raise InvalidInputError(
                    f"submitted {body['type']} must be version {draft.version} of its aggregate "
                    "and state every data field explicitly; re-read the aggregate and re-sign"
                )
            sealed.append(SignedEvent.sealed(body, signature, now, body_bytes))
        submitted = len(ctx.drafts)
        ctx.finish()
        derived = ctx.drafts[submitted:]
        signers = [self._signer(d, "", None, other_signers) for d in derived]
        sealed.extend(self._seal(derived, signers, key))
        return sealed

    def draft(
        self,
        *,
        org: str,
        key_id: str,
        idempotency_key: str,
        decide: Decision,
        occurred_at: datetime | None = None,
    ) -> CommandDraft:
        """The bodies ``decide`` would have ``org`` sign with ``key_id``; nothing is stored.

        Only a command whose own events are all ``org``'s ordinary (``signing``) events can be
        drafted; events the rules derive from them (stars, credit) are added by the ledger when
        the signed bodies are submitted.
        """
        check_idempotency_key(idempotency_key)
        self.directory.refresh()
        self.directory.authorise(key_id, org, purpose="signing")
        ctx = Context(
            self.read_events, self.directory, org, format_time(occurred_at or self.clock())
        )
        value = decide(ctx)
        own = list(ctx.drafts)
        ctx.finish()
        bodies = []
        for draft in own:
            if draft.org != org or spec_for(draft.type).key_purpose != "signing":
                raise RuleViolationError(
                    f"{draft.type} for {draft.org!r} cannot be signed outside the ledger"
                )
            body = {
                "type": draft.type,
                "org": draft.org,
                "key_id": key_id,
                "aggregate_id": str(draft.aggregate_id),
                "aggregate_version": draft.version,
                "occurred_at": draft.occurred_at,
                "idempotency_key": idempotency_key,
                "data": draft.data,
            }
            bodies.append(validate_body(body, now=self.clock()))
        return CommandDraft(tuple(bodies), value)

    @staticmethod
    def _signer(
        draft: Draft, org: str, signer: Signer | None, other_signers: SignerLookup | None
    ) -> Signer:
        purpose = spec_for(draft.type).key_purpose
        if signer is not None and draft.org == org and purpose == "signing":
            return signer
        if other_signers is None:
            raise KeyNotAuthorisedError(f"{draft.type} needs a {purpose} key of {draft.org!r}")
        return other_signers(draft.org, purpose)

    def _seal(
        self, drafts: Sequence[Draft], signers: Sequence[Signer], idempotency_key: str
    ) -> list[SignedEvent]:
        """Each draft authorised, checked and signed by its signer (a long batch on several
        cores, see :func:`~ledger.signing.sign_many`), sealed in its envelope."""
        bodies = [self._body(d, s, idempotency_key) for d, s in zip(drafts, signers, strict=True)]
        signatures = sign_many(
            [(s, signing_input(b)) for s, (_, b) in zip(signers, bodies, strict=True)]
        )
        now = self._provisional_time()
        return [
            SignedEvent.sealed(body, signature, now, body_bytes)
            for (body, body_bytes), signature in zip(bodies, signatures, strict=True)
        ]

    def _body(
        self, draft: Draft, signer: Signer, idempotency_key: str
    ) -> tuple[dict[str, Any], bytes]:
        """The body ``signer`` signs for ``draft``, and its canonical bytes, once the signer may
        sign it."""
        if draft.type == GENESIS:
            if VerifyingKey.from_base64(draft.data["root_key"]) != signer.public_key:
                raise KeyNotAuthorisedError(
                    "the genesis event is signed with the root key it names"
                )
        else:
            purpose = spec_for(draft.type).key_purpose
            self.directory.authorise(signer.key_id, draft.org, purpose=purpose)
            _refuse_self_revocation(draft.type, draft.data, signer.key_id)
        body = {
            "type": draft.type,
            "org": draft.org,
            "key_id": signer.key_id,
            "aggregate_id": str(draft.aggregate_id),
            "aggregate_version": draft.version,
            "occurred_at": draft.occurred_at,
            "idempotency_key": idempotency_key,
            "data": draft.data,
        }
        return body, body_to_sign(validate_body(body, now=self.clock()))

    def _provisional_time(self) -> str:
        """The ``recorded_at`` an envelope is sealed with; the store stamps the time of the insert
        over it, under its write lock, so one reading of the clock serves a whole command."""
        return format_time(self.clock())

    def _store(
        self,
        sealed: list[SignedEvent],
        org: str,
        key: str,
        request: str,
        value: dict[str, Any],
        result_type: type[R],
        fence: int,
        side_rows: Sequence[SideRow] = (),
    ) -> CommandResult[R] | None:
        """Store ``sealed`` with the claim, unless a key event was stored after ``fence`` (the
        directory's position the decision started from). None: decide again."""
        if not sealed:  # nothing to store, and so no claim: a claim always names its events
            return CommandResult(
                events=(), value=result_type.from_json(read_own_json(canonical_json(value)))
            )
        refs = [[str(e.originator_id), e.originator_version, e.type] for e in sealed]
        claim = self.claims.make(org, key, request, refs, value)
        receipt = InsertReceipt()
        stored = [self.mapper.to_stored_event(e) for e in sealed]
        if self.rows_of_events is not None:
            side_rows = [*side_rows, *self.rows_of_events([e.body for e in sealed])]
        try:
            self.recorder.insert_events(
                stored,
                claim=claim,
                receipt=receipt,
                fence=fence,
                fence_topics=KEY_TOPICS,
                stamp_clock=self.clock,
                side_rows=side_rows,
            )
        except IntegrityError:
            replay = self._replay(org, key, request, result_type)
            if replay is not None:
                return replay
            return None
        if any(event.topic in KEY_TOPIC_SET for event in stored):
            self.directory.mark_stale()
        # The store stamped recorded_at under its write lock: keep the events as stored, so the
        # state cache remembers the leaf hashes the log holds.
        for i, recorded_at in enumerate(receipt.recorded_at):
            event = sealed[i]  # built directly: ``dataclasses.replace`` costs microseconds
            sealed[i] = SignedEvent(
                event.originator_id,
                event.originator_version,
                event.body,
                event.signature,
                recorded_at,
                restamp_envelope(event.envelope, recorded_at),
            )
        return CommandResult(
            events=tuple(
                EventRef(str(e.originator_id), e.originator_version, e.type, nid, leaf)
                for e, nid, leaf in zip(
                    sealed, receipt.notification_ids, receipt.leaf_indexes, strict=True
                )
            ),
            # the value as a replay of the claim gives it back
            value=result_type.from_json(read_own_json(claim.result)["value"]),
        )

    def _replay(
        self, org: str, key: str, request: str, result_type: type[R]
    ) -> CommandResult[R] | None:
        claim = self.recorder.find_claim(org, key)
        if claim is None:
            return None
        stored = self.claims.open(claim)
        if claim.request_hash != request:
            raise IdempotencyConflictError(
                f"idempotency key {key!r} was already used by {org!r} for a different request; "
                "use a new key for a new request"
            )
        events = [self._claimed(key, *named) for named in stored["events"]]
        if not any(event.body["org"] == org for event in events):
            raise StoreIntegrityError(
                f"the claim of idempotency key {key!r} by {org!r} names no event of {org!r}: "
                "a claim is stored only with its command's events"
            )
        refs = tuple(
            EventRef(
                str(e.originator_id),
                e.originator_version,
                e.type,
                e.notification_id or 0,
                -1 if e.leaf_index is None else e.leaf_index,
            )
            for e in events
        )
        return CommandResult(
            events=refs, value=result_type.from_json(stored["value"]), replayed=True
        )

    def _claimed(self, key: str, aggregate_id: str, version: int, event_type: str) -> SignedEvent:
        """An event a claim names, verified, and of the command the claim is for (it carries the
        claim's idempotency key): a claim is a row nobody signed, which the operator could
        change, or write ahead of a command to have it answered with success and nothing
        stored."""
        found = self.recorder.select_events(UUID(aggregate_id), gt=version - 1, lte=version)
        event = self.mapper.verify(found[0]) if found else None
        if event is None or event.type != event_type or event.body["idempotency_key"] != key:
            raise StoreIntegrityError(
                f"the claim of idempotency key {key!r} names {event_type} {aggregate_id} "
                f"v{version}, which is not an event of that command"
            )
        return event


def _refuse_self_revocation(event_type: str, data: dict[str, Any], key_id: str) -> None:
    """A key signs nothing from its revocation on, its own revocation included: signed by the
    key it revokes, the event would be refused as tampered by every reader of the log."""
    if event_type == "KeyRevoked" and data.get("key_id") == key_id:
        raise KeyNotAuthorisedError(
            f"key {key_id} cannot sign its own revocation; sign with another key of the "
            "organisation, or let an organisation above it revoke the key"
        )


def request_hash(request: Any) -> str:
    """What an idempotency claim keeps of a request: the SHA-256 of its canonical JSON."""
    return hashlib.sha256(canonical_json(request)).hexdigest()
