"""``ledger verify FILE --key KEY``: one line saying whether the document is valid and why;
exit 0 valid, 1 invalid, 2 could not run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_certificates_town import Town, build_town, resign

from ledger import Ledger, SigningKey
from ledger.certificates.credential import sign_credential, without_proof
from ledger.cli import main
from ledger.credentials import did_key

Opener = Callable[..., Ledger]


@pytest.fixture
def town(open_ledger: Opener) -> Town:
    return build_town(open_ledger("memory://"))


def run_verify(
    capsys: pytest.CaptureFixture[str], path: Path, keys: list[str]
) -> tuple[int, str, str]:
    argv = ["verify", str(path)]
    for key in keys:
        argv += ["--key", key]
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path


def one_line(out: str) -> str:
    assert out.endswith("\n") and out.count("\n") == 1, repr(out)
    return out.rstrip("\n")


def test_issue_verify_revoke_verify_again_on_the_command_line(
    town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    number = town.issue()
    log_key = town.ledger.log.verifier_keys()
    valid = write(tmp_path, "valid.json", town.package(number))
    code, out, err = run_verify(capsys, valid, log_key)
    assert code == 0, err
    line = one_line(out)
    assert line.startswith(f"VALID: certificate {number} issued by org-a")
    assert f"to volunteer {town.number} for 3 h 35 min" in line

    town.revoke(number, "hours recorded twice")
    leaf = town.ledger.certificate(number)["revocation_leaf"]
    revoked = write(tmp_path, "revoked.json", town.package(number))
    code, out, _ = run_verify(capsys, revoked, log_key)
    assert code == 1
    assert one_line(out) == (
        f"INVALID: certificate {number} was revoked (log leaf {leaf}): hours recorded twice"
    )
    # the package saved before the revocation still says what it said, as of its checkpoint
    code, out, _ = run_verify(capsys, valid, log_key)
    assert code == 0 and "not revoked as of checkpoint" in one_line(out)


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("minutes", "INVALID: the credential's signature does not verify"),
        ("volunteer", "INVALID: the credential's signature does not verify"),
        ("minutes-resigned", "INVALID: the credential differs from the one the ledger logged"),
        ("issuer", "INVALID: the credential differs from the one the ledger logged"),
        ("key", "INVALID: the credential was signed with another key than the logged issuance"),
    ],
)
def test_a_tampered_package_is_invalid_with_its_reason(
    town: Town,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tamper: str,
    reason: str,
) -> None:
    package = town.package(town.issue())
    credential = package["credential"]
    subject = credential["credentialSubject"]
    if tamper.startswith("minutes"):
        subject["approvedMinutes"] += 600
    if tamper == "volunteer":
        subject["volunteerNumber"] = town.stranger
    if tamper == "minutes-resigned":
        package["credential"] = resign(credential, town.ledger.signer_for("org-a"))
    if tamper == "issuer":
        package["credential"] = resign(credential, town.ledger.signer_for("org-b"), as_issuer="B")
    if tamper == "key":
        package["credential"] = resign(credential, town.ledger.signer_for("org-b"))
    path = write(tmp_path, "tampered.json", package)
    code, out, _ = run_verify(capsys, path, town.ledger.log.verifier_keys())
    assert code == 1
    assert one_line(out).startswith(reason)


def test_a_receipt_verifies_alone(
    town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    number = town.issue()
    leaf = town.ledger.certificate(number)["issuance_leaf"]
    path = write(tmp_path, "issue.tlog-proof", town.ledger.log.receipt(leaf))
    code, out, _ = run_verify(capsys, path, town.ledger.log.verifier_keys())
    assert code == 0
    assert one_line(out).startswith(f"VALID: CertificateIssued by org-a is leaf {leaf} of the log")


def test_the_wrong_log_key_or_none_is_invalid(
    town: Town, open_ledger: Opener, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "p.json", town.package(town.issue()))
    other = build_town(open_ledger("memory://"))
    code, out, _ = run_verify(capsys, path, other.ledger.log.verifier_keys())
    assert code == 1 and "does not verify with the log key" in one_line(out)
    code, out, _ = run_verify(capsys, path, [])
    assert code == 1 and one_line(out) == (
        "INVALID: no trusted log key was given (pass the ledger's verifier key)"
    )


def test_what_cannot_be_run_exits_2(
    town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "p.json", town.package(town.issue()))
    code, out, err = run_verify(capsys, path, ["not a verifier key"])
    assert code == 2 and out == "" and err.startswith("ledger verify: could not run")
    code, out, err = run_verify(capsys, tmp_path / "missing.json", town.ledger.log.verifier_keys())
    assert code == 2 and out == "" and "could not run" in err


def test_a_file_that_is_no_document_is_invalid(
    town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = town.ledger.log.verifier_keys()
    for name, content in [("a.txt", "hello"), ("b.json", [1, 2]), ("c.json", {"a": 1})]:
        code, out, _ = run_verify(capsys, write(tmp_path, name, content), keys)
        assert code == 1 and one_line(out).startswith("INVALID: "), name


def test_a_package_with_a_null_credential_is_invalid(
    town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = dict(town.package(town.issue()), credential=None)
    path = write(tmp_path, "n.json", package)
    code, out, _ = run_verify(capsys, path, town.ledger.log.verifier_keys())
    assert code == 1 and one_line(out).startswith("INVALID: ")


def test_a_bare_credential_is_not_called_valid_without_its_ledger_evidence(
    town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    credential = town.ledger.certificate(town.issue())["credential"]
    path = write(tmp_path, "credential.json", credential)
    code, out, _ = run_verify(capsys, path, town.ledger.log.verifier_keys())
    line = one_line(out)
    assert line.startswith("INVALID: the credential's signature verifies")
    assert "certificate package" in line
    assert code == 1


def test_a_forged_bare_credential_is_not_valid(
    town: Town, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = town.ledger.certificate(town.issue())["credential"]
    forger = SigningKey.generate()
    unsigned = without_proof(real)
    unsigned["issuer"] = {**unsigned["issuer"], "id": did_key(forger.public_key)}
    unsigned["credentialSubject"]["approvedMinutes"] = 60_000
    forged = sign_credential(unsigned, forger, real["proof"]["created"])
    path = write(tmp_path, "forged.json", forged)
    code, out, _ = run_verify(capsys, path, town.ledger.log.verifier_keys())
    assert code == 1, out
