"""Star schemes and honours."""

from __future__ import annotations

from datetime import date
from typing import Any

from ..context import Context
from ..model.aggregates import Organisation
from ..model.awards import DEFAULT_THRESHOLDS_HOURS, star_scheme_aggregate_id
from ..model.ids import organisation_aggregate_id
from ..model.service import ServiceAccount, service_account_id
from ..results import HonourRef, NoValue
from ..writer import CommandResult
from .base import CommandHost


class AwardCommands(CommandHost):
    def publish_star_scheme(
        self,
        org: str,
        *,
        scheme_id: str,
        name: str,
        idempotency_key: str,
        thresholds_hours: list[int] | None = None,
    ) -> CommandResult[NoValue]:
        """Publish a star scheme owned by ``org`` (default thresholds 100/300/600/1000/1500 h).

        The owner must hold an ``automatic-awards`` key: stars are issued with it.
        """
        data = {
            "scheme_id": scheme_id,
            "name": name,
            "version": 1,
            "thresholds_hours": list(thresholds_hours or DEFAULT_THRESHOLDS_HOURS),
        }
        return self._emit_one(
            org,
            "StarSchemePublished",
            star_scheme_aggregate_id(scheme_id),
            data,
            idempotency_key=idempotency_key,
        )

    def revise_star_scheme(
        self,
        org: str,
        *,
        scheme_id: str,
        name: str,
        thresholds_hours: list[int],
        idempotency_key: str,
    ) -> CommandResult[NoValue]:
        """A new version of the scheme. Each volunteer's stars follow it at their next change
        of approved minutes (a star their minutes no longer reach is then withdrawn)."""
        self._directory.refresh()
        scheme = self._directory.reference.star_schemes.get(scheme_id)
        version = (scheme.version if scheme else 0) + 1
        data = {
            "scheme_id": scheme_id,
            "name": name,
            "version": version,
            "thresholds_hours": list(thresholds_hours),
        }
        return self._emit_one(
            org,
            "StarSchemeRevised",
            star_scheme_aggregate_id(scheme_id),
            data,
            idempotency_key=idempotency_key,
        )

    def grant_honour(
        self,
        org: str,
        *,
        recipient_kind: str,
        recipient: str,
        honour: str,
        citation: str,
        granted_on: date,
        idempotency_key: str,
    ) -> CommandResult[HonourRef]:
        """Grant a named honour to a volunteer or an organisation; ``result.value.honour_id``."""
        is_volunteer = recipient_kind == "volunteer"
        aggregate_id = (
            service_account_id(recipient) if is_volunteer else organisation_aggregate_id(recipient)
        )

        def decide(ctx: Context) -> dict[str, Any]:
            state = ctx.state(ServiceAccount if is_volunteer else Organisation, aggregate_id)
            honour_id = f"{recipient}-H{len(state.honours) + 1}"  # type: ignore[attr-defined]
            ctx.emit(
                "HonourGranted" if is_volunteer else "OrganisationHonourGranted",
                aggregate_id,
                {
                    "honour_id": honour_id,
                    "honour": honour,
                    "recipient_kind": recipient_kind,
                    "recipient": recipient,
                    "citation": citation,
                    "granted_on": granted_on.isoformat(),
                },
            )
            return {"honour_id": honour_id}

        params = {
            "recipient_kind": recipient_kind,
            "recipient": recipient,
            "honour": honour,
            "citation": citation,
            "granted_on": granted_on.isoformat(),
        }
        return self._command(
            org, "HonourGranted", params, decide, result=HonourRef, idempotency_key=idempotency_key
        )

    def revoke_honour(
        self,
        org: str,
        *,
        recipient_kind: str,
        recipient: str,
        honour_id: str,
        reason: str,
        idempotency_key: str,
    ) -> CommandResult[NoValue]:
        is_volunteer = recipient_kind == "volunteer"
        return self._emit_one(
            org,
            "HonourRevoked" if is_volunteer else "OrganisationHonourRevoked",
            service_account_id(recipient) if is_volunteer else organisation_aggregate_id(recipient),
            {"honour_id": honour_id, "recipient": recipient, "reason": reason},
            idempotency_key=idempotency_key,
        )
