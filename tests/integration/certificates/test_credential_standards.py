"""Every credential the ledger issues is what the standards say, checked with tools nobody
here wrote: JSON-LD expansion (pyld) with only the shipped contexts drops no term, badges pass
1EdTech's official Open Badges 3.0 JSON schema, and revocation reads as a W3C Bitstring Status
List."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from credential_samples import SCHEME, Samples, build_samples
from pyld import jsonld

from ledger import InvalidInputError, NotFoundError
from ledger.credentials import did_key, verify_proof
from ledger.credentials.jsonld_documents import (
    LEDGER_CONTEXT_FILE,
    context_bytes,
    document_loader,
    load_context,
)
from ledger.credentials.status_list import bit_is_set, decode_list

SCHEMA = Path(__file__).parents[2] / "vectors/ob3/ob_v3p0_achievementcredential_schema.json"
PINNED_CONTEXTS = {
    "credentials-v2.jsonld": "8a9f494a89ecc51db093e90e84713e07e84d6d9204364a9b3c7868b21751236f",
    "ob-v3p0-context-3.0.3.json": (
        "ef2fa9c7846dce233cc166b43639027278be4ee44f00bb1d45c75de2dd0cd761"
    ),
    LEDGER_CONTEXT_FILE: "677d07882014b75857b9d9bed8d5aa41ebb4236cb1db5c8e78e0c56953395e9d",
}


@pytest.fixture(scope="module")
def samples() -> Samples:
    return build_samples()


@pytest.fixture(scope="module")
def credentials(samples: Samples) -> dict[str, dict[str, Any]]:
    return samples.credentials()


def expand_strictly(document: dict[str, Any]) -> list[Any]:
    """Expand with the shipped contexts only; fail on any term the contexts do not define."""
    dropped: list[str | None] = []
    expanded: list[Any] = jsonld.expand(
        copy.deepcopy(document),
        {"documentLoader": document_loader},
        on_property_dropped=dropped.append,
    )
    assert not dropped, f"JSON-LD expansion dropped {dropped}"
    return expanded


def plain(value: Any) -> Any:
    """JSON as compaction gives it back: one-element lists unwrapped, embedded contexts gone."""
    if isinstance(value, list):
        items = [plain(item) for item in value]
        return items[0] if len(items) == 1 else items
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "@context"}
    return value


# --- JSON-LD ---------------------------------------------------------------------------------


def test_every_credential_expands_with_nothing_dropped_and_compacts_back(
    credentials: dict[str, dict[str, Any]],
) -> None:
    for kind, credential in credentials.items():
        expanded = expand_strictly(credential)
        compacted = jsonld.compact(
            expanded, {"@context": credential["@context"]}, {"documentLoader": document_loader}
        )
        assert plain(compacted) == plain(credential), kind


def test_a_term_no_context_defines_is_caught(credentials: dict[str, dict[str, Any]]) -> None:
    for kind in ("certificate", "star badge"):
        credential = copy.deepcopy(credentials[kind])
        credential["credentialSubject"]["volunteerNumbr"] = "V-typo"
        with pytest.raises(AssertionError, match="volunteerNumbr"):
            expand_strictly(credential)


def test_certificates_name_the_ledger_context_at_the_public_base_url(
    credentials: dict[str, dict[str, Any]],
) -> None:
    certificate = credentials["certificate"]
    assert certificate["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://ledger.cert.example/log/contexts/service-hour-ledger-v1.jsonld",
    ]
    assert load_context(certificate["@context"][1])["@context"]["@protected"] is True


def test_the_loader_serves_only_shipped_contexts_and_never_the_network() -> None:
    for url in (
        "https://www.w3.org/2018/credentials/v1",
        "https://evil.example/contexts/service-hour-ledger-v1.jsonld?x=1",
        "file:///etc/passwd",
        "https://ledger.example/contexts/service-hour-ledger-v2.jsonld",
    ):
        with pytest.raises(NotFoundError):
            document_loader(url)


def test_the_shipped_contexts_are_pinned() -> None:
    """A published context never changes; a new version gets a new file and URL."""
    for name, digest in PINNED_CONTEXTS.items():
        assert hashlib.sha256(context_bytes(name)).hexdigest() == digest, name


# --- Open Badges 3.0 -------------------------------------------------------------------------


def ob3_errors(badge: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(badge)]


def test_badges_pass_the_official_open_badges_schema_and_verify(
    credentials: dict[str, dict[str, Any]],
) -> None:
    for kind in ("star badge", "honour badge", "revoked honour badge"):
        badge = credentials[kind]
        assert ob3_errors(badge) == [], kind
        assert isinstance(badge["proof"], list) and len(badge["proof"]) == 1
        verify_proof(badge)


def test_the_schema_refuses_a_single_proof_object(credentials: dict[str, dict[str, Any]]) -> None:
    badge = copy.deepcopy(credentials["star badge"])
    badge["proof"] = badge["proof"][0]
    assert any("proof" in error for error in ob3_errors(badge))


def test_a_tampered_proof_set_does_not_verify(credentials: dict[str, dict[str, Any]]) -> None:
    badge = copy.deepcopy(credentials["honour badge"])
    badge["proof"].append(copy.deepcopy(badge["proof"][0]))
    badge["proof"][1]["created"] = "2020-01-01T00:00:00Z"
    with pytest.raises(Exception, match="does not verify"):
        verify_proof(badge)


# --- Bitstring Status List -------------------------------------------------------------------


def status_bit(credential: dict[str, Any], lists: dict[str, dict[str, Any]]) -> bool:
    """What a generic verifier reads: the bit at the entry's index of its signed list, whose
    issuer must be the credential's."""
    statuses = credential["credentialStatus"]
    entries = [s for s in (statuses if isinstance(statuses, list) else [statuses])]
    (entry,) = [s for s in entries if s["type"] == "BitstringStatusListEntry"]
    status_list = lists[entry["statusListCredential"]]
    verify_proof(status_list)
    issuer = credential["issuer"]["id"]
    assert status_list["issuer"] == issuer
    assert status_list["proof"]["verificationMethod"].split("#")[0] == issuer
    subject = status_list["credentialSubject"]
    assert subject["statusPurpose"] == entry["statusPurpose"] == "revocation"
    return bit_is_set(decode_list(subject["encodedList"]), int(entry["statusListIndex"]))


def test_revocation_flips_the_bit_a_generic_verifier_reads(
    samples: Samples, credentials: dict[str, dict[str, Any]]
) -> None:
    lists = {
        c["id"]: c for c in credentials.values() if "BitstringStatusListCredential" in c["type"]
    }
    assert not status_bit(credentials["certificate"], lists)
    assert status_bit(credentials["revoked certificate"], lists)
    assert not status_bit(credentials["star badge"], lists)
    assert status_bit(credentials["revoked honour badge"], lists)
    honour_list = samples.ledger.badge_status_list(samples.town.number, honour_id=samples.honour_id)
    assert not status_bit(credentials["honour badge"], {honour_list["id"]: honour_list})


def test_revoking_a_certificate_later_flips_its_bit(samples: Samples) -> None:
    town = samples.town
    number = town.issue()
    before = town.ledger.certificate_status_list(number)
    credential = town.ledger.certificate(number)["credential"]
    town.revoke(number, "hours were double counted")
    after = town.ledger.certificate_status_list(number)
    assert not status_bit(credential, {before["id"]: before})
    assert status_bit(credential, {after["id"]: after})


def test_a_status_list_signed_by_another_organisation_is_not_the_issuers(
    samples: Samples, credentials: dict[str, dict[str, Any]]
) -> None:
    ledger = samples.ledger
    forged = ledger.certificate_status_list(samples.certificate)
    other = ledger.signer_for("org-b")
    from ledger.credentials import add_proof, did_key_verification_method

    unsigned = {k: v for k, v in forged.items() if k != "proof"}
    unsigned["issuer"] = did_key(other.public_key)
    forged = add_proof(
        unsigned, other, did_key_verification_method(other.public_key), forged["proof"]["created"]
    )
    with pytest.raises(AssertionError):
        status_bit(credentials["certificate"], {forged["id"]: forged})


def test_the_certificate_keeps_the_log_signed_status_note_as_a_second_check(
    credentials: dict[str, dict[str, Any]],
) -> None:
    statuses = credentials["certificate"]["credentialStatus"]
    assert [s["type"] for s in statuses] == ["BitstringStatusListEntry", "LedgerCertificateStatus"]
    assert statuses[1]["id"].endswith("/status") and "/verify/" in statuses[1]["id"]


def test_status_lists_for_unknown_awards_are_refused(samples: Samples) -> None:
    ledger, number = samples.ledger, samples.town.number
    with pytest.raises(NotFoundError):
        ledger.badge_status_list(number, scheme_id=SCHEME, level=3)
    with pytest.raises(NotFoundError):
        ledger.badge_status_list(number, honour_id="no-such-honour")
    with pytest.raises(NotFoundError):
        ledger.certificate_status_list("C2025-AAAAAAAAAA")


def test_withdrawing_a_star_flips_the_bit_of_that_level_only() -> None:
    samples = build_samples()
    ledger, town = samples.ledger, samples.town
    star = ledger.badge(town.number, scheme_id=SCHEME)  # 2 stars: 245 minutes, threshold 3 h
    record = town.approved("org-a", town.number, 480, "legal-aid")  # 3 stars
    three = ledger.badge(town.number, scheme_id=SCHEME)
    assert "3 stars" in three["name"]

    def bit(badge: dict[str, Any]) -> bool:
        url = badge["credentialStatus"]["statusListCredential"]
        level = int(url.rsplit("/", 1)[1])
        status_list = ledger.badge_status_list(town.number, scheme_id=SCHEME, level=level)
        assert status_list["id"] == url
        return status_bit(badge, {url: status_list})

    assert not bit(star) and not bit(three)
    ledger.void_record("city", record_id=record, grounds="not volunteering", idempotency_key="v")
    assert bit(three) and not bit(star)


def test_a_status_list_is_only_for_the_volunteers_own_award(samples: Samples) -> None:
    with pytest.raises(NotFoundError):
        samples.ledger.badge_status_list(samples.town.stranger, honour_id=samples.honour_id)
    with pytest.raises(NotFoundError):
        samples.ledger.badge_status_list(samples.town.stranger, scheme_id=SCHEME, level=1)
    with pytest.raises(InvalidInputError):
        samples.ledger.badge_status_list(samples.town.number, scheme_id=SCHEME)
