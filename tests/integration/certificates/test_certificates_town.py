"""A small town for the certificate tests (imported by name by the other
``test_certificates_*`` modules; it holds helpers and a smoke test of its own).

The root federation ``city`` has ``org-a`` (with ``station-a1`` below it) and ``org-b``. Volunteer
``number`` belongs to ``org-a`` and has personal data (a name); in March 2025 ``org-a`` recorded
120 approved minutes of legal aid and ``station-a1`` 95 of medical and health service for them.
``stranger`` is a volunteer of ``org-b`` with 60 minutes recorded by ``org-b``.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ledger import Ledger
from ledger.certificates.credential import sign_credential, without_proof
from ledger.credentials import did_key
from ledger.log.note import NoteVerifier
from ledger.signing import Signer

ORIGIN = "ledger.cert.example/log"
START = datetime(2025, 3, 7, 9, 0, tzinfo=UTC)
FULL_NAME = "王小明"
MASKED = "王**"
PERIOD = (date(2025, 1, 1), date(2025, 12, 31))
CONTACT = "Volunteer office, +86 355 000 0000"


@dataclass
class Town:
    ledger: Ledger
    number: str
    stranger: str
    _keys: Iterator[int] = field(default_factory=itertools.count)

    def key(self, what: str) -> str:
        return f"{what}-{next(self._keys)}"

    @property
    def log_keys(self) -> list[NoteVerifier]:
        return self.ledger.log.verifiers()

    def approved(self, org: str, number: str, minutes: int, service_field: str) -> str:
        """An activity of ``org`` with an approved record of ``minutes`` for ``number``."""
        ledger = self.ledger
        activity = ledger.publish_activity(
            org,
            title="Service desk",
            field=service_field,
            place="Community centre",
            starts_at=START,
            ends_at=START + timedelta(minutes=max(240, minutes)),  # the span bounds the record
            leader="desk-lead",
            content="helping residents",
            idempotency_key=self.key("activity"),
        ).value.activity_id
        record = ledger.record_hours(
            org,
            activity_id=activity,
            number=number,
            minutes=minutes,
            occurred_at=START + timedelta(days=1),
            idempotency_key=self.key("record"),
        ).value.record_id
        ledger.approve_record(org, record_id=record, idempotency_key=self.key("approve"))
        return str(record)

    def consent(self, purpose: str = "certificate-name") -> None:
        self.ledger.give_consent(
            "org-a", number=self.number, purpose=purpose, idempotency_key=self.key("consent")
        )

    def issue(
        self,
        org: str = "org-a",
        *,
        number: str | None = None,
        masked_name: bool = False,
        language: str = "zh",
        contact: str = CONTACT,
        period: tuple[date, date] = PERIOD,
    ) -> str:
        result = self.ledger.issue_certificate(
            org,
            number=number or self.number,
            period_from=period[0],
            period_to=period[1],
            issuer_contact=contact,
            language=language,
            include_masked_name=masked_name,
            idempotency_key=self.key("certificate"),
        )
        return str(result.value.certificate_number)

    def revoke(self, certificate_number: str, reason: str, org: str = "org-a") -> None:
        self.ledger.revoke_certificate(
            org,
            certificate_number=certificate_number,
            reason=reason,
            idempotency_key=self.key("revoke"),
        )

    def package(self, certificate_number: str) -> dict[str, Any]:
        return copy.deepcopy(self.ledger.certificate_package(certificate_number))


def build_town(ledger: Ledger) -> Town:
    ledger.create(
        name="Certificate test ledger",
        root_org_id="city",
        root_name="City Volunteer Federation",
        region="140400",
        origin=ORIGIN,
    )
    for parent, org, name, kind in [
        ("city", "org-a", "Organisation A", "organisation"),
        ("org-a", "station-a1", "Station A1", "station"),
        ("city", "org-b", "Organisation B", "organisation"),
    ]:
        ledger.register_organisation(
            parent, org_id=org, name=name, kind=kind, region="140402", idempotency_key=org
        )
        ledger.new_key(parent, for_org=org, idempotency_key=f"{org}-key")
    number = ledger.register_volunteer(
        "org-a", personal={"name": FULL_NAME, "phone": "13800000000"}, idempotency_key="vol-a"
    ).value.number
    stranger = ledger.register_volunteer("org-b", idempotency_key="vol-b").value.number
    town = Town(ledger, str(number), str(stranger))
    town.approved("org-a", town.number, 120, "legal-aid")
    town.approved("station-a1", town.number, 95, "medical-and-health")
    town.approved("org-b", town.stranger, 60, "emergency-rescue")
    return town


def resign(
    credential: dict[str, Any], signer: Signer, *, as_issuer: str | None = None
) -> dict[str, Any]:
    """The credential without its proof, signed again by ``signer`` (at the same ``created``);
    ``as_issuer`` also names the signer as the issuer (its did:key and that name)."""
    unsigned = copy.deepcopy(without_proof(credential))
    if as_issuer is not None:
        unsigned["issuer"] = {
            **unsigned["issuer"],
            "id": did_key(signer.public_key),
            "name": as_issuer,
        }
    return sign_credential(unsigned, signer, credential["proof"]["created"])


def test_the_town_certifies_what_it_recorded() -> None:
    """The fixture's own premise: org-a's certificate covers org-a's and its station's minutes."""
    from ledger import MemoryKeystore

    with Ledger("memory://", keystore=MemoryKeystore()) as ledger:
        town = build_town(ledger)
        data = ledger.certificate(town.issue())["data"]
    assert data["approved_minutes"] == 215
    assert data["minutes_by_org"] == {"org-a": 120, "station-a1": 95}
    assert data["minutes_by_field"] == {"legal-aid": 120, "medical-and-health": 95}
