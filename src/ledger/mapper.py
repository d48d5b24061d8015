"""The mapper: every event read from the store is checked before anyone sees it.

Projections, subscriptions and repositories read through the mapper, so a stored event whose
bytes were altered, that is missing from the Merkle log, or whose signature does not verify raises
:class:`TamperedEventError` naming the event instead of yielding a wrong value.
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from .envelope import SignedEvent, body_bytes_of, event_topic, open_envelope, verify_body
from .errors import InvalidInputError, KeyNotAuthorisedError, SignatureError, TamperedEventError
from .model.registry import EVENT_SPECS
from .trust import GENESIS, TrustDirectory


def _purpose(event_type: object) -> str | None:
    spec = EVENT_SPECS.get(str(event_type))
    return None if spec is None else spec.key_purpose


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
        where = f"event {stored.originator_id} v{stored.originator_version}"
        leaf_index = getattr(stored, "leaf_index", None)
        if leaf_index is not None:
            where += f" (leaf {leaf_index})"
        if hasattr(stored, "leaf_hash"):
            if leaf_index is None:
                raise TamperedEventError(f"{where} is stored but has no leaf in the Merkle log")
            if stored.leaf_hash != hashlib.sha256(b"\x00" + stored.state).digest():
                raise TamperedEventError(f"{where}: its bytes differ from its logged leaf hash")
        try:
            body, signature, recorded_at = open_envelope(stored.state)
        except InvalidInputError as error:
            raise TamperedEventError(f"{where}: {error}") from None
        if (
            body.get("aggregate_id") != str(stored.originator_id)
            or body.get("aggregate_version") != stored.originator_version
            or stored.topic != event_topic(str(body.get("type")))
        ):
            raise TamperedEventError(
                f"{where}: its id, version or type differ from its signed body"
            )
        assert self.directory is not None, "the mapper needs the ledger's trust directory"
        position = getattr(stored, "id", None)
        try:
            key = self.directory.key(str(body.get("key_id")))
            verify_body(body_bytes_of(stored.state), signature, key.key)
            if body.get("type") != GENESIS:
                self.directory.authorise_at(
                    key.key_id, str(body.get("org")), position, _purpose(body.get("type"))
                )
        except (SignatureError, KeyNotAuthorisedError, InvalidInputError) as error:
            raise TamperedEventError(f"{where}: {error}") from None
        return SignedEvent(
            originator_id=UUID(str(stored.originator_id)),
            originator_version=stored.originator_version,
            body=body,
            signature=signature,
            recorded_at=recorded_at,
            envelope=stored.state,
            notification_id=getattr(stored, "id", None),
            leaf_index=leaf_index,
        )
