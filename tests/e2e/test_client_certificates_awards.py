"""[trust-roots] Certificates, honours and time-bank transfers from ``ledger.client`` against a
real ``ledger serve`` whose keystore holds no key of the organisation.

For a certificate the server drafts the event and the unsigned credential; the organisation signs
both at home; the server stores the credential only if it is exactly the one the event commits
to, signed by the event's key, in the same transaction as the event.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import rfc8785
from api_support import Server, start_ledger_serve
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hsm_support import new_token, token_pool
from interop_verifiers import run_verifiers

from ledger import DirectoryKeystore, Ledger, SigningKey
from ledger.certificates import verify_package
from ledger.certificates.credential import sign_credential, without_proof
from ledger.client import LedgerClient
from ledger.credentials import add_proof, did_key, did_key_verification_method
from ledger.credentials.status_list import encode_list
from ledger.envelope import signing_input
from ledger.hsm import Pkcs11Keystore
from ledger.log import parse_verifier_key
from ledger.signing import b64encode

__all__ = ["new_token", "token_pool"]  # fixtures used here
pytestmark = pytest.mark.slow
BANK = "home-bank"


@dataclass
class Home:
    server: Server
    api_key: str
    keystore: Path
    key_file: Path  # on the organisation's own machine
    key: SigningKey
    log_key: str
    db_url: str

    @property
    def url(self) -> str:
        return self.server.base_url

    def client(self) -> LedgerClient:
        return LedgerClient.with_key_file(self.url, self.api_key, self.key_file, org="org-a")

    def log_size(self) -> int:
        return int(httpx.get(self.url + "/readyz", timeout=30).json()["log_size"])

    def signing_key_is_at_home(self) -> bool:
        """The server's keystore holds no signing key of org-a (its automatic key only)."""
        held = DirectoryKeystore(self.keystore).key_ids("org-a")
        return self.key.key_id not in held and len(held) == 1

    def post(self, path: str, body: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.api_key}", "X-Acting-Org": "org-a"}
        return httpx.post(self.url + path, json=body, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    from ledger.apikeys import create_api_key

    server_dir = tmp_path_factory.mktemp("server")
    machine = tmp_path_factory.mktemp("org-a-machine")
    key = SigningKey.generate()
    key_file = machine / "org-a.pem"
    key_file.write_bytes(key.to_pem())
    db_url = f"sqlite:///{server_dir / 'ledger.db'}"
    with Ledger(db_url) as ledger:
        ledger.create(name="Keys at home", root_org_id="city", root_name="City federation",
                      region="140400", origin="home.example/ledger")  # fmt: skip
        ledger.register_organisation("city", org_id="org-a", name="Org A", kind="organisation",
                                     region="140402", idempotency_key="org-a")  # fmt: skip
        ledger.register_key("city", for_org="org-a", public_key=key.public_key,
                            idempotency_key="org-a-key")  # only the public half  # fmt: skip
        # org-a's bank mints credit with org-a's automatic-awards key: that key (and only that
        # one of org-a's) is kept on the server; org-a opens the bank from its own machine.
        ledger.new_key("city", for_org="org-a", idempotency_key="auto", purpose="automatic-awards")
        scopes = ["register", "record", "approve", "award", "timebank", "read"]
        api_key = create_api_key(ledger, "org-a", scopes)
        log_key = ledger.log.verifier_keys()[0]
    server = start_ledger_serve(db_url, server_dir, env={"LEDGER_ALLOW_LOCAL_LINKS": "true"})
    made = Home(server, api_key, server_dir / "ledger.db.keys", key_file, key, log_key, db_url)
    try:
        with made.client() as org:
            org.open_time_bank(idempotency_key="bank", bank_id=BANK)
        yield made
    finally:
        server.stop()


def volunteer_with_hours(org: LedgerClient, tag: str, minutes: int) -> str:
    now = datetime.now(UTC)
    number = str(org.register_volunteer(idempotency_key=f"vol-{tag}").value.number)
    activity = org.publish_activity(
        idempotency_key=f"act-{tag}", title="Reading to children", field="culture-and-arts",
        place="Library", starts_at=now - timedelta(hours=4), ends_at=now - timedelta(hours=1),
        leader="leader-01", content="story hour",
    ).value.activity_id  # fmt: skip
    record = org.record_hours(
        idempotency_key=f"rec-{tag}", activity_id=activity, number=number, minutes=minutes
    ).value.record_id
    org.approve_record(idempotency_key=f"ok-{tag}", record_id=record)
    return number


def test_a_certificate_is_signed_at_home_event_and_credential_both(home: Home) -> None:
    with home.client() as org:
        number = volunteer_with_hours(org, "cert", 150)
        today = datetime.now(UTC).date()
        issued = org.issue_certificate(
            idempotency_key="cert-1", number=number, period_from=date(today.year, 1, 1),
            period_to=date(today.year, 12, 31), issuer_contact="Org A desk", language="en",
        )  # fmt: skip
        certificate_number = str(issued.value.certificate_number)
        package = org.certificate_package(certificate_number)
    assert [e.type for e in issued.events] == ["CertificateIssued"]
    credential = package["credential"]
    assert credential == issued.credential, "the server keeps the credential as signed"
    assert credential["proof"]["verificationMethod"].startswith(did_key(home.key.public_key))
    verdict = verify_package(package, [parse_verifier_key(home.log_key)])
    assert verdict.valid, verdict.reason
    assert verdict.details["approved_minutes"] == 150
    assert home.signing_key_is_at_home()


def draft_certificate(home: Home, number: str, key: str) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    params = {"number": number, "period_from": f"{today.year}-01-01",
              "period_to": f"{today.year}-12-31", "issuer_contact": "Org A desk"}  # fmt: skip
    response = home.post(
        "/drafts/issue_certificate",
        {"key_id": home.key.key_id, "idempotency_key": key, "params": params},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def signed_events(home: Home, drafted: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"body": text, "signature": b64encode(home.key.sign(signing_input(text.encode())))}
        for text in drafted["bodies"]
    ]


def test_the_server_refuses_a_credential_that_is_not_the_one_the_event_commits_to(
    home: Home,
) -> None:
    with home.client() as org:
        number = volunteer_with_hours(org, "forged", 90)
    drafted = draft_certificate(home, number, "cert-forged")
    unsigned = drafted["value"]["credential"]
    body = json.loads(drafted["bodies"][0])
    events = signed_events(home, drafted)
    before = home.log_size()

    inflated = json.loads(json.dumps(unsigned))
    inflated["credentialSubject"]["totalMinutes"] = 9000
    changed = sign_credential(inflated, home.key, body["occurred_at"])
    other_key = sign_credential(unsigned, SigningKey.generate(), body["occurred_at"])
    honest = sign_credential(unsigned, home.key, body["occurred_at"])
    broken = json.loads(json.dumps(honest))
    broken["proof"]["proofValue"] = honest["proof"]["proofValue"][:-4] + "AAAA"
    for credential, reason in [
        (None, "with its signed credential"),
        (changed, "credential_sha256"),
        (other_key, "another key"),
        (broken, "does not verify"),
        ({"not": "a credential"}, "signed JSON object"),
    ]:
        answer = home.post("/events", {"events": events, "credential": credential})
        assert answer.status_code == 400, answer.text
        assert reason in answer.json()["detail"], answer.json()
        assert home.log_size() == before, "nothing was stored"
    drafted_list = drafted["value"]["status_list"]
    revoked_bits = json.loads(json.dumps(drafted_list))
    revoked_bits["credentialSubject"]["encodedList"] = encode_list([0])
    elsewhere = json.loads(json.dumps(drafted_list)) | {"id": "https://elsewhere.example/list"}
    for unsigned_list, reason in [
        (revoked_bits, "does not say 'not revoked'"),
        (elsewhere, "not the list the credential names"),
    ]:
        signed_list = add_proof(
            unsigned_list, home.key, did_key_verification_method(home.key.public_key),
            body["occurred_at"],
        )  # fmt: skip
        answer = home.post(
            "/events", {"events": events, "credential": honest, "status_list": signed_list}
        )
        assert answer.status_code == 400 and reason in answer.json()["detail"], answer.text
        assert home.log_size() == before
    answer = home.post("/events", {"events": events, "credential": honest})
    assert answer.status_code == 201, answer.text
    stored = httpx.get(
        f"{home.url}/certificates/{body['data']['certificate_number']}/credential", timeout=30
    ).json()
    assert stored == honest and without_proof(stored) == unsigned
    # A credential with anything but a certificate is refused as well.
    volunteer = home.post(
        "/drafts/register_volunteer",
        {"key_id": home.key.key_id, "idempotency_key": "vol-with-credential", "params": {}},
    ).json()
    answer = home.post("/events", {"events": signed_events(home, volunteer), "credential": honest})
    assert answer.status_code == 400 and "only with a CertificateIssued" in answer.text


def test_honours_are_granted_and_revoked_from_the_client(home: Home) -> None:
    with home.client() as org:
        number = volunteer_with_hours(org, "honour", 60)
        granted = org.grant_honour(
            idempotency_key="honour-1", recipient_kind="volunteer", recipient=number,
            honour="Story hour star", citation="a year of Saturdays",
            granted_on=datetime.now(UTC).date(),
        )  # fmt: skip
        honour_id = str(granted.value.honour_id)
        revoked = org.revoke_honour(
            idempotency_key="unhonour-1", recipient_kind="volunteer", recipient=number,
            honour_id=honour_id, reason="granted to the wrong volunteer",
        )  # fmt: skip
    assert [e.type for e in granted.events] == ["HonourGranted"]
    assert [e.type for e in revoked.events] == ["HonourRevoked"]
    for made in (granted, revoked):
        leaf = made.events[0].leaf_index
        envelope = httpx.get(f"{home.url}/leaves/{leaf}", timeout=30).json()["envelope"]
        assert json.loads(envelope)["body"]["key_id"] == home.key.key_id
    assert home.signing_key_is_at_home()


def test_time_bank_credit_moves_and_is_reversed_from_the_client(home: Home) -> None:
    with home.client() as org:
        giver = volunteer_with_hours(org, "giver", 120)
        taker = volunteer_with_hours(org, "taker", 30)
        accounts = [f"{BANK}:vol:{giver}", f"{BANK}:vol:{taker}"]

        def balances_become(expected: list[int]) -> bool:
            """The account view (kept up to date in the background) reaches ``expected``."""
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                found = []
                for account in accounts:
                    answer = org._http.get(f"/time-banks/accounts/{account}")
                    found.append(answer.json()["balance"] if answer.status_code == 200 else None)
                if found == expected:
                    return True
                time.sleep(0.2)
            return False

        assert balances_become([120, 30]), "credit earned 1:1 for the approved minutes"
        moved = org.transfer_credit(
            idempotency_key="give-1", bank_id=BANK, from_account=accounts[0],
            to_account=accounts[1], amount=45, kind="donation",
        )  # fmt: skip
        assert [e.type for e in moved.events] == ["CreditSent", "CreditReceived"]
        assert balances_become([75, 75])
        undone = org.reverse_transfer(  # found in the receiver's account, not searched for
            idempotency_key="undo-1",
            bank_id=BANK,
            transfer_id=str(moved.value.transfer_id),
            account=accounts[1],
        )
        assert [e.type for e in undone.events] == ["CreditSent", "CreditReceived"]
        assert balances_become([120, 30])
    assert home.signing_key_is_at_home()


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def eddsa_jcs_2022_holds(credential: dict[str, Any], public_key: bytes) -> bool:
    """W3C Data Integrity EdDSA Cryptosuites v1.0, 3.3.2, with ``cryptography`` and ``rfc8785``
    only: Ed25519 over SHA-256(JCS(proof options with @context)) || SHA-256(JCS(document))."""
    proof = dict(credential["proof"])
    value = proof.pop("proofValue")
    assert value[0] == "z"
    number = 0
    for char in value[1:]:
        number = number * 58 + B58.index(char)
    signature = number.to_bytes(64, "big")
    options = {**proof, "@context": credential["@context"]}
    document = {k: v for k, v in credential.items() if k != "proof"}
    message = (
        hashlib.sha256(rfc8785.dumps(options)).digest()
        + hashlib.sha256(rfc8785.dumps(document)).digest()
    )
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def hsm_certificate(
    home: Home, new_token: Callable[[], Pkcs11Keystore], tag: str
) -> tuple[Any, dict[str, Any]]:
    """A certificate issued by the client with org-a's key in its own token."""
    hsm_key = new_token().generate("org-a")
    with Ledger(home.db_url, keystore=DirectoryKeystore(home.keystore)) as ledger:
        ledger.register_key("city", for_org="org-a", public_key=hsm_key.public_key,
                            idempotency_key=f"org-a-hsm-key-{tag}")  # fmt: skip
    with home.client() as at_home:
        number = volunteer_with_hours(at_home, f"hsm-{tag}", 75)
    today = datetime.now(UTC).date()
    with LedgerClient(home.url, home.api_key, hsm_key, org="org-a") as org:
        issued = org.issue_certificate(
            idempotency_key=f"cert-hsm-{tag}", number=number,
            period_from=date(today.year, 1, 1), period_to=date(today.year, 12, 31),
            issuer_contact="Org A desk", language="en",
        )  # fmt: skip
        package = org.certificate_package(str(issued.value.certificate_number))
    return hsm_key, package


def test_a_certificate_signed_through_pkcs11_by_the_client_verifies_independently(
    home: Home, new_token: Callable[[], Pkcs11Keystore]
) -> None:
    """The organisation's key is in its own token; the client signs event and credential
    through PKCS#11; the package verifies, and the credential's proof with nothing of ours."""
    hsm_key, package = hsm_certificate(home, new_token, "proof")
    credential = package["credential"]
    assert credential["proof"]["verificationMethod"].startswith(did_key(hsm_key.public_key))
    assert verify_package(package, [parse_verifier_key(home.log_key)]).valid
    assert eddsa_jcs_2022_holds(credential, hsm_key.public_key.raw)
    changed = json.loads(json.dumps(credential))
    changed["credentialSubject"]["approvedMinutes"] += 60
    assert not eddsa_jcs_2022_holds(changed, hsm_key.public_key.raw)


def test_generic_verifiers_check_the_status_of_a_certificate_signed_at_home(
    home: Home, new_token: Callable[[], Pkcs11Keystore], tmp_path: Path
) -> None:
    """The issuer signs the status list ("not revoked") at home with the credential, and again
    ("revoked") with the revocation; the server serves what was signed. Revoked with another key
    of the organisation, no list can be signed: the server serves none (fail closed)."""
    hsm_key, package = hsm_certificate(home, new_token, "status")
    credential = package["credential"]
    status_url = credential["credentialStatus"][0]["statusListCredential"]
    number = credential["certificateNumber"]
    listed = httpx.get(f"{home.url}/status-lists/certificates/{number}", timeout=30)
    assert listed.status_code == 200, listed.text
    status_list = listed.json()
    assert status_list["proof"]["verificationMethod"].startswith(did_key(hsm_key.public_key))
    results = run_verifiers(
        {"certificate": credential, "status list": status_list},
        {status_url: status_list},
        tmp_path,
    )
    assert results["certificate"]["verified"] is True, results
    assert results["status list"]["verified"] is True, results
    with LedgerClient(home.url, home.api_key, hsm_key, org="org-a") as org:
        org.revoke_certificate(
            idempotency_key="revoke-hsm", certificate_number=number, reason="issued twice"
        )
        revoked = org.certificate_package(number)
    verdict = verify_package(revoked, [parse_verifier_key(home.log_key)])
    assert not verdict.valid and "was revoked" in verdict.reason
    listed = httpx.get(f"{home.url}/status-lists/certificates/{number}", timeout=30)
    assert listed.status_code == 200, listed.text
    revoked_list = listed.json()
    results = run_verifiers(
        {"certificate": credential, "revoked list": revoked_list},
        {status_url: revoked_list},
        tmp_path,
    )
    assert results["certificate"]["verified"] is False and results["certificate"]["revoked"]
    assert results["revoked list"]["verified"] is True, results

    # Issued with the token's key, revoked with the key file: no list can say "revoked".
    _, other = hsm_certificate(home, new_token, "other-key")
    other_number = other["credential"]["certificateNumber"]
    with home.client() as org:
        org.revoke_certificate(
            idempotency_key="revoke-other", certificate_number=other_number, reason="mistake"
        )
    listed = httpx.get(f"{home.url}/status-lists/certificates/{other_number}", timeout=30)
    assert listed.status_code == 403 and "was revoked" in listed.json()["detail"]
