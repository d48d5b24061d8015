"""[audit] a stored body of the wrong shape is a finding, never a crash.

An operator with database access can rewrite one event's body so that a field holds the wrong
type. Each such body is reported as ``malformed-event`` at its leaf, and the audit goes on: every
other finding of the same run is still listed, the event changes no replayed state (no credit
minted, no key followed, no view row), and the command exits 1, not 2.
"""

from __future__ import annotations

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
    first_event,
    kinds,
    leaves_of,
    rewrite,
    run_audit,
    set_state,
)

from ledger import Ledger

__all__ = ["demo_copy", "demo_template"]  # fixtures used here

Demo = tuple[Ledger, dict[str, Any]]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit that puts ``value`` at ``path`` (dotted, below the envelope's body)."""

    def change(envelope: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = envelope["body"]
        for name in parents:
            target = target[name]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()

# (event type to rewrite, dotted field, value): each one crashed the audit before.
TAMPERS = [
    ("RecordApproved", "aggregate_id", "not-a-uuid"),
    ("RecordApproved", "aggregate_id", 17),
    ("KeyRegistered", "key_id", _DELETE),
    ("KeyRegistered", "data.key_id", _DELETE),
    ("KeyRegistered", "data", None),
    ("LedgerCreated", "data", None),
    ("OrganisationRegistered", "org", ["a", "list"]),
    ("RecordApproved", "data.approved_minutes", "60"),
    ("RecordApproved", "aggregate_version", "3"),
    ("VolunteerRegistered", "data", []),
]


@pytest.fixture(params=SQL_STORES)
def demo(request: pytest.FixtureRequest, demo_copy: Callable[[str], Demo]) -> Demo:
    return demo_copy(request.param)


@pytest.mark.parametrize(
    ("event_type", "field", "value"),
    TAMPERS,
    ids=[f"{t}-{f}-{'deleted' if v is _DELETE else repr(v)}" for t, f, v in TAMPERS],
)
def test_a_wrongly_typed_field_is_reported_not_crashed_on(
    demo: Demo,
    event_type: str,
    field: str,
    value: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    ledger, _ = demo
    monkeypatch.chdir(tmp_path)
    target = first_event(ledger, event_type, after=1 if event_type != "LedgerCreated" else 0)
    set_state(ledger, target.notification_id, rewrite(target.state, _set(field, value)))

    report = run_audit(ledger)
    assert target.leaf_index in leaves_of(report, "malformed-event"), describe(report)
    # The log still tells: the bytes are not the logged leaf, and the signed checkpoint does
    # not hold (its root differs; without the genesis, no log key is known to verify it by).
    assert target.leaf_index in leaves_of(report, "leaf-hash-mismatch"), describe(report)
    assert {"checkpoint-root-mismatch", "checkpoint-signature-invalid"} & kinds(report)
    # Nothing cascades: the aggregate's next version is not a second finding.
    assert leaves_of(report, "version-sequence") <= {target.leaf_index}, describe(report)

    code, out, err = cli(capsys, "audit", "--db", db_url(ledger), "--quiet")
    assert code == 1, out + err
    assert f"[malformed-event] leaf {target.leaf_index}" in out


# (event type, dotted field, number as written): canonical as bytes, so only a look at the
# numbers finds them. Each was reported before, but as a broken envelope, and the aggregate's
# next version then cascaded into a second finding.
UNSAFE_NUMBERS = [
    ("RecordApproved", "data.approved_minutes", "60.5"),
    ("RecordApproved", "aggregate_version", "3.0"),
    ("RecordApproved", "aggregate_version", "9007199254740993"),
    ("VolunteerRegistered", "data.number", "1000.5"),
]
_MARK = "number-written-here"


@pytest.mark.parametrize(
    ("event_type", "field", "number"),
    UNSAFE_NUMBERS,
    ids=[f"{t}-{f}-{n}" for t, f, n in UNSAFE_NUMBERS],
)
def test_a_float_or_unsafe_integer_in_a_body_is_a_malformed_event_and_nothing_cascades(
    demo: Demo, event_type: str, field: str, number: str
) -> None:
    ledger, _ = demo
    target = first_event(ledger, event_type, after=1)
    tampered = rewrite(target.state, _set(field, _MARK))
    set_state(
        ledger, target.notification_id, tampered.replace(f'"{_MARK}"'.encode(), number.encode())
    )

    report = run_audit(ledger)
    found = [f for f in report.findings if f.kind == "malformed-event"]
    assert [f.leaf_index for f in found] == [target.leaf_index], describe(report)
    assert field.split(".")[-1] in found[0].message, describe(report)
    assert leaves_of(report, "version-sequence") <= {target.leaf_index}, describe(report)


@pytest.mark.parametrize(
    "edit",
    [
        lambda state: state.replace(b'{"body":', b'{ "body":', 1),  # not canonical
        lambda state: state[:-1],  # not JSON
        lambda state: state.replace(b'"recorded_at":"', b'"recorded_at":1.5,"x":"', 1),
    ],
    ids=["spaced", "cut", "recorded-at-a-float"],
)
def test_a_broken_envelope_is_one_finding_and_nothing_cascades(
    demo: Demo, edit: Callable[[bytes], bytes]
) -> None:
    """An envelope that cannot be opened counts as a gap in its aggregate, as a body of the
    wrong shape does: the aggregate's later versions are not findings of their own."""
    ledger, _ = demo
    target = first_event(ledger, "RecordApproved", after=1)
    set_state(ledger, target.notification_id, edit(target.state))

    report = run_audit(ledger)
    assert leaves_of(report, "malformed-event") == {target.leaf_index}, describe(report)
    assert leaves_of(report, "version-sequence") <= {target.leaf_index}, describe(report)


def test_a_malformed_credit_mints_nothing_and_hides_no_other_finding(demo: Demo) -> None:
    """A ``CreditEarned`` whose amount is text: reported, and kept out of both the account and
    the minted total, so the banks still balance, and out of the recomputed views, so the
    stored view (which counted the credit) differs; a signature changed elsewhere is reported
    in the same run."""
    ledger, _ = demo
    credit = first_event(ledger, "CreditEarned")
    amount = credit.body["data"]["amount"]
    set_state(
        ledger,
        credit.notification_id,
        rewrite(credit.state, _set("data.amount", str(amount))),
    )
    other = first_event(ledger, "RecordApproved", after=credit.leaf_index + 1)

    def other_signature(envelope: dict[str, Any]) -> None:
        signature = envelope["signature"]
        envelope["signature"] = ("B" if signature[0] == "A" else "A") + signature[1:]

    set_state(ledger, other.notification_id, rewrite(other.state, other_signature))

    report = run_audit(ledger)
    assert leaves_of(report, "malformed-event") == {credit.leaf_index}, describe(report)
    # The credit's body changed, so its signature fails too.
    assert leaves_of(report, "signature-invalid") == {credit.leaf_index, other.leaf_index}
    assert "time-bank-imbalance" not in kinds(report), describe(report)
    mismatched = [f.message for f in report.findings if f.kind == "view-digest-mismatch"]
    assert len(mismatched) == 1 and "'timebank'" in mismatched[0], describe(report)
