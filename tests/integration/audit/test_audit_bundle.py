"""[audit] bundles: ``ledger export`` writes a self-contained bundle that audits clean offline,
a bundle edited after export is reported, ``--upto-checkpoint`` cuts the bundle at a signed
checkpoint, and export streams (its memory does not grow with the ledger) with a progress bar."""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from audit_support import (
    SQL_STORES,
    cli,
    db_url,
    demo_copy,
    demo_template,
    describe,
    findings_of,
    kinds,
    leaves_of,
    register_many,
)

from ledger import Ledger
from ledger.audit import BundleSource, audit, export_bundle
from ledger.canonical import canonical_json, parse_json
from ledger.cli.init import write_trust_file
from ledger.trust import KEY_TOPICS

__all__ = ["demo_copy", "demo_template"]  # fixtures used here

Demo = tuple[Ledger, dict[str, Any]]


def audit_bundle(path: Path, **options: Any) -> Any:
    options.setdefault("workers", 2)
    options.setdefault("progress", False)
    return audit(BundleSource(path), **options)


def read_rows(path: Path) -> list[dict[str, Any]]:
    with (path / "events.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    with (path / "events.jsonl").open("w", encoding="utf-8") as lines:
        for row in rows:
            lines.write(json.dumps(row, ensure_ascii=False) + "\n")


@pytest.fixture(autouse=True)
def _in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # the CLI's default keystore path is relative


@pytest.mark.parametrize("kind", SQL_STORES)
def test_an_exported_bundle_audits_clean_offline(
    kind: str,
    demo_copy: Callable[[str], Demo],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ledger, made = demo_copy(kind)
    size = made["log_size"]
    bundle = tmp_path / "bundle"
    code, out, err = cli(capsys, "export", "--db", db_url(ledger), "--out", bundle)
    assert code == 0, err
    assert f"bundle of {size} leaves written to {bundle}" in out
    assert f"export [{'#' * 30}] {size}/{size}" in err  # the progress bar, at its end

    # The layout docs/audit.md describes.
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "service-hour-ledger-bundle/v1"
    assert manifest["log_size"] == size
    assert manifest["root"] == ledger.log.root(size).hex()
    assert manifest["trust"] == ledger.trust_anchors()
    assert set(manifest["files"]) == {
        "events.jsonl",
        "keys.jsonl",
        "star-schemes.json",
        f"checkpoints/{size:020d}.note",
    }
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((bundle / name).read_bytes()).hexdigest() == digest, name
    rows = read_rows(bundle)
    assert [r["leaf_index"] for r in rows] == list(range(size))
    for row in rows[:5]:
        assert ledger.log.entry(row["leaf_index"]).decode("utf-8") == row["envelope"]
    keys = [json.loads(line) for line in (bundle / "keys.jsonl").read_text().splitlines()]
    assert keys and all(k["topic"] in KEY_TOPICS for k in keys)
    assert len(keys) == sum(r["topic"] in KEY_TOPICS for r in rows)
    assert (bundle / "checkpoints" / f"{size:020d}.note").read_text() == made["checkpoint"]

    # Offline: the library and the command line, with and without trust anchors.
    report = audit_bundle(bundle)
    assert report.clean, describe(report)
    assert (report.leaves, report.events_checked, report.checkpoints_verified) == (size, size, 1)
    assert report.views == "not compared"
    assert report.source == f"bundle {bundle}"
    trust = tmp_path / "trust.json"
    write_trust_file(trust, ledger.trust_anchors())
    code, out, _ = cli(capsys, "audit", "--bundle", bundle, "--trust", trust, "--quiet")
    assert code == 0, out
    assert "trust anchors given by --trust" in out
    assert "RESULT: clean, no findings" in out


def test_an_exported_bundle_holds_the_star_schemes(
    demo_copy: Callable[[str], Demo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, _ = demo_copy("sqlite")
    path = tmp_path / "bundle"
    # ``ledger export`` runs in a process of its own, with a freshly opened ledger.
    code, _, err = cli(capsys, "export", "--db", db_url(ledger), "--out", path)
    assert code == 0, err
    schemes = json.loads((path / "star-schemes.json").read_text(encoding="utf-8"))
    assert set(schemes) == {"national-stars", "youth-stars"}
    assert schemes["youth-stars"]["thresholds_hours"] == [5, 10, 20, 40, 80]
    assert schemes["national-stars"]["owner"] == "changzhi"


@pytest.fixture
def bundle(demo_copy: Callable[[str], Demo], tmp_path: Path) -> tuple[Path, int]:
    ledger, made = demo_copy("sqlite")
    path = tmp_path / "bundle"
    export_bundle(ledger, path, progress=False)
    assert audit_bundle(path).clean
    return path, made["log_size"]


def test_an_envelope_edited_in_a_bundle(
    bundle: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = bundle
    rows = read_rows(path)
    index = next(i for i, r in enumerate(rows) if r["topic"] == "ledger.event.v1:RecordApproved")
    envelope = parse_json(rows[index]["envelope"])
    envelope["body"]["data"]["approved_minutes"] -= 30
    rows[index]["envelope"] = canonical_json(envelope).decode("utf-8")
    write_rows(path, rows)

    report = audit_bundle(path)
    assert {"signature-invalid", "checkpoint-root-mismatch"} <= kinds(report), describe(report)
    assert leaves_of(report, "signature-invalid") == {index}
    where = f"{rows[index]['aggregate_id']} v{rows[index]['version']}"
    assert findings_of(report, "signature-invalid")[0].event == where
    code, out, _ = cli(capsys, "audit", "--bundle", path, "--quiet")
    assert code == 1
    assert f"[signature-invalid] leaf {index}, event {where}" in out


def test_a_line_removed_from_a_bundle(bundle: tuple[Path, int]) -> None:
    path, size = bundle
    rows = read_rows(path)
    removed = 200
    write_rows(path, rows[:removed] + rows[removed + 1 :])

    report = audit_bundle(path)
    # One leaf is missing: that one is reported, once; the leaves after it are still the
    # leaves they say they are, and the tree can no longer reach the signed root.
    assert leaves_of(report, "missing-event") == {removed}, describe(report)
    assert len(findings_of(report, "missing-event")) == 1, describe(report)
    assert "checkpoint-root-mismatch" in kinds(report), describe(report)
    assert report.events_checked == size - 1


def test_a_checkpoint_note_edited_in_a_bundle(bundle: tuple[Path, int]) -> None:
    path, size = bundle
    note_file = path / "checkpoints" / f"{size:020d}.note"
    text = note_file.read_text(encoding="utf-8")
    note_file.write_text(text.replace(f"\n{size}\n", f"\n{size - 1}\n", 1), encoding="utf-8")

    report = audit_bundle(path)
    assert kinds(report) == {"checkpoint-signature-invalid"}, describe(report)
    assert report.checkpoints_verified == 0


def test_export_up_to_a_signed_checkpoint(
    demo_copy: Callable[[str], Demo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, made = demo_copy("sqlite")
    register_many(ledger, "luzhou-youth-team", 10, per_command=5)
    middle = ledger.log.sign_checkpoint()
    signed = ledger.log_size()
    register_many(ledger, "luzhou-youth-team", 5)
    assert ledger.log_size() == signed + 5

    path = tmp_path / "upto"
    code, out, err = cli(
        capsys, "export", "--db", db_url(ledger), "--out", path, "--upto-checkpoint", signed
    )
    assert code == 0, err
    assert f"bundle of {signed} leaves" in out
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["log_size"] == signed
    assert manifest["root"] == ledger.log.root(signed).hex()
    assert len(read_rows(path)) == signed
    notes = sorted(p.name for p in (path / "checkpoints").iterdir())
    assert notes == [f"{made['log_size']:020d}.note", f"{signed:020d}.note"]
    assert (path / "checkpoints" / f"{signed:020d}.note").read_text() == middle
    report = audit_bundle(path)
    assert report.clean, describe(report)
    assert (report.leaves, report.checkpoints_verified) == (signed, 2)

    # Only a size a checkpoint was signed at will do.
    code, _, err = cli(
        capsys,
        "export",
        "--db",
        db_url(ledger),
        "--out",
        tmp_path / "bad",
        "--upto-checkpoint",
        signed + 1,
    )
    assert code == 2
    assert f"no checkpoint was signed at size {signed + 1}" in err

    # Without --upto-checkpoint: everything, including the leaves after the newest checkpoint.
    whole = tmp_path / "whole"
    manifest = export_bundle(ledger, whole, progress=False)
    assert manifest["log_size"] == signed + 5
    report = audit_bundle(whole)
    assert report.clean, describe(report)
    assert report.leaves == signed + 5


@pytest.mark.slow
def test_export_streams_in_bounded_memory(demo_copy: Callable[[str], Demo], tmp_path: Path) -> None:
    """Exporting 5x the events does not take much more memory: it is not held whole."""
    ledger, made = demo_copy("sqlite")
    register_many(ledger, "luzhou-youth-team", 2000)
    small = ledger.log.sign_checkpoint()
    register_many(ledger, "luzhou-youth-team", 8000)
    ledger.log.sign_checkpoint()
    big_size = ledger.log_size()
    assert big_size == made["log_size"] + 10_000

    peaks: dict[str, int] = {}
    for name, upto in (("small", int(small.split("\n")[1])), ("big", big_size)):
        tracemalloc.start()
        try:
            export_bundle(ledger, tmp_path / name, upto=upto, progress=False)
            peaks[name] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    written = (tmp_path / "big" / "events.jsonl").stat().st_size
    assert peaks["big"] < 1.5 * peaks["small"] + 1_000_000, peaks
    assert peaks["big"] < written, (peaks, written)
    assert audit_bundle(tmp_path / "big").clean
