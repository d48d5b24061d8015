"""On SQLite, the log's reads find nodes and leaves through their keys: a proof, a root or the
frontier read of an insert must not scan the node table, or its cost grows with the log
(O(n) per proof and per stored event instead of O(log n)). Reads of some event types from a
position (an insert's fence, the trust directory's key events, the events of one type) seek
each type in the topic index instead of reading every event stored since."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from logstore_support import create_city, register_many

from ledger import Ledger, MemoryKeystore


class RecordingCursor:
    """Passes everything to the recorder's cursor and notes every statement it runs."""

    def __init__(self, cursor: Any, statements: list[tuple[str, list[Any]]]) -> None:
        self._cursor = cursor
        self._statements = statements

    def execute(self, statement: str, params: Any = ()) -> Any:
        self._statements.append((statement, list(params)))
        return self._cursor.execute(statement, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


@pytest.fixture
def recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Ledger, list[tuple[str, list[Any]]], Path]]:
    path = tmp_path / "ledger.db"
    with Ledger(f"sqlite:///{path}", keystore=MemoryKeystore()) as ledger:
        create_city(ledger)
        register_many(ledger, 40, "fill")
        statements: list[tuple[str, list[Any]]] = []
        datastore: Any = ledger._recorder.datastore  # type: ignore[attr-defined]
        original = datastore.transaction

        @contextmanager
        def transaction(*, commit: bool) -> Iterator[RecordingCursor]:
            with original(commit=commit) as cursor:
                yield RecordingCursor(cursor, statements)

        monkeypatch.setattr(datastore, "transaction", transaction)
        yield ledger, statements, path


def scans_of_log_tables(path: Path, statements: list[tuple[str, list[Any]]]) -> list[str]:
    """The query-plan lines that read a log table in full, for every SELECT recorded."""
    scans = []
    with sqlite3.connect(path) as conn:
        for statement, params in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            for *_, detail in conn.execute("EXPLAIN QUERY PLAN " + statement, params):
                if detail.startswith("SCAN ledger_log_"):
                    scans.append(f"{detail}  <-  {statement[:90]}")
    return scans


def insert_after_another_writer(ledger: Ledger) -> Any:
    """An insert that must read the frontier and search after its fence, as after another
    process's insert (a writer remembers what its own last insert left and searched)."""
    ledger._recorder._tail = None  # type: ignore[attr-defined]
    return ledger.register_volunteer("org-a", idempotency_key="planned")


OPERATIONS: dict[str, Callable[[Ledger], Any]] = {
    "inclusion proof": lambda ledger: ledger.log.inclusion_proof(17, ledger.log.size()),
    "consistency proof": lambda ledger: ledger.log.consistency_proof(13, ledger.log.size()),
    "root": lambda ledger: ledger.log.root(),
    "hash tile": lambda ledger: ledger.log.hash_tile(0, 0, 40),
    "insert (frontier read)": insert_after_another_writer,
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_log_reads_on_sqlite_use_the_primary_key_not_a_table_scan(
    recorded: tuple[Ledger, list[tuple[str, list[Any]]], Path], operation: str
) -> None:
    ledger, statements, path = recorded
    OPERATIONS[operation](ledger)
    assert any("ledger_log_nodes" in s for s, _ in statements), "no node read was recorded"
    assert scans_of_log_tables(path, statements) == []


def test_leaf_and_event_reads_on_sqlite_use_keys(
    recorded: tuple[Ledger, list[tuple[str, list[Any]]], Path],
) -> None:
    ledger, statements, path = recorded
    ledger.log.entry(21)
    ledger.event_at(22)
    ledger.log.entry_tile(0, 40)
    ledger.log.size()
    assert statements
    assert scans_of_log_tables(path, statements) == []


def plans_of_event_reads(
    path: Path, statements: list[tuple[str, list[Any]]]
) -> list[tuple[str, str]]:
    """(plan line, statement) for every SELECT recorded that reads the events table."""
    lines = []
    with sqlite3.connect(path) as conn:
        for statement, params in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            if "stored_events" not in statement:
                continue
            for *_, detail in conn.execute("EXPLAIN QUERY PLAN " + statement, params):
                lines.append((detail, statement))
    return lines


TOPIC_READS: dict[str, Callable[[Ledger], Any]] = {
    # The fence: was a key event stored since the position the command decided from?
    "insert (fence)": insert_after_another_writer,
    "events of one type": lambda ledger: list(ledger.events_of_types("VolunteerRegistered")),
    "key events since a position": lambda ledger: ledger.refresh(),
}


@pytest.mark.parametrize("operation", list(TOPIC_READS))
def test_reads_by_type_on_sqlite_seek_the_topic_index_not_every_event_since(
    recorded: tuple[Ledger, list[tuple[str, list[Any]]], Path], operation: str
) -> None:
    """A read of some event types from a position seeks each type in the (topic, rowid) index;
    a plan walking the rowid range would read every event stored since, whatever its type."""
    ledger, statements, path = recorded
    register_many(ledger, 30, "more")  # events of other types after the city's key events
    statements.clear()
    TOPIC_READS[operation](ledger)
    plans = plans_of_event_reads(path, statements)
    by_topic = [(line, sql) for line, sql in plans if "topic" in sql.split("WHERE")[-1]]
    assert by_topic, f"no read by type was recorded: {plans}"
    of_events = [
        line
        for line, _ in by_topic
        if line.startswith(("SEARCH e ", "SCAN e ", "SEARCH stored_events", "SCAN stored_events"))
    ]
    assert of_events and all("INDEX stored_events_topic" in line for line in of_events), by_topic
    if operation == "events of one type":  # its pages come in the index's order: no sort
        one_type = [line for line, sql in by_topic if "topic IN (?)" in sql]
        assert one_type and not [line for line in one_type if "TEMP B-TREE" in line], one_type
