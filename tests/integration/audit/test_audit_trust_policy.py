"""[trust-roots] Trust policies: pinned anchors and a witness quorum for ``ledger audit``,
``ledger verify`` and the library, and a loud warning when nothing was pinned."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from audit_support import cli, db_url, run_audit
from ledger_testing import create_city

from ledger import Ledger, SigningKey
from ledger.cli.init import write_trust_file
from ledger.errors import InvalidInputError
from ledger.log import Checkpoint, Witness, parse_note, parse_verifier_key, verify_receipt
from ledger.transparency import CHECKPOINTS
from ledger.trust_policy import TrustPolicy

NOW = 1_772_668_800


@pytest.fixture(autouse=True)
def _in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def city(tmp_path: Path) -> Iterator[Ledger]:
    ledger = Ledger(f"sqlite:///{tmp_path / 'city.db'}")
    create_city(ledger)
    yield ledger
    ledger.close()


def witnesses() -> list[Witness]:
    return [Witness(f"witness.example/w{i}", SigningKey.generate()) for i in (1, 2)]


def cosign(ledger: Ledger, chosen: list[Witness]) -> str:
    """Sign a checkpoint now and have ``chosen`` cosign it, as their services would."""
    note = ledger.log.sign_checkpoint()
    logs = [parse_verifier_key(v) for v in ledger.log.verifier_keys()]
    size = Checkpoint.parse(parse_note(note)[0]).size
    for witness in chosen:
        note = ledger.log.add_cosignature(
            size, witness.cosign(None, note, [], logs, NOW), [witness.verifier]
        )
    return note


def policy_file(ledger: Ledger, path: Path, **extra: Any) -> Path:
    write_trust_file(path, ledger.trust_anchors() | extra)
    return path


def test_the_init_trust_file_is_a_policy_with_no_witnesses(city: Ledger, tmp_path: Path) -> None:
    policy = TrustPolicy.load(policy_file(city, tmp_path / "trust.json"))
    assert not policy.requires_witnesses
    assert policy.root_key is not None
    assert policy.verify_checkpoint(city.log.sign_checkpoint()).origin == city.log.origin


def test_an_audit_with_a_two_of_two_policy_needs_both_cosignatures(
    city: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w1, w2 = witnesses()
    keys = [w1.key_string, w2.key_string]
    trust = policy_file(city, tmp_path / "policy.json", witnesses=keys, quorum=2)
    policy = TrustPolicy.load(trust)
    cosign(city, [w1])
    report = run_audit(city, trust=policy.anchors(), witnesses=policy.checkpoints)
    assert [f.kind for f in report.findings] == ["checkpoint-not-witnessed"]
    code, out, _ = cli(capsys, "audit", "--db", db_url(city), "--trust", trust, "--quiet")
    assert code == 1 and "[checkpoint-not-witnessed]" in out, out
    assert "witness quorum '2 of 2 witnesses'" in out
    cosign(city, [w1, w2])
    code, out, _ = cli(capsys, "audit", "--db", db_url(city), "--trust", trust, "--quiet")
    assert code == 0, out
    assert "trusted on first use" not in out


def test_an_audit_without_trust_says_loudly_it_trusted_on_first_use(
    city: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    city.log.sign_checkpoint()
    code, out, _ = cli(capsys, "audit", "--db", db_url(city), "--quiet")
    assert code == 0, out
    assert out.splitlines()[2].startswith("!! NO TRUST ANCHORS GIVEN: trusted on first use")


def test_an_audit_refuses_a_policy_without_a_root_key(
    city: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = f"log {city.log.verifier_keys()[0]}\nquorum none\n"
    (tmp_path / "policy.txt").write_text(text, encoding="utf-8")
    code, _, err = cli(capsys, "audit", "--db", db_url(city), "--trust", "policy.txt", "--quiet")
    assert code == 2 and "pins no root key" in err


def test_verify_a_receipt_against_a_tlog_policy_file(
    city: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w1, w2 = witnesses()
    policy = tmp_path / "witnessed.policy"
    policy.write_text(
        f"log {city.log.verifier_keys()[0]}\n"
        f"witness w1 {w1.key_string}\nwitness w2 {w2.key_string}\n"
        "group both all w1 w2\nquorum both\n",
        encoding="utf-8",
    )
    cosign(city, [w1])
    receipt = tmp_path / "leaf.tlog-proof"
    receipt.write_text(city.log.receipt(3), encoding="utf-8")
    code, out, _ = cli(capsys, "verify", receipt, "--trust", policy)
    assert code == 1 and out.startswith("INVALID") and "quorum" in out, out
    cosign(city, [w1, w2])
    receipt.write_text(city.log.receipt(3), encoding="utf-8")
    code, out, err = cli(capsys, "verify", receipt, "--trust", policy)
    assert code == 0 and out.startswith("VALID"), out
    assert "witness quorum 'both'" in out and "trusted on first use" not in err
    code, out, err = cli(capsys, "verify", receipt, "--key", city.log.verifier_keys()[0])
    assert code == 0 and "trusted on first use" in err


def test_a_policy_pinning_another_log_key_refuses_the_receipt(
    city: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = Ledger("memory://")
    create_city(other)  # same origin, other keys: an impostor log
    trust = policy_file(other, tmp_path / "other.json")
    receipt = tmp_path / "leaf.tlog-proof"
    receipt.write_text(city.log.receipt(3), encoding="utf-8")
    code, out, _ = cli(capsys, "verify", receipt, "--trust", trust)
    assert code == 1 and out.startswith("INVALID"), out
    other.close()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"witnesses": "not a list"}, "list of key strings"),
        ({"witnesses": ["garbage"]}, "malformed verifier key"),
        ({"quorum": 3}, "impossible"),
        ({"quorum": True}, "quorum is an integer"),
        ({"log_verifiers": [], "log_keys": {}}, "at least one log key"),
        ({"policy": "quorum w9\n"}, "names no witness"),
    ],
)
def test_a_bad_policy_is_refused_with_a_clear_error(
    city: Ledger, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    w1, w2 = witnesses()
    base = {"witnesses": [w1.key_string, w2.key_string]}
    path = policy_file(city, tmp_path / "bad.json", **(base | change))
    with pytest.raises(InvalidInputError, match=message):
        TrustPolicy.load(path)


def test_a_policy_file_that_is_not_json_nor_a_policy_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.policy"
    path.write_text("this is not a policy\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="policy line 1"):
        TrustPolicy.load(path)
    path.write_text(json.dumps([1, 2]), encoding="utf-8")
    with pytest.raises(InvalidInputError, match="a trust file is a JSON object"):
        TrustPolicy.load(path)


def test_the_library_verifies_receipts_with_the_same_policy(city: Ledger, tmp_path: Path) -> None:
    w1, w2 = witnesses()
    trust = policy_file(city, tmp_path / "p.json", witnesses=[w1.key_string, w2.key_string])
    policy = TrustPolicy.load(trust)
    cosign(city, [w1, w2])
    receipt = city.log.receipt(2)
    assert verify_receipt(receipt, city.log.entry(2), policy.checkpoints).size > 2


def _grow(ledger: Ledger, key: str) -> None:
    ledger.register_volunteer("org-a", idempotency_key=key)


def test_an_audit_checks_the_quorum_on_every_kept_checkpoint(
    city: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w1, w2 = witnesses()
    trust = policy_file(city, tmp_path / "policy.json", witnesses=[w1.key_string, w2.key_string])
    policy = TrustPolicy.load(trust)
    first = Checkpoint.parse(parse_note(cosign(city, [w1, w2]))[0]).size
    _grow(city, "vol-2")
    middle = Checkpoint.parse(parse_note(cosign(city, [w1]))[0]).size
    _grow(city, "vol-3")
    newest = Checkpoint.parse(parse_note(cosign(city, [w1, w2]))[0]).size
    assert first < middle < newest
    report = run_audit(city, trust=policy.anchors(), witnesses=policy.checkpoints)
    unwitnessed = [f for f in report.findings if f.kind == "checkpoint-not-witnessed"]
    assert [f.kind for f in report.findings] == ["checkpoint-not-witnessed"]
    assert f"checkpoint of {middle} leaves" in unwitnessed[0].message
    assert report.checkpoints_witnessed == 2
    code, out, _ = cli(capsys, "audit", "--db", db_url(city), "--trust", trust, "--quiet")
    assert code == 1 and f"checkpoint of {middle} leaves" in out, out
    assert "witnessed (quorum)   2" in out
    # The missing cosignature arrives late: the same audit is now clean.
    logs = [parse_verifier_key(v) for v in city.log.verifier_keys()]
    line = w2.cosign(None, city.log.checkpoint_at(middle), [], logs, NOW)
    city.log.add_cosignature(middle, line, [w2.verifier])
    report = run_audit(city, trust=policy.anchors(), witnesses=policy.checkpoints)
    assert report.clean and report.checkpoints_witnessed == 3, report.findings


def test_an_operator_cannot_forge_a_cosignature_on_an_old_checkpoint(
    city: Ledger, tmp_path: Path
) -> None:
    w1, w2 = witnesses()
    trust = policy_file(city, tmp_path / "policy.json", witnesses=[w1.key_string, w2.key_string])
    policy = TrustPolicy.load(trust)
    middle = Checkpoint.parse(parse_note(cosign(city, [w1]))[0]).size
    _grow(city, "vol-2")
    cosign(city, [w1, w2])
    # An operator with database access copies w2's cosignature of the newest checkpoint onto
    # the older one: the line names w2's key but does not verify over that checkpoint.
    newest_lines = city.log.latest().split("\n\n", 1)[1].splitlines()
    w2_line = next(line for line in newest_lines if line.startswith(f"— {w2.verifier.name} "))
    forged = city.log.checkpoint_at(middle) + w2_line + "\n"
    city._recorder.side_put(CHECKPOINTS, f"{middle:020d}", forged.encode("utf-8"))
    report = run_audit(city, trust=policy.anchors(), witnesses=policy.checkpoints)
    unwitnessed = [f for f in report.findings if f.kind == "checkpoint-not-witnessed"]
    assert len(unwitnessed) == 1 and f"checkpoint of {middle} leaves" in unwitnessed[0].message
    assert report.checkpoints_witnessed == 1
    # Without a witness policy the audit does not ask, and says nothing about witnesses.
    assert run_audit(city, trust=policy.anchors()).checkpoints_witnessed is None


def test_checkpoints_signed_before_the_witnesses_can_be_left_out_of_the_quorum(
    city: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Witnesses set up after the ledger started: the policy says from which size on."""
    w1, w2 = witnesses()
    keys = [w1.key_string, w2.key_string]
    before = Checkpoint.parse(parse_note(cosign(city, []))[0]).size
    _grow(city, "vol-2")
    since = Checkpoint.parse(parse_note(cosign(city, [w1, w2]))[0]).size
    everything = policy_file(city, tmp_path / "all.json", witnesses=keys)
    code, out, _ = cli(capsys, "audit", "--db", db_url(city), "--trust", everything, "--quiet")
    assert code == 1 and f"checkpoint of {before} leaves" in out, out
    later = policy_file(city, tmp_path / "later.json", witnesses=keys, witnessed_from=since)
    code, out, _ = cli(capsys, "audit", "--db", db_url(city), "--trust", later, "--quiet")
    assert code == 0, out
    assert f"from checkpoints of {since} leaves on" in out and "witnessed (quorum)   1" in out
    # A later checkpoint without the quorum is still reported.
    _grow(city, "vol-3")
    after = Checkpoint.parse(parse_note(cosign(city, [w2]))[0]).size
    code, out, _ = cli(capsys, "audit", "--db", db_url(city), "--trust", later, "--quiet")
    assert code == 1 and f"checkpoint of {after} leaves" in out, out
    assert f"checkpoint of {before} leaves" not in out


@pytest.mark.parametrize("since", [-1, "10", True, 1.5])
def test_a_bad_witnessed_from_is_refused(city: Ledger, tmp_path: Path, since: Any) -> None:
    path = policy_file(city, tmp_path / "bad.json", witnessed_from=since)
    with pytest.raises(InvalidInputError, match="witnessed_from"):
        TrustPolicy.load(path)
