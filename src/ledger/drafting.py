"""Drafting: the bodies a command would store, for an organisation to sign on its own machine.

An organisation that keeps its private key to itself asks the ledger to *draft* a command: the
ledger runs the command's own decision (the same rules, ids, versions and derived fields as any
write) with the organisation's registered key id in place of a signer, and hands back the
canonical bodies. The organisation signs them where its key lives (a key file, an HSM) and
submits them with :meth:`~ledger.Ledger.submit_signed`; the ledger checks everything again then,
so a draft is only a convenience, never an authority. Nothing is stored by drafting.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from datetime import date
from typing import Any

from .canonical import canonical_json
from .envelope import parse_time
from .errors import InvalidInputError

DRAFTABLE = {
    "register_volunteer": ("register", "VolunteerRegistered"),
    "publish_activity": ("record", "ActivityPublished"),
    "cancel_activity": ("record", "ActivityCancelled"),
    "record_hours": ("record", "HoursRecorded"),
    "record_roster": ("record", "HoursRecorded"),
    "approve_record": ("approve", "RecordApproved"),
    "approve_records": ("approve", "RecordApproved"),
    "reject_record": ("approve", "RecordRejected"),
    "correct_record": ("approve", "RecordCorrected"),
    "void_record": ("approve", "RecordVoided"),
    "revoke_certificate": ("approve", "CertificateRevoked"),
    "issue_certificate": ("award", "CertificateIssued"),
    "grant_honour": ("award", "HonourGranted"),
    "revoke_honour": ("award", "HonourRevoked"),
    "open_time_bank": ("timebank", "TimeBankOpened"),
    "transfer_credit": ("timebank", "CreditSent"),
    "reverse_transfer": ("timebank", "CreditSent"),
}
"""Commands an organisation can sign outside the ledger: the API scope each needs and the
type of the first event it drafts (an honour for an organisation is ``OrganisationHonour...``;
a transfer drafts ``CreditSent`` then ``CreditReceived``). A certificate's draft also returns the
unsigned credential, which the organisation signs too (see ``submit_signed``)."""

_drafting: contextvars.ContextVar[str | None] = contextvars.ContextVar("drafting", default=None)


@dataclass(frozen=True)
class CommandDraft:
    """The unsigned bodies of one command, and the value the command would return."""

    bodies: tuple[dict[str, Any], ...]
    value: dict[str, Any]

    def texts(self) -> list[str]:
        """Each body as the canonical JSON text to sign and submit."""
        return [canonical_json(body).decode("utf-8") for body in self.bodies]


class Drafted(Exception):
    """Unwinds a command run in drafting mode, carrying its draft."""

    def __init__(self, draft: CommandDraft) -> None:
        super().__init__("drafted")
        self.draft = draft


def drafting_key_id() -> str | None:
    """The key id the current command drafts for, or None when it runs normally."""
    return _drafting.get()


def drafting_as(key_id: str) -> contextvars.Token[str | None]:
    return _drafting.set(key_id)


def stop_drafting(token: contextvars.Token[str | None]) -> None:
    _drafting.reset(token)


_TIMES = ("starts_at", "ends_at")
_NOT_FROM_CLIENTS = ("personal", "signer", "occurred_at", "verify_base_url", "allow_local_links")
_DATES = ("service_date", "period_from", "period_to", "granted_on")


def command_arguments(command: str, params: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``command`` from JSON ``params`` (times and dates as ISO text).

    Personal data never travels with a draft: it goes to the personal-data store by its own
    route, and a signed body never holds it anyway.
    """
    if command not in DRAFTABLE:
        raise InvalidInputError(
            f"{command!r} cannot be drafted; these can: {', '.join(sorted(DRAFTABLE))}"
        )
    if not isinstance(params, dict):
        raise InvalidInputError("a draft's params are a JSON object")
    if any(name in params for name in _NOT_FROM_CLIENTS):
        raise InvalidInputError(
            "a draft takes no personal data, signer, occurred_at or link settings"
        )
    arguments = dict(params)
    for name in _TIMES:
        if name in arguments:
            arguments[name] = parse_time(arguments[name], what=name)
    for name in _DATES:
        if isinstance(arguments.get(name), str):
            try:
                arguments[name] = date.fromisoformat(arguments[name])
            except ValueError:
                raise InvalidInputError(f"{name} must be a date YYYY-MM-DD") from None
    return arguments
