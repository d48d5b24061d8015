"""The mapper: every event read from the store is checked before anyone sees it.

Projections, subscriptions and repositories read through the mapper, so a stored event whose
bytes were altered, that is missing from the Merkle log, or whose signature does not verify raises
:class:`TamperedEventError` naming the event instead of yielding a wrong value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from .envelope import SignedEvent, body_bytes_of, event_topic, open_envelope, signing_input
from .errors import InvalidInputError, KeyNotAuthorisedError, TamperedEventError
from .model.registry import EVENT_SPECS
from .signing import VerifyingKey, verify_many
from .trust import GENESIS, TrustDirectory


def _purpose(event_type: object) -> str | None:
    spec = EVENT_SPECS.get(str(event_type))
    return None if spec is None else spec.key_purpose


@dataclass(frozen=True, slots=True)
class _Checked:
    """One stored event with every check but its signature done: the event, or why it is
    refused; and the signature still to verify (key, signature, signed bytes), if it got that
    far."""

    where: str
    event: SignedEvent | None = None
    refused: str | None = None
    signature: tuple[VerifyingKey, bytes, bytes] | None = None


class SignedEventMapper(Mapper[UUID]):
    directory: TrustDirectory | None = None

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        assert isinstance(domain_event, SignedEvent)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=event_topic(domain_event.type),
            state=domain_event.envelope,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return self.verify(stored_event)

    def verify(self, stored: StoredEvent) -> SignedEvent:
        """The stored event, checked: its leaf, envelope, identity, key and signature."""
        (event,) = self.verify_many([stored])
        return event

    def verify_many(self, stored_events: Sequence[StoredEvent]) -> list[SignedEvent]:
        """Each stored event checked as :meth:`verify` checks it, in order; the first that fails
        raises what it would raise alone. The signatures of a long run are verified on several
        cores (:func:`~ledger.signing.verify_many`)."""
        checked: list[_Checked] = []
        for stored in stored_events:
            checked.append(self._check(stored))
            if checked[-1].refused is not None:
                break  # nothing after the first refusal is looked at
        verdicts = iter(verify_many([c.signature for c in checked if c.signature is not None]))
        events = []
        for c in checked:
            bad_signature = next(verdicts) if c.signature is not None else None
            if bad_signature is not None:  # checked before the key's authorisation, as alone
                raise TamperedEventError(f"{c.where}: {bad_signature}")
            if c.refused is not None:
                raise TamperedEventError(c.refused)
            assert c.event is not None
            events.append(c.event)
        return events

    def _check(self, stored: StoredEvent) -> _Checked:
        where = f"event {stored.originator_id} v{stored.originator_version}"
        leaf_index = getattr(stored, "leaf_index", None)
        if leaf_index is not None:
            where += f" (leaf {leaf_index})"
        if hasattr(stored, "leaf_hash"):
            if leaf_index is None:
                return _Checked(
                    where, refused=f"{where} is stored but has no leaf in the Merkle log"
                )
            if stored.leaf_hash != hashlib.sha256(b"\x00" + stored.state).digest():
                return _Checked(
                    where, refused=f"{where}: its bytes differ from its logged leaf hash"
                )
        try:
            body, signature, recorded_at = open_envelope(stored.state)
        except InvalidInputError as error:
            return _Checked(where, refused=f"{where}: {error}")
        if (
            body.get("aggregate_id") != str(stored.originator_id)
            or body.get("aggregate_version") != stored.originator_version
            or stored.topic != event_topic(str(body.get("type")))
        ):
            return _Checked(
                where, refused=f"{where}: its id, version or type differ from its signed body"
            )
        assert self.directory is not None, "the mapper needs the ledger's trust directory"
        try:
            key = self.directory.key(str(body.get("key_id")))
        except (KeyNotAuthorisedError, InvalidInputError) as error:
            return _Checked(where, refused=f"{where}: {error}")
        job = (key.key, signature, signing_input(body_bytes_of(stored.state)))
        if body.get("type") != GENESIS:
            try:
                self.directory.authorise_at(
                    key.key_id,
                    str(body.get("org")),
                    getattr(stored, "id", None),
                    _purpose(body.get("type")),
                )
            except (KeyNotAuthorisedError, InvalidInputError) as error:
                return _Checked(where, refused=f"{where}: {error}", signature=job)
        event = SignedEvent(
            originator_id=UUID(str(stored.originator_id)),
            originator_version=stored.originator_version,
            body=body,
            signature=signature,
            recorded_at=recorded_at,
            envelope=stored.state,
            notification_id=getattr(stored, "id", None),
            leaf_index=leaf_index,
        )
        return _Checked(where, event=event, signature=job)
