"""[audit] The PostgreSQL insert runs in a database function the operator can rewrite.

The function stamps ``recorded_at`` and hashes the Merkle tree inside the operator's database,
so an operator may replace its body. The ledger signs checkpoints over whatever tree the store
holds; the audit recomputes every leaf and node from the events and names the difference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from audit_support import (
    demo_copy,
    demo_template,
    describe,
    kinds,
    query,
    run_audit,
    sign_current_tree,
    sql,
)

from ledger import Ledger
from ledger.demo import DEMO_IDENTITY

pytestmark = pytest.mark.postgres
__all__ = ["demo_copy", "demo_template"]  # fixtures used here

Demo = tuple[Ledger, dict[str, Any]]


def rewritten(demo_copy: Callable[[str], Demo], old: str, new: str) -> Ledger:
    """A copy of the demo city whose insert function has ``old`` replaced by ``new``, as the
    operator can do."""
    ledger, _ = demo_copy("postgresql")
    name = f"{ledger.store.schema}.ledger_events_insert_logged"
    signature = "bigint, text[], bigint, uuid[], bigint[], text[], bytea[], int[], int[], "
    [(definition,)] = query(
        ledger,
        "SELECT pg_get_functiondef(%s::regprocedure)",
        (f"{name}({signature}text, text, text, bytea)",),
    )
    assert old in definition
    sql(ledger, str(definition).replace(old, new).replace("%", "%%"))
    return ledger


def test_leaf_hashes_changed_by_a_rewritten_insert_function_are_found(
    demo_copy: Callable[[str], Demo],
) -> None:
    ledger = rewritten(demo_copy, "sha256('\\x00'::bytea", "sha256('\\x02'::bytea")
    org, size = DEMO_IDENTITY["root_org_id"], ledger.log_size()
    for i in range(3):
        ledger.register_volunteer(org, idempotency_key=f"after-the-rewrite-{i}")
    sign_current_tree(ledger)
    report = run_audit(ledger)
    # The three new leaves' hashes, and the root the checkpoint signed over them.
    assert kinds(report) == {"leaf-hash-mismatch", "checkpoint-root-mismatch"}, describe(report)
    mismatched = {f.leaf_index for f in report.findings if f.kind == "leaf-hash-mismatch"}
    assert mismatched == {size, size + 1, size + 2}


def test_times_changed_by_a_rewritten_insert_function_are_found(
    demo_copy: Callable[[str], Demo],
) -> None:
    """The function stamps every new event an hour before the last leaf's time."""
    ledger = rewritten(demo_copy, "GREATEST(moment, micros)", "micros - 3600000000")
    org = DEMO_IDENTITY["root_org_id"]
    ref = ledger.register_volunteer(org, idempotency_key="backdated-by-the-function")
    report = run_audit(ledger)
    assert "backdated-event" in kinds(report), describe(report)
    assert ref.events[0].leaf_index in {f.leaf_index for f in report.findings}
