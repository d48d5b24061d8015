"""A small city with named volunteers and named certificates, for the privacy tests (imported
by name by the ``test_privacy_*`` modules)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from ledger_testing import create_city

from ledger import Ledger
from ledger.privacy.keyring import Keyring
from ledger.privacy.sealed import parse_sealed, parse_wrapped_key

START = datetime(2025, 3, 7, 9, 0, tzinfo=UTC)
PEOPLE = [
    {"name": "李华明", "id_number": "140402199001011234", "phone": "13812345678"},
    {
        "name": "王小明",
        "id_number": "140402200803153321",
        "phone": "13987654321",
        "guardian_contact": "王建国 13700001111",
        "is_minor": True,
    },
    {"name": "Zhang Weiqing", "phone": "13611112222"},
]


def secrets_of(person: dict[str, object]) -> list[str]:
    """The strings that must not be readable once the person is erased."""
    return [v for v in person.values() if isinstance(v, str)]


@dataclass
class City:
    ledger: Ledger
    numbers: list[str]
    certificates: dict[str, list[str]] = field(default_factory=dict)
    _keys: itertools.count[int] = field(default_factory=itertools.count)

    def key(self, what: str) -> str:
        return f"{what}-{next(self._keys)}"

    def approved(self, number: str, minutes: int) -> None:
        ledger = self.ledger
        activity = ledger.publish_activity(
            "org-a",
            title="Service desk",
            field="legal-aid",
            place="Community centre",
            starts_at=START,
            ends_at=START + timedelta(hours=4),
            leader="desk-lead",
            content="helping residents",
            idempotency_key=self.key("activity"),
        ).value.activity_id
        record = ledger.record_hours(
            "org-a",
            activity_id=activity,
            number=number,
            minutes=minutes,
            occurred_at=START + timedelta(days=1),
            idempotency_key=self.key("record"),
        ).value.record_id
        ledger.approve_record("org-a", record_id=record, idempotency_key=self.key("approve"))

    def issue(self, number: str, *, masked_name: bool = True) -> str:
        result = self.ledger.issue_certificate(
            "org-a",
            number=number,
            period_from=date(2025, 1, 1),
            period_to=date(2025, 12, 31),
            issuer_contact="Volunteer office",
            include_masked_name=masked_name,
            idempotency_key=self.key("certificate"),
        )
        certificate = str(result.value.certificate_number)
        self.certificates.setdefault(number, []).append(certificate)
        return certificate


def build_named_city(ledger: Ledger) -> City:
    """Every person registered by org-a with their personal data, consenting to their masked
    name on certificates, with approved hours and one named and one nameless certificate."""
    create_city(ledger)
    city = City(ledger, [])
    for i, person in enumerate(PEOPLE):
        number = str(
            ledger.register_volunteer(
                "org-a", idempotency_key=f"person-{i}", personal=person
            ).value.number
        )
        ledger.give_consent(
            "org-a", number=number, purpose="certificate-name", idempotency_key=f"consent-{i}"
        )
        city.numbers.append(number)
        city.approved(number, 90 + i)
        city.issue(number)
        city.issue(number, masked_name=False)
    return city


def opened_with_held_keys(
    keyring: Keyring, key_row: bytes | None, data_row: bytes | None
) -> list[bytes]:
    """What a copy of a volunteer's wrapped data key and sealed data (a backup's, the WAL's, a
    dead tuple's) opens to with any key the keyring still holds: nothing, once they are erased."""
    if key_row is None or data_row is None:
        return []
    wrapped, sealed = parse_wrapped_key(key_row), parse_sealed(data_row)
    assert wrapped is not None and sealed is not None
    return [
        sealed.open(data_key)
        for kek in keyring.all_keys()
        if (data_key := wrapped.unwrap(kek)) is not None
    ]
