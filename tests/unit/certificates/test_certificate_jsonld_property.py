"""Whatever a certificate states (any service fields, organisations, minutes, with or without a
name, in either language), its JSON-LD expansion with the shipped contexts drops nothing."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pyld import jsonld

from ledger.certificates.credential import certificate_credential
from ledger.certificates.links import CredentialLinks
from ledger.credentials.jsonld_documents import document_loader
from ledger.signing import SigningKey

KEY = SigningKey.generate().public_key
slugs = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
minutes = st.integers(min_value=0, max_value=10**7)


@st.composite
def certificate_data(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "certificate_number": draw(st.from_regex(r"C20[0-9]{2}-[A-Z2-7]{10}", fullmatch=True)),
        "number": draw(st.from_regex(r"V[A-Z2-7]{13}", fullmatch=True)),
        "period_from": "2025-01-01",
        "period_to": "2025-12-31",
        "approved_minutes": draw(minutes),
        "minutes_by_field": draw(st.dictionaries(slugs, minutes, max_size=5)),
        "minutes_by_org": draw(st.dictionaries(slugs, minutes, max_size=5)),
        "record_count": draw(st.integers(min_value=0, max_value=10**5)),
        "records_commitment": "0" * 64,
        "issuer_contact": draw(st.text(min_size=1, max_size=30)),
        "language": draw(st.sampled_from(["zh", "en"])),
    }


@settings(max_examples=30, deadline=None)
@given(
    certificate_data(),
    st.one_of(st.none(), st.text(min_size=1, max_size=8)),
    st.sampled_from(["https://volunteer.example.org", "https://a.example/ledger/"]),
)
def test_expansion_drops_nothing(data: dict[str, Any], name: str | None, base: str) -> None:
    credential = certificate_credential(
        data=data,
        masked_name=name,
        issuer_name="Organisation A",
        issuer_key=KEY,
        issued_at="2025-12-01T00:00:00Z",
        links=CredentialLinks(base),
        origin="ledger.example/log",
    )
    dropped: list[Any] = []
    jsonld.expand(
        copy.deepcopy(credential),
        {"documentLoader": document_loader},
        on_property_dropped=dropped.append,
    )
    assert dropped == []
