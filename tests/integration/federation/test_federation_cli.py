"""[federation] The command-line path: two ledgers made by ``ledger init`` (their trust files
as published), pinned with ``ledger federation add-peer``, a volunteer moved with
``transfer-out --out`` and ``transfer-in``; a package whose checkpoint lacks the quorum a pin
asks for, a malformed trust file and a replay are refused with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from federation_support import START

from ledger import Ledger, SigningKey
from ledger.cli import main
from ledger.log.witness import Witness


def _init(tmp_path: Path, name: str) -> tuple[str, Path]:
    url = f"sqlite:///{tmp_path / name / 'ledger.db'}"
    trust = tmp_path / f"{name}-trust.json"
    code = main(
        ["init", "--db", url, "--name", f"{name} ledger", "--root-org", name,
         "--root-name", f"{name} federation", "--region", "140400",
         "--origin", f"{name}.example/ledger", "--trust-out", str(trust)]
    )  # fmt: skip
    assert code == 0
    with Ledger(url) as ledger:
        ledger.register_organisation(
            name, org_id="org-a", name="Org A", kind="organisation", region="140402",
            idempotency_key="org-a",
        )  # fmt: skip
        ledger.new_key(name, for_org="org-a", idempotency_key="org-a-key")
    return url, trust


def test_a_volunteer_moves_through_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alpha, alpha_trust = _init(tmp_path, "alpha")
    beta, beta_trust = _init(tmp_path, "beta")
    no_witnesses = tmp_path / "no-witnesses.json"
    no_witnesses.write_text(json.dumps({"witnesses": [], "quorum": 0}))
    assert main(["federation", "add-peer", "--db", alpha, "--trust", str(beta_trust)]) == 0
    assert (
        main(
            [
                "federation",
                "add-peer",
                "--db",
                beta,
                "--trust",
                str(alpha_trust),
                "--policy",
                str(no_witnesses),
            ]
        )
        == 0
    )
    assert "pinned alpha.example/ledger" in capsys.readouterr().out

    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"origin": "x.example/ledger"}))
    assert main(["federation", "add-peer", "--db", beta, "--trust", str(broken)]) == 2
    assert "root_key" in capsys.readouterr().err

    with Ledger(alpha) as ledger:
        number = str(ledger.register_volunteer("org-a", idempotency_key="v").value.number)
        activity = ledger.publish_activity(
            "org-a", title="Desk", field="legal-aid", place="Centre", starts_at=START,
            ends_at=START.replace(hour=12), leader="lead", content="help",
            idempotency_key="act",
        ).value.activity_id  # fmt: skip
        record = ledger.record_hours(
            "org-a", activity_id=activity, number=number, minutes=100,
            occurred_at=START.replace(day=START.day + 1), idempotency_key="rec",
        ).value.record_id  # fmt: skip
        ledger.approve_record("org-a", record_id=record, idempotency_key="ok")
    with Ledger(beta) as ledger:
        newcomer = str(ledger.register_volunteer("org-a", idempotency_key="v").value.number)

    package = tmp_path / "package.json"
    code = main(
        ["federation", "transfer-out", "--db", alpha, "--org", "org-a", "--number", number,
         "--to", "beta.example/ledger", "--out", str(package)]
    )  # fmt: skip
    assert code == 0
    assert "100 approved minutes" in capsys.readouterr().out
    assert main(["federation", "verify", "--db", beta, "--package", str(package)]) == 0
    assert "verified: 100 minutes in 1 records" in capsys.readouterr().out
    moved = ["federation", "transfer-in", "--db", beta, "--org", "org-a", "--number", newcomer]
    assert main([*moved, "--package", str(package)]) == 0
    assert "received 100 minutes" in capsys.readouterr().out
    with Ledger(beta) as ledger:
        assert ledger.volunteer_balance(newcomer)["approved_minutes"] == 100
        other = str(ledger.register_volunteer("org-a", idempotency_key="v2").value.number)
    assert main(["federation", "check-transfers-in", "--db", beta]) == 0
    assert "1 transfer(s) in checked, 0 problem(s)" in capsys.readouterr().out
    replay = ["federation", "transfer-in", "--db", beta, "--org", "org-a", "--number", other]
    assert main([*replay, "--package", str(package)]) == 2
    assert "already accepted" in capsys.readouterr().err

    # alpha pinned beta with the trust file alone; a ledger that asks alpha's witnesses for a
    # quorum refuses the same, unwitnessed package
    gamma, _ = _init(tmp_path, "gamma")
    strict = tmp_path / "strict.json"
    witness = Witness("w.example/witness", SigningKey.generate()).key_string
    strict.write_text(json.dumps({"witnesses": [witness], "quorum": 1}))
    assert (
        main(
            [
                "federation",
                "add-peer",
                "--db",
                gamma,
                "--trust",
                str(alpha_trust),
                "--policy",
                str(strict),
            ]
        )
        == 0
    )
    assert main(["federation", "verify", "--db", gamma, "--package", str(package)]) == 2
    assert "does not meet quorum" in capsys.readouterr().err
