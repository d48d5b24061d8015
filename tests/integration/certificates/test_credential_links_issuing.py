"""The ledger refuses to sign a credential whose links name a local address, and stores
nothing when it does; a demo may."""

from __future__ import annotations

import pytest
from credential_samples import SCHEME, Samples, build_samples
from test_certificates_town import CONTACT, PERIOD

from ledger.certificates.links import UnsafeLinkError


@pytest.fixture
def samples() -> Samples:
    return build_samples()


def issue(samples: Samples, base: str, *, demo: bool = False) -> str:
    result = samples.ledger.issue_certificate(
        "org-a",
        number=samples.town.number,
        period_from=PERIOD[0],
        period_to=PERIOD[1],
        issuer_contact=CONTACT,
        idempotency_key=samples.town.key("certificate"),
        verify_base_url=base,
        allow_local_links=demo,
    )
    return str(result.value.certificate_number)


@pytest.mark.parametrize(
    "base", ["http://0.0.0.0:8000", "http://127.0.0.1:8000", "http://10.0.0.7"]
)
def test_a_certificate_with_local_links_is_refused_and_nothing_is_stored(
    samples: Samples, base: str
) -> None:
    size = samples.ledger.log_size()
    with pytest.raises(UnsafeLinkError, match="refusing to sign links"):
        issue(samples, base)
    assert samples.ledger.log_size() == size
    with pytest.raises(UnsafeLinkError):
        samples.ledger.badge(samples.town.number, scheme_id=SCHEME, public_base_url=base)
    with pytest.raises(UnsafeLinkError):
        samples.ledger.certificate_status_list(samples.certificate, public_base_url=base)


def test_a_demo_signs_local_links_and_every_link_uses_the_base(samples: Samples) -> None:
    base = "http://127.0.0.1:8765"
    number = issue(samples, base, demo=True)
    credential = samples.ledger.certificate(number)["credential"]
    links = [
        credential["@context"][1],
        credential["evidence"][0]["verifyUrl"],
        *(s["id"] for s in credential["credentialStatus"]),
        credential["credentialStatus"][0]["statusListCredential"],
    ]
    assert all(link.startswith(base + "/") for link in links), links


def test_without_a_base_url_links_use_the_log_origin(samples: Samples) -> None:
    credential = samples.ledger.certificate(samples.certificate)["credential"]
    assert credential["evidence"][0]["verifyUrl"].startswith("https://ledger.cert.example/log/")
