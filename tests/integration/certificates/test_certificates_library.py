"""Certificates over the library: issue, verify, revoke, verify again; every tampering a
verifier must catch, each with its own reason; names only with consent; award badges."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from test_certificates_town import (
    CONTACT,
    FULL_NAME,
    MASKED,
    ORIGIN,
    Town,
    build_town,
    resign,
)

from ledger import (
    KeyNotAuthorisedError,
    Ledger,
    MemoryKeystore,
    NotFoundError,
    RuleViolationError,
    SignatureError,
)
from ledger.certificates import Status, open_status, sign_status, verify_package
from ledger.certificates.acceptance import verify_here
from ledger.certificates.credential import credential_sha256, without_proof
from ledger.credentials import did_key, resolve_did_key, verify_proof
from ledger.log.checkpoint import Checkpoint
from ledger.log.note import NoteVerifier, parse_note
from ledger.log.receipt import parse_receipt
from ledger.model.certificates import certificate_aggregate_id

Opener = Callable[..., Ledger]
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"


@pytest.fixture
def town(open_ledger: Opener) -> Town:
    """A town in memory: the verifier does not depend on the store."""
    return build_town(open_ledger("memory://"))


def verdict_of(town: Town, package: dict[str, Any]) -> tuple[bool, str]:
    verdict = verify_package(package, town.log_keys)
    return verdict.valid, verdict.reason


# --- the whole life, on every store ---------------------------------------------------------


def test_issue_verify_revoke_verify_again(store_url: str, open_ledger: Opener) -> None:
    town = build_town(open_ledger(store_url))
    ledger = town.ledger
    number = town.issue()

    found = ledger.certificate(number)
    assert found["issuer"] == "org-a" and found["issuer_name"] == "Organisation A"
    assert not found["revoked"] and found["revoked_at"] is None
    issued = ledger.event(certificate_aggregate_id(number), 1)
    assert issued.type == "CertificateIssued" and issued.leaf_index == found["issuance_leaf"]
    assert found["data"]["credential_sha256"] == credential_sha256(
        without_proof(found["credential"])
    )

    verdict = verify_package(ledger.certificate_package(number), town.log_keys)
    assert verdict.valid, verdict.reason
    assert verdict.line().startswith(f"VALID: certificate {number} issued by org-a")
    assert "3 h 35 min" in verdict.reason
    assert verdict.details["approved_minutes"] == 215
    assert verdict.details["number"] == town.number
    assert verdict.details["leaf_index"] == found["issuance_leaf"]

    town.revoke(number, "two records were entered twice")
    found = ledger.certificate(number)
    assert found["revoked"] and found["revoked_reason"] == "two records were entered twice"
    assert found["revocation_leaf"] > found["issuance_leaf"]
    verdict = verify_package(ledger.certificate_package(number), town.log_keys)
    assert not verdict.valid
    assert verdict.line() == (
        f"INVALID: certificate {number} was revoked (log leaf {found['revocation_leaf']}): "
        "two records were entered twice"
    )


# --- what the certificate is ----------------------------------------------------------------


def test_the_credential_is_a_vc_2_0_signed_by_the_issuers_registered_key(town: Town) -> None:
    ledger = town.ledger
    number = town.issue()
    credential = ledger.certificate(number)["credential"]
    verify_proof(credential)
    assert credential["@context"] == [
        VC_CONTEXT,
        f"https://{ORIGIN}/contexts/service-hour-ledger-v1.jsonld",
    ]
    assert credential["type"] == ["VerifiableCredential", "VolunteerServiceCertificate"]
    assert credential["certificateNumber"] == number
    proof = credential["proof"]
    assert (proof["type"], proof["cryptosuite"]) == ("DataIntegrityProof", "eddsa-jcs-2022")
    assert proof["proofPurpose"] == "assertionMethod"
    key = resolve_did_key(proof["verificationMethod"])
    registered = ledger._directory.keys[key.key_id]
    assert registered.org_id == "org-a"
    assert credential["issuer"] == {
        "id": did_key(key),
        "name": "Organisation A",
        "contact": CONTACT,
    }
    subject = credential["credentialSubject"]
    assert subject["volunteerNumber"] == town.number
    assert subject["approvedMinutes"] == 215
    assert subject["minutesByServiceField"] == {"legal-aid": 120, "medical-and-health": 95}
    assert subject["minutesByRecordingOrganisation"] == {"org-a": 120, "station-a1": 95}
    assert subject["period"] == {"from": "2025-01-01", "to": "2025-12-31"}
    assert subject["recordCount"] == 2
    verify_url = f"https://{ORIGIN}/verify/{number}"
    assert credential["credentialStatus"][1]["id"] == verify_url + "/status"
    assert credential["evidence"][0]["verifyUrl"] == verify_url
    assert "float" not in json.dumps(credential)  # integers only: JCS reproduces the bytes


def test_the_federation_certifies_all_of_a_volunteers_hours(town: Town) -> None:
    number = town.issue("city")
    data = town.ledger.certificate(number)["data"]
    assert data["minutes_by_org"] == {"org-a": 120, "station-a1": 95}
    valid, reason = verdict_of(town, town.package(number))
    assert valid, reason
    assert "issued by city" in reason


def test_an_organisation_certifies_only_its_own_volunteers(town: Town) -> None:
    with pytest.raises(KeyNotAuthorisedError):
        town.issue("org-b", number=town.number)
    with pytest.raises(KeyNotAuthorisedError):
        town.issue("org-a", number=town.stranger)


def test_only_the_issuer_or_above_revokes_and_only_once(town: Town) -> None:
    number = town.issue("org-a")
    for stranger in ("org-b", "station-a1"):
        with pytest.raises(KeyNotAuthorisedError):
            town.revoke(number, "not mine", org=stranger)
    town.revoke(number, "recorded against the wrong volunteer", org="city")
    with pytest.raises(RuleViolationError, match="already revoked"):
        town.revoke(number, "again", org="org-a")
    with pytest.raises(NotFoundError):
        town.ledger.certificate("C2025-AAAAAAAAAA")


# --- names only with consent ----------------------------------------------------------------


def everything_about(town: Town, number: str) -> str:
    """Every byte a verifier or the log gets about the certificate, as text."""
    ledger = town.ledger
    package = town.package(number)
    receipts = [
        base64.b64decode(line[6:]).decode()
        for receipt in (package["issuance_receipt"], package["key_receipt"])
        for line in receipt.splitlines()
        if line.startswith("extra ")
    ]
    events = [e.envelope.decode() for e in ledger.events(certificate_aggregate_id(number))]
    return json.dumps([ledger.certificate(number), package, receipts, events], ensure_ascii=False)


@pytest.mark.parametrize("asked", [False, True])
def test_without_consent_a_certificate_carries_no_name(town: Town, asked: bool) -> None:
    number = town.issue(masked_name=asked)
    text = everything_about(town, number)
    assert "maskedName" not in town.ledger.certificate(number)["credential"]["credentialSubject"]
    assert FULL_NAME[0] not in text and FULL_NAME not in text


def test_with_consent_only_the_masked_name_appears_and_only_when_asked(town: Town) -> None:
    town.consent()
    unasked = town.issue(masked_name=False)
    assert FULL_NAME[0] not in everything_about(town, unasked)
    asked = town.issue(masked_name=True)
    subject = town.ledger.certificate(asked)["credential"]["credentialSubject"]
    assert subject["maskedName"] == MASKED
    assert FULL_NAME not in everything_about(town, asked)
    valid, reason = verdict_of(town, town.package(asked))
    assert valid, reason


def test_a_masked_name_stays_out_of_the_immutable_log(town: Town) -> None:
    town.consent()
    number = town.issue(masked_name=True)
    ledger = town.ledger
    events = ledger.events(certificate_aggregate_id(number))
    logged = [ledger.log.entry(e.leaf_index).decode() for e in events if e.leaf_index is not None]
    assert logged
    assert not any(MASKED in entry or 'masked_name":"' in entry for entry in logged)


def test_a_withdrawn_consent_keeps_the_name_off_new_certificates(town: Town) -> None:
    town.consent()
    town.ledger.withdraw_consent(
        "org-a", number=town.number, purpose="certificate-name", idempotency_key="withdraw"
    )
    number = town.issue(masked_name=True)
    assert FULL_NAME[0] not in everything_about(town, number)


# --- tampering: each rejected with its own reason -------------------------------------------


def test_changed_minutes_break_the_signature(town: Town) -> None:
    package = town.package(town.issue())
    package["credential"]["credentialSubject"]["approvedMinutes"] = 6000
    valid, reason = verdict_of(town, package)
    assert not valid
    assert reason.startswith("the credential's signature does not verify")


def test_minutes_changed_and_re_signed_by_the_issuer_differ_from_the_log(town: Town) -> None:
    """The issuing organisation itself inflates a certificate after the fact: its signature is
    good, but the log committed to the credential it issued."""
    package = town.package(town.issue())
    credential = package["credential"]
    credential["credentialSubject"]["approvedMinutes"] = 6000
    credential["credentialSubject"]["minutesByServiceField"]["legal-aid"] = 5905
    package["credential"] = resign(credential, town.ledger.signer_for("org-a"))
    verify_proof(package["credential"])
    valid, reason = verdict_of(town, package)
    assert not valid
    assert reason == "the credential differs from the one the ledger logged (content changed)"


@pytest.mark.parametrize("resigned", [False, True])
def test_a_changed_volunteer_number_is_rejected(town: Town, resigned: bool) -> None:
    package = town.package(town.issue())
    package["credential"]["credentialSubject"]["volunteerNumber"] = town.stranger
    if resigned:
        package["credential"] = resign(package["credential"], town.ledger.signer_for("org-a"))
    valid, reason = verdict_of(town, package)
    assert not valid
    if resigned:
        assert "differs from the one the ledger logged" in reason
    else:
        assert "signature does not verify" in reason


def test_a_swapped_issuer_is_rejected(town: Town) -> None:
    """Another organisation re-signs the credential with its own key, naming itself."""
    package = town.package(town.issue())
    package["credential"] = resign(
        package["credential"], town.ledger.signer_for("org-b"), as_issuer="Organisation B"
    )
    verify_proof(package["credential"])  # a good signature, by the wrong organisation
    valid, reason = verdict_of(town, package)
    assert not valid
    assert "differs from the one the ledger logged" in reason


def test_a_proof_by_another_key_over_the_same_content_is_rejected(town: Town) -> None:
    """The content is exactly what was logged, but another organisation's key signed it."""
    package = town.package(town.issue())
    package["credential"] = resign(package["credential"], town.ledger.signer_for("org-b"))
    verify_proof(package["credential"])
    valid, reason = verdict_of(town, package)
    assert not valid
    assert reason == "the credential was signed with another key than the logged issuance"


def test_another_certificates_receipt_is_rejected(town: Town) -> None:
    first, second = town.issue(), town.issue("city")
    package = town.package(first)
    package["issuance_receipt"] = town.package(second)["issuance_receipt"]
    valid, reason = verdict_of(town, package)
    assert not valid
    assert reason == "the issuance receipt is for another certificate number"


def test_a_revoked_certificate_is_rejected_with_when_and_why(town: Town) -> None:
    number = town.issue()
    town.revoke(number, "the activity did not take place")
    leaf = town.ledger.certificate(number)["revocation_leaf"]
    valid, reason = verdict_of(town, town.package(number))
    assert not valid
    assert reason == (
        f"certificate {number} was revoked (log leaf {leaf}): the activity did not take place"
    )


def test_an_old_status_note_is_valid_only_as_of_its_checkpoint(town: Town) -> None:
    """A package fetched before the revocation still verifies, and says as of which checkpoint;
    a verifier who wants fresh news fetches a new status note, which says revoked."""
    number = town.issue()
    before = town.package(number)
    town.revoke(number, "issued by mistake")
    revocation_leaf = town.ledger.certificate(number)["revocation_leaf"]
    verdict = verify_package(before, town.log_keys)
    assert verdict.valid, verdict.reason
    assert verdict.details["status_checkpoint"] <= revocation_leaf
    assert f"not revoked as of checkpoint {verdict.details['status_checkpoint']}" in (
        verdict.reason
    )
    fresh = dict(before, status=town.package(number)["status"])
    valid, reason = verdict_of(town, fresh)
    assert not valid and "was revoked" in reason and "issued by mistake" in reason


def test_a_status_note_for_another_certificate_is_rejected(town: Town) -> None:
    first, second = town.issue(), town.issue()
    package = town.package(first)
    package["status"] = town.package(second)["status"]
    valid, reason = verdict_of(town, package)
    assert not valid
    assert reason == "the status note is for another certificate"


def test_an_edited_status_note_is_rejected(town: Town) -> None:
    number = town.issue()
    town.revoke(number, "double counted")
    package = town.package(number)
    lines = package["status"].split("\n")
    revoked_at = next(i for i, line in enumerate(lines) if line.startswith("revoked "))
    del lines[revoked_at : revoked_at + 2]
    lines.insert(revoked_at, "valid")
    package["status"] = "\n".join(lines)
    valid, reason = verdict_of(town, package)
    assert not valid
    assert "malformed" in reason or "signature" in reason


def test_a_status_note_from_before_the_issuance_is_rejected(town: Town) -> None:
    number = town.issue()
    package = town.package(number)
    leaf = town.ledger.certificate(number)["issuance_leaf"]
    old = Status(ORIGIN, number, None, "", leaf, town.ledger.log.root(leaf))
    package["status"] = sign_status(old, town.ledger.log.signers())
    valid, reason = verdict_of(town, package)
    assert not valid
    assert reason == "the status note predates the certificate"


def test_another_logs_key_does_not_vouch(town: Town, open_ledger: Opener) -> None:
    other = build_town(open_ledger("memory://"))
    package = town.package(town.issue())
    verdict = verify_package(package, other.log_keys)
    assert not verdict.valid
    assert "does not verify with the log key" in verdict.reason
    assert not verify_package(package, []).valid


def _late_registration(
    open_ledger: Opener, town: Town, filler: int
) -> tuple[str, list[NoteVerifier]]:
    """A second log, also trusted, in which org-a's certificate key is registered after
    ``filler`` events: the receipt of that registration and the trusted keys of both logs."""
    issuer_key = town.ledger.signer_for("org-a").public_key
    other = open_ledger("memory://", keystore=MemoryKeystore())
    other.create(
        name="Another log",
        root_org_id="city",
        root_name="Other",
        region="140400",
        origin="other.cert.example/log",
    )
    for i in range(filler):
        other.register_volunteer("city", idempotency_key=f"filler-{i}")
    other.register_organisation(
        "city",
        org_id="org-a",
        name="Organisation A",
        kind="organisation",
        region="140402",
        idempotency_key="org-a",
    )
    result = other.register_key(
        "city", for_org="org-a", public_key=issuer_key, idempotency_key="late-key"
    )
    receipt = other.log.receipt(result.events[0].leaf_index)
    return receipt, town.log_keys + other.log.verifiers()


def test_an_issuer_key_registered_after_the_issuance_is_rejected(
    town: Town, open_ledger: Opener
) -> None:
    number = town.issue()
    package = town.package(number)
    issued_leaf = town.ledger.certificate(number)["issuance_leaf"]
    package["key_receipt"], keys = _late_registration(open_ledger, town, issued_leaf + 5)
    assert parse_receipt(package["key_receipt"]).index > issued_leaf
    verdict = verify_package(package, keys)
    assert not verdict.valid
    # A key cannot be registered in the same log after a certificate it signed, so the late
    # registration comes from another log, and is refused as such before its position is.
    assert verdict.reason in (
        "the issuer's key was registered after the certificate was issued",
        "the key receipt is from the log other.cert.example/log, not ledger.cert.example/log",
    )


def test_a_key_registration_in_another_log_does_not_vouch(town: Town, open_ledger: Opener) -> None:
    number = town.issue()
    package = town.package(number)
    package["key_receipt"], keys = _late_registration(open_ledger, town, 0)
    verdict = verify_package(package, keys)
    assert not verdict.valid, verdict.reason


def test_a_key_receipt_for_another_key_is_rejected(town: Town) -> None:
    number = town.issue()
    package = town.package(number)
    package["key_receipt"] = town.package(town.issue("city"))["key_receipt"]
    valid, reason = verdict_of(town, package)
    assert not valid
    assert reason == "the key receipt does not register the issuer's key for 'org-a'"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"status": None}, id="status-null"),
        pytest.param({"status": "not a note"}, id="status-text"),
        pytest.param({"issuance_receipt": "not a receipt"}, id="receipt-text"),
        pytest.param({"credential": {"certificateNumber": "x"}}, id="credential-no-proof"),
        pytest.param({"credential": None}, id="credential-null"),
        pytest.param({"credential": []}, id="credential-list"),
        pytest.param({"issuance_receipt": None}, id="receipt-null"),
        pytest.param({"key_receipt": 7}, id="key-receipt-number"),
    ],
)
def test_a_malformed_package_is_rejected_not_raised(town: Town, change: dict[str, Any]) -> None:
    package = {**town.package(town.issue()), **change}
    valid, reason = verdict_of(town, package)
    assert not valid and reason


def test_a_package_missing_a_member_is_rejected(town: Town) -> None:
    package = town.package(town.issue())
    for name in ["credential", "issuance_receipt", "key_receipt", "status"]:
        valid, reason = verdict_of(town, {k: v for k, v in package.items() if k != name})
        assert not valid and reason, name
    # status_checkpoint matters only under a witness policy (test_certificates_witnessed)
    assert verdict_of(town, {k: v for k, v in package.items() if k != "status_checkpoint"})[0]


def test_the_status_note_is_signed_by_the_log_key_about_a_real_checkpoint(town: Town) -> None:
    number = town.issue()
    package = town.package(number)
    status = open_status(package["status"], town.log_keys)
    assert (status.origin, status.certificate_number, status.revoked) == (ORIGIN, number, False)
    checkpoint = Checkpoint.parse(
        parse_note(town.ledger.log.checkpoint_at(status.checkpoint_size))[0]
    )
    assert checkpoint.root_hash == status.checkpoint_root


def test_a_reissued_command_returns_the_same_certificate(town: Town) -> None:
    ledger = town.ledger
    kwargs: dict[str, Any] = dict(
        number=town.number,
        period_from=date(2025, 1, 1),
        period_to=date(2025, 6, 30),
        issuer_contact=CONTACT,
        idempotency_key="same-request",
    )
    first = ledger.issue_certificate("org-a", **kwargs)
    again = ledger.issue_certificate("org-a", **kwargs)
    assert again.replayed
    assert again.value == first.value
    number = first.value.certificate_number
    assert verdict_of(town, town.package(number))[0]


# --- award badges ---------------------------------------------------------------------------


def test_star_and_honour_badges_are_signed_open_badges(town: Town) -> None:
    ledger = town.ledger
    ledger.new_key("city", for_org="city", idempotency_key="auto", purpose="automatic-awards")
    ledger.publish_star_scheme(
        "city",
        scheme_id="tiny-stars",
        name="Tiny stars",
        thresholds_hours=[1, 3, 10],
        idempotency_key="scheme",
    )
    town.approved("org-a", town.number, 30, "legal-aid")  # crossing a threshold issues stars
    star = ledger.badge(town.number, scheme_id="tiny-stars")
    verify_proof(star)
    assert star["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert star["@context"][0] == VC_CONTEXT and "ob/v3p0" in star["@context"][1]
    achievement = star["credentialSubject"]["achievement"]
    assert achievement["achievementType"] == "CommunityService"
    assert "2 stars" in star["name"]
    assert star["credentialSubject"]["identifier"][0]["identityHash"] == town.number
    issuer_key = resolve_did_key(star["proof"][0]["verificationMethod"])
    assert ledger._directory.keys[issuer_key.key_id].org_id == "city"
    assert star["issuer"]["id"] == did_key(issuer_key)

    honour_id = ledger.grant_honour(
        "org-a",
        recipient_kind="volunteer",
        recipient=town.number,
        honour="Legal aid star",
        citation="a year at the legal aid desk",
        granted_on=date(2025, 12, 5),
        idempotency_key="honour",
    ).value.honour_id
    honour = ledger.badge(town.number, honour_id=honour_id)
    verify_proof(honour)
    assert honour["credentialSubject"]["achievement"]["name"] == "Legal aid star"
    assert FULL_NAME not in json.dumps([star, honour], ensure_ascii=False)

    honour["credentialSubject"]["achievement"]["name"] = "National exemplar"
    with pytest.raises(SignatureError):
        verify_proof(honour)

    ledger.revoke_honour(
        "org-a",
        recipient_kind="volunteer",
        recipient=town.number,
        honour_id=honour_id,
        reason="granted by mistake",
        idempotency_key="unhonour",
    )
    with pytest.raises(NotFoundError):
        ledger.badge(town.number, honour_id=honour_id)
    with pytest.raises(NotFoundError):
        ledger.badge(town.stranger, scheme_id="tiny-stars")


# --- the acceptance policy, in the library ----------------------------------------------------


def test_the_library_gives_the_verdict_the_api_gives(town: Town) -> None:
    """``POST /verify`` only calls ``verify_here``: a program using the library gets the same
    answer for a number, a package, a bare credential, and each tampered with."""
    number = town.issue("org-a")
    package = town.package(number)
    for document in ({"certificate_number": number}, package, package["credential"]):
        answer = verify_here(town.ledger, document)
        assert answer["valid"], answer["reason"]
        assert answer["log_verifier_keys"] == town.ledger.log.verifier_keys()
    tampered = copy.deepcopy(package["credential"])
    tampered["credentialSubject"]["approvedMinutes"] = 99_999
    assert not verify_here(town.ledger, tampered)["valid"]
    unknown = verify_here(town.ledger, {"certificate_number": "C2025-AAAAAAAAAA"})
    assert unknown["reason"] == "certificate C2025-AAAAAAAAAA is not in this ledger"
    town.revoke(number, "recorded against the wrong volunteer")
    revoked = verify_here(town.ledger, {"certificate_number": number})
    assert not revoked["valid"] and "revoked" in revoked["reason"]
    assert not verify_here(town.ledger, {"neither": 1})["valid"]
