"""A batch the views cannot take is not retried in silence.

The background runner retries a failed batch (nothing of it was applied), which is right for a
passing failure and wrong for one that fails every time: the views stand still at its position
and reads go stale. Each failure is counted; the count and the newest error are on
``Projections.failing`` (``/readyz`` and ``/metrics`` show them), the log says so as an error
once the batches have failed ``FAILURES_BEFORE_ERROR`` times in a row, and the first batch
applied clears it all. Here a view's table is dropped behind the runner's back, as an operator's
mistaken migration would."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from ledger_testing import create_city

from ledger import Ledger
from ledger.projections import runner as runner_module


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.01)


def test_a_batch_failing_every_time_is_counted_logged_once_and_cleared_when_fixed(
    tmp_path: Path,
    open_ledger: Callable[..., Ledger],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(runner_module, "FAILURES_BEFORE_ERROR", 3)
    path = tmp_path / "ledger.db"
    ledger = open_ledger(f"sqlite:///{path}")
    create_city(ledger)
    views = ledger.projections(verify=False)
    views.catch_up()
    assert views.failing is None
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE view_volunteers")
    ledger.register_volunteer("org-a", idempotency_key="after-the-drop")

    caplog.set_level(logging.WARNING, logger=runner_module.logger.name)
    views.start(interval=0.01)
    try:
        _wait_for(lambda: views.failing is not None and views.failing[0] >= 5, "five failures")
        assert views.failing is not None
        count, error = views.failing
        assert count >= 5 and error == "StoreUnavailableError"
        assert "view_volunteers" in caplog.records[0].getMessage()
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1 and "3 batches in a row" in errors[0].getMessage()
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 2  # the first two, before it was called an error
        assert views.position() < ledger._recorder.max_notification_id()

        views.create_tables()  # the table made again: the next batch goes through
        _wait_for(lambda: views.failing is None, "the failure cleared")
        _wait_for(lambda: views.position() == ledger._recorder.max_notification_id(), "caught up")
    finally:
        views.stop()
        views.database.close()
