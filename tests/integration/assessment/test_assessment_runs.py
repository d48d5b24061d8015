"""Assessment runs: every unit's figures computed from the signed records and published by the
scheme's owner, committing to the log size; the audit recomputes them and flags any difference."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from assessment_support import ORG_SCHEME, BuiltTown, build_town, key, refused

from ledger import (
    KeyNotAuthorisedError,
    Ledger,
    RuleViolationError,
    SignatureError,
    SigningKey,
    TamperedEventError,
    canonical_json,
)
from ledger.audit import BundleSource, StoreSource, audit, export_bundle
from ledger.cli import main
from ledger.credentials import did_key, verify_proof
from ledger.envelope import SIGNING_CONTEXT, format_time
from ledger.model.assessments import assessment_aggregate_id, score_figures
from ledger.signing import b64encode

SCHEME = "district-2025"

OB3_SCHEMA = Path(__file__).parents[2] / "vectors/ob3/ob_v3p0_achievementcredential_schema.json"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltTown:
    return BuiltTown.build(tmp_path_factory.mktemp("runs"), ORG_SCHEME)


@pytest.fixture
def ledger(built: BuiltTown, tmp_path: Path, open_ledger: Callable[..., Ledger]) -> Ledger:
    return built.copy(tmp_path, open_ledger)


def values(result: dict[str, Any]) -> dict[str, int]:
    return {f["indicator"]: f["value"] for f in result["figures"]}


def run_audit(ledger: Ledger) -> Any:
    return audit(StoreSource(ledger), compare_views=False, progress=False, workers=1)


def test_each_unit_gets_its_figures_from_the_signed_records(ledger: Ledger) -> None:
    result = ledger.assess("city", scheme_id=SCHEME, period="2025", idempotency_key="run")
    size = result.value.log_size
    assert result.events[0].leaf_index == size
    org_a = ledger.assessment_result(SCHEME, "2025", "org-a")
    assert values(org_a) == {
        "registered-volunteers": 3,  # registered in January 2025 (the first one in 2026)
        "volunteer-growth": 3000,  # from 0 at the start of the year
        "active-member-share": 1000,
        "activities-held": 7,
        "approved-minutes-per-member": (90 + 10 * 120 + 120) // 3,
        "weeks-with-service": 7,
        "late-recording-rate": 1000 // 12,  # one late record of twelve that stand
        "station-checklist-met": 0,
    }
    assert (org_a["score"], org_a["rating"], org_a["log_size"]) == (634, "city-level", size)
    org_b = ledger.assessment_result(SCHEME, "2025", "org-b")
    assert values(org_b)["registered-volunteers"] == 2
    assert values(org_b)["active-member-share"] == 500
    ranking = ledger.assessment_ranking(SCHEME, "2025")
    assert [(r["rank"], r["unit"]) for r in ranking] == [(1, "org-a"), (2, "org-b")]


def test_only_the_scheme_owner_publishes_results(ledger: Ledger) -> None:
    with refused(ledger, KeyNotAuthorisedError, "owned by 'city'"):
        ledger.assess("org-a", scheme_id=SCHEME, period="2025", idempotency_key="steal")


def outside_result(ledger: Ledger, data: dict[str, Any], org: str = "city") -> tuple[bytes, str]:
    """A result body signed with ``org``'s own key, submitted as an outside signer would."""
    signer = ledger.signer_for(org)
    assert isinstance(signer, SigningKey)
    aggregate_id = assessment_aggregate_id(data["scheme_id"], data["period"], data["unit"])
    body = {
        "type": "AssessmentPublished",
        "org": org,
        "key_id": signer.key_id,
        "aggregate_id": str(aggregate_id),
        "aggregate_version": len(ledger.events(aggregate_id)) + 1,
        "occurred_at": format_time(ledger.clock()),
        "idempotency_key": key("outside"),
        "data": data,
    }
    signature = signer.sign(SIGNING_CONTEXT + canonical_json(body))
    return canonical_json(body), b64encode(signature)


def inflated(ledger: Ledger) -> dict[str, Any]:
    """org-b's honest result with one more activity claimed (scores kept consistent)."""
    computed = ledger.compute_assessment(SCHEME, "2025")
    values_b = {f["indicator"]: f["value"] for f in computed["units"]["org-b"]["figures"]}
    values_b["activities-held"] += 9
    return {
        "scheme_id": SCHEME,
        "scheme_version": 1,
        "period": "2025",
        "unit_kind": "organisation",
        "unit": "org-b",
        "log_size": computed["log_size"],
        **score_figures(computed["scheme"], values_b),
    }


def test_the_write_path_refuses_results_whose_scores_do_not_follow(ledger: Ledger) -> None:
    data = inflated(ledger)
    data["score"] += 1
    with refused(ledger, RuleViolationError, "not those the scheme derives"):
        ledger.submit_signed([outside_result(ledger, data)])
    with refused(ledger, KeyNotAuthorisedError, "scheme's owner"):
        ledger.submit_signed([outside_result(ledger, inflated(ledger), org="org-a")])
    outside = {**inflated(ledger), "unit": "city"}
    with refused(ledger, KeyNotAuthorisedError, "not a organisation below"):
        ledger.submit_signed([outside_result(ledger, outside)])


def test_the_audit_recomputes_every_result_at_its_log_size(ledger: Ledger) -> None:
    ledger.assess("city", scheme_id=SCHEME, period="2025", idempotency_key="first")
    number = ledger.register_volunteer("org-b", idempotency_key=key("late-joiner")).value.number
    assert number
    ledger.assess("city", scheme_id=SCHEME, period="2025", idempotency_key="second")
    report = run_audit(ledger)
    assert report.clean, [f.line() for f in report.findings]
    assert report.assessments_recomputed == 4
    assert report.to_json()["assessments_recomputed"] == 4


def test_the_audit_flags_a_signed_result_whose_figures_differ(ledger: Ledger) -> None:
    ledger.submit_signed([outside_result(ledger, inflated(ledger))])
    report = run_audit(ledger)
    kinds = [f.kind for f in report.findings]
    assert kinds == ["assessment-mismatch"], [f.line() for f in report.findings]
    assert "activities-held published 12 recomputed 3" in report.findings[0].message


def test_the_audit_flags_a_result_that_commits_to_a_log_it_could_not_see(ledger: Ledger) -> None:
    data = {**inflated(ledger), "log_size": ledger.log_size() + 50}
    leaf = ledger.submit_signed([outside_result(ledger, data)]).events[0].leaf_index
    report = run_audit(ledger)
    assert [f.kind for f in report.findings] == ["assessment-mismatch"]
    assert report.findings[0].leaf_index == leaf
    assert f"but was logged at leaf {leaf}" in report.findings[0].message


def test_ledger_assess_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    with Ledger(url) as ledger:
        build_town(ledger)
        ledger.publish_assessment_scheme("city", scheme=ORG_SCHEME, idempotency_key="scheme")
    assert main(["assess", "--db", url, "--scheme", SCHEME, "--period", "2025", "--dry-run"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["published"] is False and dry["units"]["org-a"]["rating"] == "city-level"
    assert main(["assess", "--db", url, "--scheme", SCHEME, "--period", "2025"]) == 0
    published = json.loads(capsys.readouterr().out)
    assert published["published"] is True and published["units"] == dry["units"]
    assert main(["assess", "--db", url, "--scheme", SCHEME, "--period", "20x5"]) == 2
    assert "not a year" in capsys.readouterr().err
    assert main(["audit", "--db", url, "--quiet", "--no-views"]) == 0
    assert "assessment results   2 recomputed" in capsys.readouterr().out


def test_a_rating_leaves_as_an_open_badge_signed_by_the_scheme_owner(ledger: Ledger) -> None:
    ledger.assess("city", scheme_id=SCHEME, period="2025", idempotency_key="badge-run")
    badge = ledger.assessment_badge(SCHEME, "2025", "org-a")
    verify_proof(badge)
    schema = json.loads(OB3_SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    assert [e.message for e in validator.iter_errors(badge)] == []
    assert badge["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    subject = badge["credentialSubject"]
    assert subject["identifier"][0]["identityHash"] == "org-a"
    assert subject["achievement"]["achievementType"] == "Award"
    assert "city-level" in subject["achievement"]["name"]
    signer = ledger.signer_for("city")
    assert badge["issuer"]["id"] == did_key(signer.public_key)
    tampered = {**badge, "name": badge["name"].replace("city-level", "province-level")}
    with pytest.raises(SignatureError):
        verify_proof(tampered)


def test_a_bundle_audit_recomputes_and_flags_the_same(ledger: Ledger, tmp_path: Path) -> None:
    ledger.assess("city", scheme_id=SCHEME, period="2025", idempotency_key="bundle-run")
    ledger.submit_signed([outside_result(ledger, inflated(ledger))])
    ledger.log.sign_checkpoint()
    export_bundle(ledger, tmp_path / "bundle", progress=False)
    report = audit(BundleSource(tmp_path / "bundle"), progress=False, workers=1)
    assert report.assessments_recomputed == 3
    assert [f.kind for f in report.findings] == ["assessment-mismatch"]
    assert "org-b" in report.findings[0].message


def test_an_operator_editing_a_stored_result_is_caught_twice(ledger: Ledger) -> None:
    """Raw SQL on the store, as an operator with database access could: the replay sees the
    bytes changed, and the recomputation sees the figure differ from the records."""
    ledger.assess("city", scheme_id=SCHEME, period="2025", idempotency_key="edited-run")
    ref = next(e for e in ledger.events(assessment_aggregate_id(SCHEME, "2025", "org-b")))
    original = b'"indicator":"registered-volunteers","score":400,"value":2}'
    assert original in ref.envelope
    edited = ref.envelope.replace(original, original.replace(b'"value":2}', b'"value":20}'))
    assert ledger.store.path is not None
    with sqlite3.connect(ledger.store.path) as conn:
        changed = conn.execute(
            "UPDATE stored_events SET state=? WHERE rowid=?", (edited, ref.notification_id)
        ).rowcount
    assert changed == 1
    kinds = {f.kind for f in run_audit(ledger).findings}
    assert {"leaf-hash-mismatch", "assessment-mismatch"} <= kinds


def test_a_run_refuses_a_store_edited_behind_the_ledgers_back(ledger: Ledger) -> None:
    """Figures are computed from verified events: an edited record stops the run, and nothing
    is published."""
    recorded = next(ledger.events_of_types("HoursRecorded"))
    edited = recorded.envelope.replace(b'"minutes":120', b'"minutes":1200')
    assert edited != recorded.envelope and ledger.store.path is not None
    with sqlite3.connect(ledger.store.path) as conn:
        conn.execute(
            "UPDATE stored_events SET state=? WHERE rowid=?", (edited, recorded.notification_id)
        )
    with refused(ledger, TamperedEventError, "differ from its logged leaf"):
        ledger.assess("city", scheme_id=SCHEME, period="2025", idempotency_key="tampered-run")


def test_an_incremental_audit_recomputes_the_results_logged_since(
    ledger: Ledger, tmp_path: Path
) -> None:
    ledger.assess("city", scheme_id=SCHEME, period="2025", idempotency_key="inc-1")
    ledger.log.sign_checkpoint()
    state = tmp_path / "audit-state.json"
    first = audit(StoreSource(ledger), state_file=state, progress=False, workers=1)
    assert first.clean and first.assessments_recomputed == 2 and state.exists()
    ledger.register_volunteer("org-a", idempotency_key=key("inc-volunteer"))
    ledger.assess("city", scheme_id=SCHEME, period="2025", idempotency_key="inc-2")
    ledger.log.sign_checkpoint()
    second = audit(StoreSource(ledger), state_file=state, progress=False, workers=1)
    assert second.clean, [f.line() for f in second.findings]
    assert second.first_leaf > 0 and second.assessments_recomputed == 2
