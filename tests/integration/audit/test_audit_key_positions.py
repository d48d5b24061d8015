"""The audit judges a key's validity at the leaf's position in the log, which the log proves, not
by the notification id a store or bundle gives each leaf, a number nothing signs. Before, an
event signed with a stolen key after its revocation (a ``key-not-valid`` finding) audited clean
once the operator renumbered its notification id in a bundle, or the revocation's in the store,
everything signed and hashed left as it was."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from audit_support import (
    SQL_STORES,
    demo_copy,
    demo_template,
    describe,
    events_table,
    forged_registration,
    kinds,
    nid,
    query,
    revoke_a_recording_key,
    run_audit,
    sql,
)

from ledger import Ledger
from ledger.audit import BundleSource, audit, export_bundle

__all__ = ["demo_copy", "demo_template"]

Demo = tuple[Ledger, dict[str, Any]]


def _revoke_and_forge(ledger: Ledger) -> tuple[int, int]:
    """Revoke (as stolen) a recording key, log an event the thief signed with it after the
    revocation, and sign a checkpoint over it. Return the leaf of the revocation and of the
    forged event."""
    approval, stolen = revoke_a_recording_key(ledger)
    org = approval.body["org"]
    revoked_leaf = ledger.log_size() - 1
    forged = forged_registration(ledger, org, stolen)
    ledger._recorder.insert_events([forged])
    ledger.log.sign_checkpoint()
    return revoked_leaf, ledger.log_size() - 1


def test_a_renumbered_notification_id_in_a_bundle_hides_no_revoked_key(
    demo_copy: Callable[[str], Demo], tmp_path: Path
) -> None:
    ledger, _ = demo_copy("sqlite")
    revoked_leaf, forged_leaf = _revoke_and_forge(ledger)
    store_report = run_audit(ledger)
    assert kinds(store_report) == {"key-not-valid"}, describe(store_report)

    bundle = tmp_path / "bundle"
    export_bundle(ledger, bundle, progress=False)
    report = audit(BundleSource(bundle), workers=2, progress=False)
    assert kinds(report) == {"key-not-valid"}, describe(report)  # as exported: found

    rows = [json.loads(line) for line in (bundle / "events.jsonl").read_text().splitlines()]
    assert rows[forged_leaf]["leaf_index"] == forged_leaf
    # The operator edits one unsigned number: the forged event's notification id now sorts
    # before the revocation's. Its envelope, leaf hash and every checkpoint are unchanged.
    rows[forged_leaf]["notification_id"] = rows[revoked_leaf]["notification_id"] - 1
    (bundle / "events.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    report = audit(BundleSource(bundle), workers=2, progress=False)
    assert report.checkpoints_verified >= 1
    assert "key-not-valid" in kinds(report), (
        "the bundle audits clean: the event signed by a key revoked before its leaf is no "
        "longer reported\n" + describe(report)
    )


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_renumbered_revocation_in_the_store_hides_no_revoked_key(
    kind: str, demo_copy: Callable[[str], Demo]
) -> None:
    """The same on a store: the operator moves the revocation's notification id (its event row
    and its leaf row) past every other. The leaf order, every leaf hash, node and checkpoint are
    untouched, yet the event its leaf puts after the revocation is no longer reported."""
    ledger, _ = demo_copy(kind)
    revoked_leaf, forged_leaf = _revoke_and_forge(ledger)
    assert kinds(run_audit(ledger)) == {"key-not-valid"}
    (old,) = query(
        ledger,
        "SELECT notification_id FROM {schema}.ledger_log_leaves WHERE leaf_index = %s",
        (revoked_leaf,),
    )[0]
    moved = 1_000_000_000
    sql(
        ledger,
        f"UPDATE {{schema}}.{events_table(ledger)} SET {nid(ledger)} = %s WHERE {nid(ledger)} = %s",
        (moved, old),
    )
    sql(
        ledger,
        "UPDATE {schema}.ledger_log_leaves SET notification_id = %s WHERE leaf_index = %s",
        (moved, revoked_leaf),
    )

    report = run_audit(ledger)
    assert report.checkpoints_verified >= 1
    assert "key-not-valid" in kinds(report), (
        f"the store audits clean: the event at leaf {forged_leaf}, signed by a key revoked at "
        f"leaf {revoked_leaf}, is no longer reported\n" + describe(report)
    )
