"""Erasing a volunteer's personal data: a signed event first, then the keys are destroyed."""

from __future__ import annotations

from typing import Any

from ..errors import NotFoundError
from ..model.aggregates import Volunteer
from ..model.erasure import require_may_erase
from ..model.ids import volunteer_aggregate_id
from .base import CommandHost


class PrivacyCommands(CommandHost):
    def erase_personal_data(
        self, number: str, *, org: str | None = None, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Erase the volunteer's personal data for good; their events and hours stay verifiable.

        ``org`` (default: the root) signs a ``PersonalDataErased`` event, which the rules allow
        to the volunteer's organisations, those above them and the root, stored with the mark
        that refuses every read of the data from then on; only then are the keys destroyed.
        Idempotent: a repeat signs nothing new and finishes a cut-short erasure.
        """
        actor = org or self._directory.require_ledger().root_org
        aggregate = volunteer_aggregate_id(number)
        state = self._state(Volunteer, aggregate)
        if not isinstance(state, Volunteer) or not state.exists:
            raise NotFoundError(f"volunteer {number} is not registered in this ledger")
        already = state.personal_data_erased
        if already:
            self._directory.refresh()
            require_may_erase(self._directory, actor, state)
        else:
            self._emit_one(
                actor,
                "PersonalDataErased",
                aggregate,
                {"number": number},
                idempotency_key=idempotency_key or f"erase-personal-data-{number}",
            )
        rewrapped = self.personal_data.erase(number)
        event = next(e for e in self.events(aggregate) if e.type == "PersonalDataErased")
        return {
            "number": number,
            "erased_by": event.org,
            "erased_at": event.occurred_at,
            "leaf_index": event.leaf_index,
            "already_erased": already,
            "keys_rewrapped": rewrapped,
        }
