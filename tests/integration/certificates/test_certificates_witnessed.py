"""[trust-roots] A certificate verified under a witness policy: every checkpoint involved, the
receipts' and the one the status note is about, must be cosigned by the quorum."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_certificates_town import Town, build_town

from ledger import Ledger, SigningKey
from ledger.certificates import Status, sign_status, verify_package
from ledger.cli import main
from ledger.cli.init import write_trust_file
from ledger.log import Checkpoint, Policy, Witness, parse_note, parse_verifier_key
from ledger.trust_policy import TrustPolicy

NOW = 1_772_668_800
Opener = Callable[..., Ledger]


@pytest.fixture
def town(open_ledger: Opener) -> Town:
    return build_town(open_ledger("memory://"))


@pytest.fixture
def pair() -> list[Witness]:
    return [Witness(f"witness.example/w{i}", SigningKey.generate()) for i in (1, 2)]


def cosign_latest(ledger: Ledger, chosen: list[Witness]) -> int:
    """Sign a checkpoint of the log as it is and have ``chosen`` cosign it; return its size."""
    note = ledger.log.sign_checkpoint()
    size = Checkpoint.parse(parse_note(note)[0]).size
    logs = [parse_verifier_key(v) for v in ledger.log.verifier_keys()]
    for witness in chosen:
        line = witness.cosign(None, ledger.log.checkpoint_at(size), [], logs, NOW)
        ledger.log.add_cosignature(size, line, [witness.verifier])
    return size


def two_of_two(town: Town, pair: list[Witness]) -> Policy:
    return Policy(town.log_keys, [w.verifier for w in pair], 2)


def test_a_certificate_needs_its_checkpoint_witnessed_by_the_quorum(
    town: Town, pair: list[Witness]
) -> None:
    policy = two_of_two(town, pair)
    number = town.issue()
    cosign_latest(town.ledger, pair[:1])
    half = town.package(number)
    verdict = verify_package(half, town.log_keys, policy)
    assert not verdict.valid and "quorum" in verdict.reason, verdict.reason
    # Without the policy the same package holds: the quorum is what refuses it.
    assert verify_package(half, town.log_keys).valid
    cosign_latest(town.ledger, pair[1:])
    full = town.package(number)
    verdict = verify_package(full, town.log_keys, policy)
    assert verdict.valid, verdict.reason
    assert verdict.reason.endswith("(witnessed)")


def test_a_status_about_an_unwitnessed_checkpoint_is_refused(
    town: Town, pair: list[Witness]
) -> None:
    """Witnessed receipts and a status note about a later checkpoint nobody cosigned: the log
    key alone says "not revoked" about a state no witness saw, which the policy refuses."""
    policy = two_of_two(town, pair)
    number = town.issue()
    cosign_latest(town.ledger, pair)
    package = town.package(number)
    town.approved("org-b", town.stranger, 30, "emergency-rescue")
    later_size = cosign_latest(town.ledger, [])
    later = town.package(number)
    mixed = package | {"status": later["status"], "status_checkpoint": later["status_checkpoint"]}
    assert verify_package(mixed, town.log_keys).valid
    verdict = verify_package(mixed, town.log_keys, policy)
    assert not verdict.valid
    assert "status note's checkpoint" in verdict.reason and "quorum" in verdict.reason
    # With the status checkpoint dropped, the receipts' witnessed checkpoint is of another size.
    del mixed["status_checkpoint"]
    verdict = verify_package(mixed, town.log_keys, policy)
    assert not verdict.valid and "status note's checkpoint" in verdict.reason
    assert f"({later_size} leaves)" in verdict.reason


def test_a_status_signed_by_the_log_over_a_root_no_witness_saw_is_refused(
    town: Town, pair: list[Witness]
) -> None:
    """The operator, holding the log key, signs "valid" for a revoked certificate about a
    checkpoint of the witnessed size but another root (the history without the revocation)."""
    policy = two_of_two(town, pair)
    number = town.issue()
    town.revoke(number, "hours recorded twice")
    size = cosign_latest(town.ledger, pair)
    honest = town.package(number)
    verdict = verify_package(honest, town.log_keys, policy)
    assert not verdict.valid and "was revoked" in verdict.reason
    origin = town.ledger.log.origin
    lie = Status(origin, number, None, "", size, bytes(32))
    forged = honest | {"status": sign_status(lie, town.ledger.log.signers())}
    assert verify_package(forged, town.log_keys).valid  # the log key alone is fooled
    verdict = verify_package(forged, town.log_keys, policy)
    assert not verdict.valid and "status note's checkpoint" in verdict.reason, verdict.reason


def test_a_package_without_a_status_checkpoint_passes_with_the_receipts_checkpoint(
    town: Town, pair: list[Witness]
) -> None:
    """Packages saved before ``status_checkpoint`` existed: the receipts' witnessed checkpoint
    of the same size and root stands for it."""
    number = town.issue()
    cosign_latest(town.ledger, pair)
    package = town.package(number)
    del package["status_checkpoint"]
    assert verify_package(package, town.log_keys, two_of_two(town, pair)).valid


def test_ledger_verify_with_a_trust_policy_refuses_then_accepts(
    town: Town, pair: list[Witness], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trust = tmp_path / "trust.json"
    write_trust_file(
        trust, town.ledger.trust_anchors() | {"witnesses": [w.key_string for w in pair]}
    )
    assert TrustPolicy.load(trust).requires_witnesses
    number = town.issue()
    cosign_latest(town.ledger, pair[1:])

    def verify(package: dict[str, Any]) -> tuple[int, str]:
        path = tmp_path / "package.json"
        path.write_text(json.dumps(package), encoding="utf-8")
        capsys.readouterr()
        code = main(["verify", str(path), "--trust", str(trust)])
        return code, capsys.readouterr().out

    code, out = verify(town.package(number))
    assert code == 1 and out.startswith("INVALID") and "quorum" in out, out
    cosign_latest(town.ledger, pair[:1])
    code, out = verify(town.package(number))
    assert code == 0 and out.startswith(f"VALID: certificate {number}"), out
    assert "(witnessed)" in out and "witness quorum '2 of 2 witnesses'" in out
