"""Certificates of service, as events: issued (with the figures it certifies and a hash of the
credential handed out) and revoked with a reason. The rules recompute the figures from the
volunteer's records, so no organisation can certify minutes the ledger does not hold."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from ..canonical import canonical_json
from ..errors import KeyNotAuthorisedError, RuleViolationError
from .aggregates import AggregateState, Fact, Volunteer, register_aggregate
from .ids import LongText, ShortText, VolunteerNumber, url_uuid, volunteer_aggregate_id
from .port import CommandPort
from .registry import Draft, EventData, event_type
from .service import ServiceAccount, service_account_id

CertificateNumber = Annotated[str, StringConstraints(pattern=r"^C[0-9]{4}-[A-Z2-7]{10}$")]
DateText = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
Minutes = Annotated[int, Field(ge=0)]


@lru_cache(maxsize=65536)
def certificate_aggregate_id(certificate_number: str) -> UUID:
    return url_uuid(f"/certificates/{certificate_number}")


@register_aggregate
@dataclass(slots=True)
class Certificate(AggregateState):
    kind = "certificate"
    certificate_number: str = ""
    org: str = ""
    number: str = ""
    issued_at: str = ""
    revoked: bool = False
    revoked_at: str = ""
    revoked_reason: str = ""

    def on_CertificateIssued(self, fact: Fact, data: dict[str, Any]) -> None:
        self.certificate_number, self.org = data["certificate_number"], fact.org
        self.number, self.issued_at = data["number"], fact.occurred_at

    def on_CertificateRevoked(self, fact: Fact, data: dict[str, Any]) -> None:
        self.revoked, self.revoked_at, self.revoked_reason = True, fact.occurred_at, data["reason"]


class CertificateIssued(EventData):
    certificate_number: CertificateNumber
    number: VolunteerNumber
    period_from: DateText
    period_to: DateText
    approved_minutes: Minutes
    minutes_by_field: dict[str, Minutes]
    minutes_by_org: dict[str, Minutes]
    record_count: Annotated[int, Field(ge=0)]
    records_commitment: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    credential_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    issuer_contact: ShortText
    language: Literal["zh", "en"] = "zh"


class CertificateRevoked(EventData):
    certificate_number: CertificateNumber
    reason: LongText


def certified_figures(
    ctx: CommandPort, issuer: str, number: str, period_from: str, period_to: str
) -> dict[str, Any]:
    """The approved minutes a certificate by ``issuer`` covers: records in the period made by
    the issuer or any organisation below it, as the ledger holds them now."""
    account = ctx.state(ServiceAccount, service_account_id(number))
    by_field: dict[str, int] = {}
    by_org: dict[str, int] = {}
    records = []
    for record in sorted(account.records.values(), key=lambda r: r.record_id):
        minutes = record.credited_minutes
        if not minutes or not period_from <= record.service_date <= period_to:
            continue
        if not ctx.directory.is_at_or_above(issuer, record.recording_org):
            continue
        by_field[record.service_field] = by_field.get(record.service_field, 0) + minutes
        by_org[record.recording_org] = by_org.get(record.recording_org, 0) + minutes
        records.append([record.record_id, minutes])
    return {
        "approved_minutes": sum(by_field.values()),
        "minutes_by_field": dict(sorted(by_field.items())),
        "minutes_by_org": dict(sorted(by_org.items())),
        "record_count": len(records),
        "records_commitment": hashlib.sha256(canonical_json(records)).hexdigest(),
        "records": records,
    }


@event_type("CertificateIssued", "certificate", CertificateIssued)
def check_certificate_issued(ctx: CommandPort, draft: Draft, data: CertificateIssued) -> None:
    if draft.aggregate_id != certificate_aggregate_id(data.certificate_number):
        raise RuleViolationError("the event's aggregate is not this certificate's")
    if ctx.state(Certificate, draft.aggregate_id).exists:
        raise RuleViolationError(f"certificate {data.certificate_number} already exists")
    volunteer = ctx.existing(
        Volunteer, volunteer_aggregate_id(data.number), f"volunteer {data.number}"
    )
    if (
        not any(ctx.directory.is_at_or_above(draft.org, org) for org in volunteer.members_of)
        and draft.org != ctx.directory.require_ledger().root_org
    ):
        raise KeyNotAuthorisedError(
            f"{draft.org!r} certifies only its own volunteers (or the federation, anyone's)"
        )
    if data.period_to < data.period_from:
        raise RuleViolationError("a certificate's period ends after it starts")
    figures = certified_figures(ctx, draft.org, data.number, data.period_from, data.period_to)
    for name in (
        "approved_minutes",
        "minutes_by_field",
        "minutes_by_org",
        "record_count",
        "records_commitment",
    ):
        if getattr(data, name) != figures[name]:
            raise RuleViolationError(
                f"the certificate's {name} differs from what the ledger holds for that period"
            )


@event_type("CertificateRevoked", "certificate", CertificateRevoked)
def check_certificate_revoked(ctx: CommandPort, draft: Draft, data: CertificateRevoked) -> None:
    certificate = ctx.existing(
        Certificate, draft.aggregate_id, f"certificate {data.certificate_number}"
    )
    if certificate.revoked:
        raise RuleViolationError(f"certificate {data.certificate_number} is already revoked")
    if not ctx.directory.is_at_or_above(draft.org, certificate.org):
        raise KeyNotAuthorisedError(
            f"certificate {data.certificate_number} is revoked by {certificate.org!r} or above"
        )
