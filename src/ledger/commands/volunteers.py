"""Registering volunteers, their consent, membership, transfers between organisations, the
agreements by which their home organisation lets another act for them, and their personal data."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ..context import Context
from ..errors import ConsentMissingError, NotFoundError
from ..model.aggregates import Volunteer
from ..model.authority import require_personal_data_access
from ..model.ids import new_volunteer_number, volunteer_aggregate_id
from ..personal_data import validate_personal_data
from ..results import AgreementRef, NoValue, TransferRef, VolunteerRef
from ..signing import Signer
from ..writer import CommandResult
from .base import CommandHost


class VolunteerCommands(CommandHost):
    def register_volunteer(
        self,
        org: str,
        *,
        idempotency_key: str,
        personal: dict[str, Any] | None = None,
        number: str | None = None,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[VolunteerRef]:
        """Register a volunteer under a new random number (``result.value.number``).

        ``personal`` (name, id_number, phone, ...) goes to the personal-data store, never into
        an event. Only which fields were given enters the idempotency record, not their values.
        """

        if personal:
            validate_personal_data(personal)

        def decide(ctx: Context) -> dict[str, Any]:
            chosen = number or new_volunteer_number()
            if number is None:
                ctx.fresh(Volunteer, volunteer_aggregate_id(chosen))
            ctx.emit("VolunteerRegistered", volunteer_aggregate_id(chosen), {"number": chosen})
            return {"number": chosen}

        result = self._command(
            org,
            "VolunteerRegistered",
            {"number": number, "personal_fields": sorted(personal or {})},
            decide,
            result=VolunteerRef,
            idempotency_key=idempotency_key,
            signer=signer,
            occurred_at=occurred_at,
        )
        chosen = result.value.number
        if personal and not (
            result.replayed and (self.personal_data.has(chosen) or self._erased(chosen))
        ):
            # Also on a retry whose first attempt stored the event but not the personal data;
            # never after an erasure.
            self.personal_data.put(chosen, personal)
        return result

    def _volunteer_event(
        self,
        org: str,
        event_type: str,
        number: str,
        data: dict[str, Any],
        idempotency_key: str,
        signer: Signer | None,
        occurred_at: datetime | None,
    ) -> CommandResult[NoValue]:
        return self._emit_one(
            org,
            event_type,
            volunteer_aggregate_id(number),
            {"number": number, **data},
            idempotency_key=idempotency_key,
            signer=signer,
            occurred_at=occurred_at,
        )

    def give_consent(
        self,
        org: str,
        *,
        number: str,
        purpose: str,
        idempotency_key: str,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[NoValue]:
        """Record the volunteer's consent to a purpose (for example ``certificate-name``)."""
        return self._volunteer_event(
            org, "ConsentGiven", number, {"purpose": purpose}, idempotency_key, signer, occurred_at
        )

    def withdraw_consent(
        self,
        org: str,
        *,
        number: str,
        purpose: str,
        idempotency_key: str,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[NoValue]:
        return self._volunteer_event(
            org,
            "ConsentWithdrawn",
            number,
            {"purpose": purpose},
            idempotency_key,
            signer,
            occurred_at,
        )

    def join(
        self,
        org: str,
        *,
        number: str,
        idempotency_key: str,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[NoValue]:
        """``org`` admits the volunteer as a member (a volunteer may belong to several)."""
        return self._volunteer_event(
            org, "MembershipJoined", number, {"org_id": org}, idempotency_key, signer, occurred_at
        )

    def leave(
        self,
        org: str,
        *,
        number: str,
        idempotency_key: str,
        member: str | None = None,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[NoValue]:
        """The volunteer leaves ``member`` (default ``org``): signed by that organisation, or
        by the volunteer's home organisation ending another organisation's membership."""
        data = {"org_id": member or org}
        return self._volunteer_event(
            org, "MembershipLeft", number, data, idempotency_key, signer, occurred_at
        )

    def request_transfer(
        self,
        org: str,
        *,
        number: str,
        to_org: str,
        idempotency_key: str,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[TransferRef]:
        """The volunteer's current organisation asks ``to_org`` to take them over.

        The new transfer's id is ``result.value.transfer_id``.
        """

        def decide(ctx: Context) -> dict[str, Any]:
            transfer_id = str(uuid.uuid4())
            ctx.emit(
                "TransferRequested",
                volunteer_aggregate_id(number),
                {"number": number, "transfer_id": transfer_id, "from_org": org, "to_org": to_org},
            )
            return {"transfer_id": transfer_id}

        return self._command(
            org,
            "TransferRequested",
            {"number": number, "to_org": to_org},
            decide,
            result=TransferRef,
            idempotency_key=idempotency_key,
            signer=signer,
            occurred_at=occurred_at,
        )

    def accept_transfer(
        self,
        org: str,
        *,
        number: str,
        transfer_id: str,
        idempotency_key: str,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[NoValue]:
        """The receiving organisation accepts: membership moves, hours stay with the person."""
        return self._volunteer_event(
            org,
            "TransferAccepted",
            number,
            {"transfer_id": transfer_id},
            idempotency_key,
            signer,
            occurred_at,
        )

    def decline_transfer(
        self,
        org: str,
        *,
        number: str,
        transfer_id: str,
        reason: str,
        idempotency_key: str,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[NoValue]:
        return self._volunteer_event(
            org,
            "TransferDeclined",
            number,
            {"transfer_id": transfer_id, "reason": reason},
            idempotency_key,
            signer,
            occurred_at,
        )

    def volunteer(self, number: str) -> dict[str, Any]:
        """A volunteer as their events describe them (no personal data)."""
        state = self._state(Volunteer, volunteer_aggregate_id(number))
        assert isinstance(state, Volunteer)
        if not state.exists:
            raise NotFoundError(f"volunteer {number} is not registered in this ledger")
        return {
            "number": state.number,
            "registered_by": state.registered_by,
            "registered_at": state.registered_at,
            "members_of": sorted(state.members_of),
            "home": state.home,
            "consents": dict(sorted(state.consents.items())),
            "transfers": {
                t.transfer_id: {"from_org": t.from_org, "to_org": t.to_org, "status": t.status}
                for t in state.transfers.values()
            },
            "personal_data_erased": state.personal_data_erased,
            "agreements": {
                a.agreement_id: {"org_id": a.org, "rights": list(a.rights), "status": a.status}
                for a in state.agreements.values()
            },
            "version": state.version,
        }

    def personal_data_of(self, org: str, number: str) -> dict[str, Any]:
        """The volunteer's personal data, as ``org`` may read it.

        The home organisation and those above it may; any other organisation needs a
        ``personal-data`` agreement from the home organisation; and the volunteer must have
        consented to ``share-personal-data``. Raises ``AgreementMissingError`` or
        ``ConsentMissingError`` (both ``KeyNotAuthorisedError``) otherwise.
        """
        self._directory.organisation(org)
        state = self._state(Volunteer, volunteer_aggregate_id(number))
        assert isinstance(state, Volunteer)
        if not state.exists:
            raise NotFoundError(f"volunteer {number} is not registered in this ledger")
        try:
            require_personal_data_access(self._directory, state, org)
        except ConsentMissingError:
            if self._erased(number):
                self.personal_data.get(number)  # says it was erased
            raise
        return self.personal_data.get(number)

    def request_agreement(
        self,
        org: str,
        *,
        number: str,
        rights: list[str],
        idempotency_key: str,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[AgreementRef]:
        """``org`` asks the volunteer's home organisation for ``rights`` (``membership``,
        ``consent``, ``personal-data``, ``credit``). The id is ``result.value.agreement_id``."""

        def decide(ctx: Context) -> dict[str, Any]:
            agreement_id = str(uuid.uuid4())
            ctx.emit(
                "AgreementRequested",
                volunteer_aggregate_id(number),
                {"number": number, "agreement_id": agreement_id, "org_id": org, "rights": rights},
            )
            return {"agreement_id": agreement_id}

        return self._command(
            org,
            "AgreementRequested",
            {"number": number, "rights": rights},
            decide,
            result=AgreementRef,
            idempotency_key=idempotency_key,
            signer=signer,
            occurred_at=occurred_at,
        )

    def grant_agreement(
        self,
        org: str,
        *,
        number: str,
        agreement_id: str,
        idempotency_key: str,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[NoValue]:
        """The home organisation agrees, for the volunteer: the requester may use the rights."""
        return self._volunteer_event(
            org,
            "AgreementGranted",
            number,
            {"agreement_id": agreement_id},
            idempotency_key,
            signer,
            occurred_at,
        )

    def decline_agreement(
        self,
        org: str,
        *,
        number: str,
        agreement_id: str,
        reason: str,
        idempotency_key: str,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[NoValue]:
        return self._volunteer_event(
            org,
            "AgreementDeclined",
            number,
            {"agreement_id": agreement_id, "reason": reason},
            idempotency_key,
            signer,
            occurred_at,
        )

    def withdraw_agreement(
        self,
        org: str,
        *,
        number: str,
        agreement_id: str,
        reason: str,
        idempotency_key: str,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[NoValue]:
        """The home organisation (or the holder) ends a granted agreement; what was done under
        it stays done, nothing new is allowed by it."""
        return self._volunteer_event(
            org,
            "AgreementWithdrawn",
            number,
            {"agreement_id": agreement_id, "reason": reason},
            idempotency_key,
            signer,
            occurred_at,
        )

    def _erased(self, number: str) -> bool:
        if self.personal_data.erased(number):
            return True
        state = self._state(Volunteer, volunteer_aggregate_id(number))
        return bool(getattr(state, "personal_data_erased", False))
