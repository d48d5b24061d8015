"""Every stored view is compared, also one whose tracking row the operator deleted or set to 0
(a view at position 0 has applied nothing, so it holds nothing). Before, a time bank whose
balances were edited by hand audited clean once its tracking row was gone or at 0, while its
tables, edited, were served."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from audit_support import (
    SQL_STORES,
    demo_copy,
    demo_template,
    describe,
    kinds,
    query,
    run_audit,
    sql,
)

from ledger import Ledger

__all__ = ["demo_copy", "demo_template"]

Demo = tuple[Ledger, dict[str, Any]]

HIDE = {
    "tracking row deleted": "DELETE FROM {schema}.view_tracking WHERE view = 'timebank'",
    "tracking set to 0": "UPDATE {schema}.view_tracking SET position = 0 WHERE view = 'timebank'",
}


@pytest.mark.parametrize("kind", SQL_STORES)
@pytest.mark.parametrize("hide", list(HIDE))
def test_a_view_hidden_from_tracking_is_compared(
    kind: str, hide: str, demo_copy: Callable[[str], Demo]
) -> None:
    ledger, _ = demo_copy(kind)
    assert query(ledger, "SELECT COUNT(*) FROM {schema}.view_accounts WHERE balance > 0")[0][0]
    changed = sql(ledger, "UPDATE {schema}.view_accounts SET balance = balance + 600")
    assert changed
    assert "view-digest-mismatch" in kinds(run_audit(ledger))  # found, as things stand
    sql(ledger, HIDE[hide])

    report = run_audit(ledger)
    assert "view-digest-mismatch" in kinds(report), (
        f"clean, views line {report.views!r}: the edited time bank view is served but not "
        "compared\n" + describe(report)
    )
