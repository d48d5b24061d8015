"""The mark that refuses every read of a volunteer's personal data is stored with the
``PersonalDataErased`` event, in its transaction, and the keys are destroyed after it, for an
erasure signed at home and submitted (``POST /events``) as for ``erase_personal_data``. Before,
a submitted erasure destroyed nothing (the volunteer read as erased while their data and named
credential were served), and a failure between the event and the mark left both served."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable

import pytest
from ledger_testing import outside_body, sign_outside
from privacy_support import build_named_city

from ledger import Ledger, PersonalDataErasedError, SigningKey, canonical_json
from ledger.model.ids import volunteer_aggregate_id
from ledger.personal_data import DATA

Opener = Callable[..., Ledger]


def named_volunteer(ledger: Ledger) -> tuple[str, str]:
    """A volunteer of org-a with personal data, consenting to share it and to their masked
    name on certificates, and a certificate that shows the masked name."""
    city = build_named_city(ledger)
    number = city.numbers[0]
    ledger.give_consent(
        "org-a", number=number, purpose="share-personal-data", idempotency_key="share"
    )
    return number, city.certificates[number][0]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_an_erasure_signed_at_home_and_submitted_destroys_the_data(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Opener
) -> None:
    ledger = open_ledger(store_url_for(kind))
    number, certificate = named_volunteer(ledger)
    assert ledger.certificate(certificate)["credential"]["credentialSubject"]["maskedName"]

    key = ledger.signer_for("org-a")
    assert isinstance(key, SigningKey)
    body = outside_body(
        ledger,
        event_type="PersonalDataErased",
        org="org-a",
        key=key,
        aggregate_id=volunteer_aggregate_id(number),
        data={"number": number},
        idempotency_key="erase-signed-at-home",
    )
    signature = base64.b64encode(sign_outside(body, key)).decode()
    ledger.submit_signed([(canonical_json(body), signature)])
    assert ledger.volunteer(number)["personal_data_erased"]  # the ledger says: erased

    problems = []
    try:
        found = ledger.personal_data_of("org-a", number)
        problems.append(f"personal data still served: {found}")
    except PersonalDataErasedError:
        pass
    credential = ledger.certificate(certificate)["credential"]
    if credential is not None:
        problems.append(f"named credential still served: {credential['credentialSubject']}")
    assert not problems, problems


def test_data_is_refused_from_the_event_on_even_when_destroying_the_keys_fails(
    store_url_for: Callable[[str], str], open_ledger: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Destroying the keys fails after the event is stored (a storage error; the API answers
    503): the data and the named credential are refused from the event on, and a repeat
    finishes the erasure."""
    from ledger import StorageError

    ledger = open_ledger(store_url_for("sqlite"))
    number, certificate = named_volunteer(ledger)

    def fails(number: str) -> int:
        raise StorageError("database unavailable")

    monkeypatch.setattr(ledger.personal_data, "erase", fails)
    with pytest.raises(StorageError):
        ledger.erase_personal_data(number, org="org-a")
    monkeypatch.undo()
    assert ledger.volunteer(number)["personal_data_erased"]

    problems = []
    with contextlib.suppress(PersonalDataErasedError):
        problems.append(f"personal data still served: {ledger.personal_data_of('org-a', number)}")
    if ledger.certificate(certificate)["credential"] is not None:
        problems.append("named credential still served")
    assert not problems, problems
    assert ledger.erase_personal_data(number, org="org-a")["already_erased"]
    assert ledger._recorder.side_get(DATA, number) is None
