"""Every kind of credential the ledger issues, from one town: certificates (with and without a
masked name, valid and revoked), star and honour badges, and their status list credentials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from test_certificates_town import Town, build_town

from ledger import Ledger, MemoryKeystore

SCHEME = "tiny-stars"


@dataclass
class Samples:
    town: Town
    certificate: str
    revoked_certificate: str
    honour_id: str
    revoked_honour_id: str
    revoked_honour_badge: dict[str, Any]

    @property
    def ledger(self) -> Ledger:
        return self.town.ledger

    def credentials(self) -> dict[str, dict[str, Any]]:
        ledger, number = self.ledger, self.town.number
        return {
            "certificate": ledger.certificate(self.certificate)["credential"],
            "revoked certificate": ledger.certificate(self.revoked_certificate)["credential"],
            "star badge": ledger.badge(number, scheme_id=SCHEME),
            "honour badge": ledger.badge(number, honour_id=self.honour_id),
            "revoked honour badge": self.revoked_honour_badge,
            "certificate status list": ledger.certificate_status_list(self.certificate),
            "revoked certificate status list": ledger.certificate_status_list(
                self.revoked_certificate
            ),
            "star status list": ledger.badge_status_list(number, scheme_id=SCHEME, level=2),
            "revoked honour status list": ledger.badge_status_list(
                number, honour_id=self.revoked_honour_id
            ),
        }


def build_samples(ledger: Ledger | None = None) -> Samples:
    town = build_town(ledger or Ledger("memory://", keystore=MemoryKeystore()))
    ledger = town.ledger
    town.consent()
    certificate = town.issue(masked_name=True)
    revoked = town.issue(language="en")
    town.revoke(revoked, "issued for the wrong period")
    ledger.new_key("city", for_org="city", idempotency_key="auto", purpose="automatic-awards")
    ledger.publish_star_scheme(
        "city",
        scheme_id=SCHEME,
        name="Tiny stars",
        thresholds_hours=[1, 3, 10],
        idempotency_key="scheme",
    )
    town.approved("org-a", town.number, 30, "legal-aid")
    honours = [
        ledger.grant_honour(
            "org-a",
            recipient_kind="volunteer",
            recipient=town.number,
            honour=name,
            citation="a year at the legal aid desk",
            granted_on=date(2025, 12, 5),
            idempotency_key=f"honour-{len(name)}",
        ).value.honour_id
        for name in ("Legal aid star", "Granted by mistake")
    ]
    exported = ledger.badge(town.number, honour_id=honours[1])
    ledger.revoke_honour(
        "org-a",
        recipient_kind="volunteer",
        recipient=town.number,
        honour_id=honours[1],
        reason="granted by mistake",
        idempotency_key="unhonour",
    )
    return Samples(town, certificate, revoked, honours[0], honours[1], exported)
