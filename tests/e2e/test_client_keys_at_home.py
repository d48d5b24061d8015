"""An organisation whose key never leaves its machine: it drafts, checks, signs and submits its
own events through ``ledger.client`` against a real ``ledger serve``; the server's keystore holds
no key of it. Also: a revoked key, another organisation's draft and a replay change nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import rfc8785
from api_support import EVENT_CONTEXT, Server, start_ledger_serve
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hsm_support import new_token, token_pool

from ledger import Ledger, SigningKey
from ledger.client import LedgerClient, LedgerClientError
from ledger.hsm import Pkcs11Keystore

__all__ = ["new_token", "token_pool"]  # fixtures used here

pytestmark = pytest.mark.slow


@dataclass
class Deployment:
    server: Server
    api_key: str
    keystore: Path
    org_key_file: Path  # on the organisation's own machine
    db_url: str


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    from ledger.apikeys import create_api_key

    server_dir = tmp_path_factory.mktemp("server")
    org_machine = tmp_path_factory.mktemp("org-a-machine")
    key = SigningKey.generate()
    key_file = org_machine / "org-a.pem"
    key_file.write_bytes(key.to_pem())
    db_url = f"sqlite:///{server_dir / 'ledger.db'}"
    with Ledger(db_url) as ledger:
        ledger.create(name="Keys at home", root_org_id="city", root_name="City federation",
                      region="140400", origin="home.example/ledger")  # fmt: skip
        ledger.register_organisation("city", org_id="org-a", name="Org A", kind="organisation",
                                     region="140402", idempotency_key="org-a")  # fmt: skip
        ledger.register_key("city", for_org="org-a", public_key=key.public_key,
                            idempotency_key="org-a-key")  # only the public half  # fmt: skip
        ledger.register_organisation("city", org_id="org-b", name="Org B", kind="organisation",
                                     region="140403", idempotency_key="org-b")  # fmt: skip
        api_key = create_api_key(ledger, "org-a", ["register", "record", "approve", "read"])
    server = start_ledger_serve(db_url, server_dir)
    yield Deployment(server, api_key, server_dir / "ledger.db.keys", key_file, db_url)
    server.stop()


def client(deployment: Deployment, **options: object) -> LedgerClient:
    return LedgerClient.with_key_file(
        deployment.server.base_url, deployment.api_key, deployment.org_key_file, org="org-a",
        **options,  # type: ignore[arg-type]
    )  # fmt: skip


def verify_with_cryptography(envelope: str, key_file: Path) -> dict[str, object]:
    document = json.loads(envelope)
    raw = SigningKey.from_pem(key_file.read_bytes()).public_key.raw
    Ed25519PublicKey.from_public_bytes(raw).verify(
        base64.b64decode(document["signature"]), EVENT_CONTEXT + rfc8785.dumps(document["body"])
    )
    return dict(document["body"])


def test_an_organisation_records_and_approves_hours_with_its_key_at_home(
    deployment: Deployment,
) -> None:
    assert not (deployment.keystore / "org-a").exists(), "the server must hold no org-a key"
    now = datetime.now(UTC)
    with client(deployment) as org:
        number = org.register_volunteer(idempotency_key="vol-1").value.number
        activity = org.publish_activity(
            idempotency_key="act-1", title="River clean-up", field="community-governance",
            place="Riverside", starts_at=now - timedelta(hours=3),
            ends_at=now - timedelta(hours=1), leader="leader-01", content="litter picking",
        ).value.activity_id  # fmt: skip
        recorded = org.record_hours(
            idempotency_key="rec-1", activity_id=activity, number=number, minutes=120
        )
        approved = org.approve_record(idempotency_key="ok-1", record_id=recorded.value.record_id)
        records = org.records(number)
    assert [e.type for e in approved.events] == ["RecordApproved"]
    item = records["items"][0]
    assert (item["status"], item["credited_minutes"]) == ("approved", 120), records
    for made in (recorded, approved):
        leaf = made.events[0].leaf_index
        evidence = httpx.get(f"{deployment.server.base_url}/leaves/{leaf}", timeout=30).json()
        body = verify_with_cryptography(evidence["envelope"], deployment.org_key_file)
        assert body["org"] == "org-a"
    assert not (deployment.keystore / "org-a").exists(), "no org-a key reached the server"


def test_a_replayed_submission_stores_nothing_new(deployment: Deployment) -> None:
    with client(deployment) as org:
        first = org.register_volunteer(idempotency_key="vol-replay")
        size = httpx.get(f"{deployment.server.base_url}/readyz", timeout=30).json()["log_size"]
        again = org.register_volunteer(idempotency_key="vol-replay")
    assert again.replayed and again.events == first.events
    assert again.value == first.value
    after = httpx.get(f"{deployment.server.base_url}/readyz", timeout=30).json()["log_size"]
    assert after == size


def test_a_key_that_is_not_the_organisations_is_refused(
    deployment: Deployment, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(SigningKey.generate().to_pem())
    org = LedgerClient.with_key_file(
        deployment.server.base_url, deployment.api_key, stranger, org="org-a"
    )
    with org, pytest.raises(LedgerClientError) as caught:
        org.register_volunteer(idempotency_key="vol-stranger")
    assert caught.value.status in (401, 403), caught.value.problem


def test_an_api_key_acts_for_no_other_organisation(deployment: Deployment) -> None:
    org = LedgerClient.with_key_file(
        deployment.server.base_url, deployment.api_key, deployment.org_key_file, org="org-b"
    )
    with org, pytest.raises(LedgerClientError) as caught:
        org.register_volunteer(idempotency_key="vol-other-org")
    assert caught.value.status == 403


def test_a_revoked_key_signs_nothing_new(deployment: Deployment) -> None:
    """A second key of org-a (so the other tests keep theirs) works, then is revoked."""
    from ledger import DirectoryKeystore

    key = SigningKey.generate()
    operator = DirectoryKeystore(deployment.keystore)
    with Ledger(deployment.db_url, keystore=operator) as ledger:
        ledger.register_key("city", for_org="org-a", public_key=key.public_key,
                            idempotency_key="org-a-second-key")  # fmt: skip
    org = LedgerClient(deployment.server.base_url, deployment.api_key, key, org="org-a")
    with org:
        org.register_volunteer(idempotency_key="vol-before-revocation")
    # The city revokes it with its own root key (held by the operator here).
    with Ledger(deployment.db_url, keystore=operator) as ledger:
        ledger.revoke_key("city", for_org="org-a", key_id=key.key_id, reason="lost laptop",
                          idempotency_key="revoke-org-a-second")  # fmt: skip
    org = LedgerClient(deployment.server.base_url, deployment.api_key, key, org="org-a")
    with org, pytest.raises(LedgerClientError) as caught:
        org.register_volunteer(idempotency_key="vol-after-revocation")
    assert caught.value.status == 403 and "revoked" in str(caught.value), caught.value.problem


def test_an_organisation_signs_with_a_key_in_its_hsm(
    deployment: Deployment, new_token: Callable[[], Pkcs11Keystore]
) -> None:
    """The organisation's key is generated in its token; the city registers only its public
    half, and the client signs through PKCS#11."""
    from ledger import DirectoryKeystore

    hsm_key = new_token().generate("org-a")
    with Ledger(deployment.db_url, keystore=DirectoryKeystore(deployment.keystore)) as ledger:
        ledger.register_key("city", for_org="org-a", public_key=hsm_key.public_key,
                            idempotency_key="org-a-hsm-key")  # fmt: skip
    org = LedgerClient(deployment.server.base_url, deployment.api_key, hsm_key, org="org-a")
    with org:
        made = org.register_volunteer(idempotency_key="vol-hsm")
    leaf = made.events[0].leaf_index
    evidence = httpx.get(f"{deployment.server.base_url}/leaves/{leaf}", timeout=30).json()
    document = json.loads(evidence["envelope"])
    assert document["body"]["key_id"] == hsm_key.key_id
    Ed25519PublicKey.from_public_bytes(hsm_key.public_key.raw).verify(
        base64.b64decode(document["signature"]), EVENT_CONTEXT + rfc8785.dumps(document["body"])
    )
    assert evidence["key"]["registered_at_leaf"] <= leaf
