"""[trust-roots] Keys in an HSM (SoftHSM2 over PKCS#11): the log key, an automatic-award key and
an organisation's key generated in the token, a city run with them, and what they signed checked
with tools that share no code with the ledger (``cryptography`` and ``rfc8785``, and Go's
``golang.org/x/mod/sumdb/note`` for checkpoints)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pkcs11
import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import Ledger, SigningKey
from ledger.errors import InvalidInputError
from ledger.hsm import Pkcs11Keystore, Pkcs11Signer
from ledger.keystore import LOG_KEY_OWNER
from ledger.log import Checkpoint, Witness, parse_note, parse_verifier_key

EVENT_CONTEXT = b"service-hour-ledger/event/v1\n"
ORIGIN = "hsm.city.example/ledger"
X_MOD = "/usr/share/gocode/src/golang.org/x/mod"


def hsm_city(keystore: Pkcs11Keystore) -> tuple[Ledger, dict[str, Any]]:
    """A city whose root, log, automatic and organisation keys were all made in the token."""
    root, log = keystore.generate("city"), keystore.generate(LOG_KEY_OWNER)
    ledger = Ledger("memory://", keystore=keystore)
    ledger.create(name="HSM city", root_org_id="city", root_name="City federation",
                  region="140400", origin=ORIGIN, root_key=root, log_key=log)  # fmt: skip
    ledger.register_organisation("city", org_id="org-a", name="Org A", kind="organisation",
                                 region="140402", idempotency_key="org-a")  # fmt: skip
    org_key = keystore.generate("org-a")
    ledger.register_key("city", for_org="org-a", public_key=org_key.public_key,
                        idempotency_key="org-a-key")  # fmt: skip
    automatic = keystore.generate("city")
    ledger.register_key("city", for_org="city", public_key=automatic.public_key,
                        purpose="automatic-awards", idempotency_key="auto-key")  # fmt: skip
    return ledger, {"root": root, "log": log, "org": org_key, "automatic": automatic}


def record_and_approve(ledger: Ledger) -> dict[str, Any]:
    number = ledger.register_volunteer("org-a", idempotency_key="vol").value.number
    now = datetime.now(UTC)
    activity = ledger.publish_activity(
        "org-a", idempotency_key="act", title="Clean-up", field="community-governance",
        place="Park", starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=1),
        leader="leader-01", content="litter picking",
    ).value.activity_id  # fmt: skip
    recorded = ledger.record_hours(
        "org-a", activity_id=activity, number=number, minutes=90, idempotency_key="rec"
    )
    approved = ledger.approve_record(
        "org-a", record_id=recorded.value.record_id, idempotency_key="approve"
    )
    return {"recorded": recorded, "approved": approved}


def verify_independently(envelope: bytes, public_key: bytes) -> dict[str, Any]:
    """docs/signing.md with nothing of the ledger's: JCS of the body after the context line."""
    document = json.loads(envelope)
    body: dict[str, Any] = document["body"]
    assert body["key_id"] == hashlib.sha256(public_key).digest()[:16].hex()
    signature = base64.b64decode(document["signature"], validate=True)
    Ed25519PublicKey.from_public_bytes(public_key).verify(
        signature, EVENT_CONTEXT + rfc8785.dumps(body)
    )
    return body


def test_hours_signed_in_the_token_verify_with_cryptography(
    new_token: Callable[[], Pkcs11Keystore],
) -> None:
    ledger, keys = hsm_city(new_token())
    done = record_and_approve(ledger)
    for result in (done["recorded"], done["approved"]):
        leaf = result.events[0].leaf_index
        body = verify_independently(ledger.log.entry(leaf), keys["org"].public_key.raw)
        assert body["org"] == "org-a" and body["key_id"] == keys["org"].key_id
    ledger.close()


def test_checkpoints_signed_by_a_log_key_in_the_token_verify_with_cryptography(
    new_token: Callable[[], Pkcs11Keystore],
) -> None:
    ledger, keys = hsm_city(new_token())
    note = ledger.log.sign_checkpoint()
    text, _, lines = note.rpartition("\n\n")
    text += "\n"
    name, blob = lines.strip().removeprefix("\u2014 ").split(" ")
    raw = base64.b64decode(blob)
    public = keys["log"].public_key.raw
    assert name == ORIGIN
    assert raw[:4] == hashlib.sha256(ORIGIN.encode() + b"\n\x01" + public).digest()[:4]
    Ed25519PublicKey.from_public_bytes(public).verify(raw[4:], text.encode())
    ledger.close()


def test_a_reopened_token_finds_its_keys_and_they_never_leave_it(
    new_token: Callable[[], Pkcs11Keystore],
) -> None:
    keystore = new_token()
    signer = keystore.generate("org-a")
    assert keystore.key_ids("org-a") == [signer.key_id]
    assert keystore.get("org-b", signer.key_id) is None, "found under another owner"
    assert keystore.get("org-a", "00" * 16) is None
    found = keystore.get("org-a", signer.key_id)
    assert isinstance(found, Pkcs11Signer) and found.public_key == signer.public_key
    signature = found.sign(b"message")
    Ed25519PublicKey.from_public_bytes(signer.public_key.raw).verify(signature, b"message")
    private = keystore._session.get_key(
        object_class=pkcs11.ObjectClass.PRIVATE_KEY, id=bytes.fromhex(signer.key_id)
    )
    with pytest.raises(pkcs11.PKCS11Error):
        private[pkcs11.Attribute.VALUE]  # sensitive: the token will not hand it out
    assert private[pkcs11.Attribute.EXTRACTABLE] is False


def test_a_software_key_is_not_put_into_the_token(
    new_token: Callable[[], Pkcs11Keystore],
) -> None:
    keystore = new_token()
    with pytest.raises(InvalidInputError, match="generated in the token"):
        keystore.add("org-a", SigningKey.generate())
    assert keystore.key_ids("org-a") == []


@pytest.fixture(scope="module")
def notecheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Go's golang.org/x/mod/sumdb/note (Debian golang-golang-x-mod-dev), built offline."""
    source = Path(__file__).with_name("notecheck")
    if shutil.which("go") is None or not Path(X_MOD).is_dir():
        if os.environ.get("CI"):
            pytest.fail("CI requires Debian golang-go and golang-golang-x-mod-dev")
        pytest.skip("Go or golang.org/x/mod is not installed")
    out = tmp_path_factory.mktemp("go") / "notecheck"
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOPROXY": "off",
           "GOCACHE": str(out.parent / "cache"), "GOPATH": str(out.parent / "gopath")}  # fmt: skip
    subprocess.run(["go", "build", "-o", str(out), "."], cwd=source, env=env, check=True)
    return out


def test_checkpoints_signed_in_the_token_and_cosigned_open_with_go_sumdb_note(
    new_token: Callable[[], Pkcs11Keystore], notecheck: Path
) -> None:
    ledger, _ = hsm_city(new_token())
    note = ledger.log.sign_checkpoint()
    size = Checkpoint.parse(parse_note(note)[0]).size
    witness = Witness("witness.example/w1", SigningKey.generate())
    logs = [parse_verifier_key(v) for v in ledger.log.verifier_keys()]
    cosigned = ledger.log.add_cosignature(
        size, witness.cosign(None, note, [], logs, 1_772_668_800), [witness.verifier]
    )
    vkey = ledger.log.verifier_keys()[0]
    for text in (note, cosigned):
        opened = subprocess.run([str(notecheck), vkey], input=text.encode(), capture_output=True)
        assert opened.returncode == 0, opened.stderr
        assert opened.stdout.decode() == parse_note(text)[0]
    forged = note.replace(f"\n{size}\n", f"\n{size + 1}\n", 1)
    refused = subprocess.run([str(notecheck), vkey], input=forged.encode(), capture_output=True)
    assert refused.returncode == 1, refused.stdout
    ledger.close()
