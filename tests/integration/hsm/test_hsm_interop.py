"""[trust-roots] What keys in SoftHSM2 signed, checked by verifiers that share no code with the
ledger: a certificate's credential and its status list, signed by an organisation key in the
token, with Digital Bazaar's ``eddsa-jcs-2022`` verifiers (Node, ``tests/interop``); the issuing
event with ``cryptography`` and ``rfc8785``; and the checkpoint its receipt ends in, signed by
the log key in the token, with Go's ``golang.org/x/mod/sumdb/note``."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path

from interop_verifiers import run_verifiers
from test_hsm_keys import hsm_city, notecheck, record_and_approve, verify_independently

from ledger.credentials import did_key
from ledger.hsm import Pkcs11Keystore
from ledger.log import parse_note, parse_receipt

__all__ = ["notecheck"]  # the Go checker's fixture, used here


def test_a_certificate_signed_in_the_token_verifies_with_node_and_go(
    new_token: Callable[[], Pkcs11Keystore], notecheck: Path, tmp_path: Path
) -> None:
    ledger, keys = hsm_city(new_token())
    number = ledger.event_at(record_and_approve(ledger)["approved"].events[0].leaf_index).data[
        "number"
    ]
    issued = ledger.issue_certificate(
        "org-a", number=number, period_from=date(2000, 1, 1), period_to=date(2099, 12, 31),
        issuer_contact="Org A desk", language="en", idempotency_key="cert",
    )  # fmt: skip
    certificate_number = issued.value.certificate_number
    found = ledger.certificate(certificate_number)
    credential = found["credential"]
    status_list = ledger.certificate_status_list(certificate_number)
    assert credential["proof"]["verificationMethod"].startswith(did_key(keys["org"].public_key))

    more = copy.deepcopy(credential)
    more["credentialSubject"]["approvedMinutes"] += 60
    results = run_verifiers(
        {"certificate": credential, "status list": status_list, "more minutes": more},
        {status_list["id"]: status_list},
        tmp_path,
    )
    assert results["certificate"]["verified"] is True, results
    assert results["status list"]["verified"] is True, results
    assert results["certificate"]["revoked"] is False
    assert results["more minutes"]["verified"] is False

    receipt = parse_receipt(ledger.log.receipt(found["issuance_leaf"]))
    assert receipt.extra is not None
    body = verify_independently(receipt.extra, keys["org"].public_key.raw)
    assert body["type"] == "CertificateIssued" and body["key_id"] == keys["org"].key_id
    vkey = ledger.log.verifier_keys()[0]
    opened = subprocess.run(
        [str(notecheck), vkey], input=receipt.checkpoint_note.encode(), capture_output=True
    )
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.decode() == parse_note(receipt.checkpoint_note)[0]
    ledger.close()
