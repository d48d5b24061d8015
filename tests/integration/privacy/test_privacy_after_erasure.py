"""After an erasure: nothing names the volunteer, nothing stores their data again, and only
those allowed may erase; a refused erasure changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import pytest
from privacy_support import PEOPLE, build_named_city

from ledger import (
    IdempotencyConflictError,
    KeyNotAuthorisedError,
    Ledger,
    NotFoundError,
    PersonalDataErasedError,
)
from ledger.certificates import verify_package
from ledger.model.ids import volunteer_aggregate_id
from ledger.personal_data import DATA
from ledger.privacy.keyring import shard_of

Opener = Callable[..., Ledger]


@pytest.fixture(params=["memory", "sqlite"])
def ledger(
    request: pytest.FixtureRequest, store_url_for: Callable[[str], str], open_ledger: Opener
) -> Ledger:
    return open_ledger(store_url_for(request.param))


def test_a_retried_registration_after_erasure_returns_the_first_result_and_stores_nothing(
    ledger: Ledger,
) -> None:
    city = build_named_city(ledger)
    number = city.numbers[0]
    ledger.erase_personal_data(number)
    other = {"name": "另一个人", "id_number": "110101199912312345", "phone": "13000000000"}
    retried = ledger.register_volunteer("org-a", idempotency_key="person-0", personal=other)
    assert retried.replayed and retried.value.number == number
    assert ledger._recorder.side_get(DATA, number) is None
    with pytest.raises(PersonalDataErasedError):
        ledger.personal_data.get(number)
    with pytest.raises(PersonalDataErasedError):
        ledger.personal_data.put(number, other)
    assert ledger._recorder.side_get(DATA, number) is None


def test_certificates_after_erasure_show_no_name_and_nameless_ones_stay(ledger: Ledger) -> None:
    city = build_named_city(ledger)
    number = city.numbers[1]
    named, nameless = city.certificates[number]
    ledger.erase_personal_data(number)
    found = ledger.certificate(named)
    assert found["credential"] is None and found["personal_data_erased"]
    masked = str(PEOPLE[1]["name"])[0] + "*"
    assert masked not in json.dumps(found, ensure_ascii=False)
    package = ledger.certificate_package(nameless)
    assert verify_package(package, ledger.log.verifiers()).valid
    assert "maskedName" not in package["credential"]["credentialSubject"]
    honour = ledger.grant_honour(
        "org-a",
        recipient_kind="volunteer",
        recipient=number,
        honour="Helper of the year",
        citation="for service",
        granted_on=date(2025, 6, 1),
        idempotency_key="honour",
    ).value.honour_id
    badge = json.dumps(ledger.badge(number, honour_id=honour), ensure_ascii=False)
    assert str(PEOPLE[1]["name"]) not in badge and masked not in badge
    # the other volunteers' named credentials still open
    assert ledger.certificate(city.certificates[city.numbers[0]][0])["credential"] is not None


def test_only_the_volunteers_organisations_or_above_may_erase(ledger: Ledger) -> None:
    city = build_named_city(ledger)
    number = city.numbers[0]
    events = len(ledger.events(volunteer_aggregate_id(number)))
    epochs = ledger.personal_data.keyring.epochs(shard_of(number))
    with pytest.raises(KeyNotAuthorisedError, match="may not erase"):
        ledger.erase_personal_data(number, org="org-b")
    assert ledger.personal_data.get(number) == PEOPLE[0]
    assert len(ledger.events(volunteer_aggregate_id(number))) == events
    assert ledger.personal_data.keyring.epochs(shard_of(number)) == epochs
    with pytest.raises(NotFoundError):
        ledger.erase_personal_data("VAAAAAAAAAAAAA")
    ledger.erase_personal_data(number, org="org-a")
    with pytest.raises(KeyNotAuthorisedError):  # nor may a stranger repeat it
        ledger.erase_personal_data(number, org="org-b")
    assert ledger.erase_personal_data(number)["already_erased"]  # the root may


def test_a_replayed_idempotency_key_does_not_erase_another_volunteer(ledger: Ledger) -> None:
    city = build_named_city(ledger)
    first, second = city.numbers[:2]
    ledger.erase_personal_data(first, idempotency_key="erase-1")
    with pytest.raises(IdempotencyConflictError):
        ledger.erase_personal_data(second, idempotency_key="erase-1")
    assert ledger.personal_data.get(second) == PEOPLE[1]
