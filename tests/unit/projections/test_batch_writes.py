"""A batch's puts, adds and bumps, kept and written once, leave the rows that writing each change
as it came leaves: a bump of a row that does not exist yet changes nothing, even when an add or a
put later in the batch makes the row; puts of other columns follow each other; a statement of
its own, and a read, see every change kept before it; rows come out of one statement per table
and columns (on PostgreSQL a set-wise one). What a transaction kept and did not write is written
before it commits, and a failure there rolls it back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ledger.projections import volunteers
from ledger.projections.base import ProjectedEvent
from ledger.projections.batch_writes import TABLE_COLUMNS, add, batch_writes, bump, put
from ledger.projections.database import ViewCursor, ViewDatabase
from ledger.storage.url import parse_store_url

TABLE = "test_batch_counts"
TABLE_COLUMNS[TABLE] = (
    "k TEXT PRIMARY KEY, label TEXT, a BIGINT NOT NULL DEFAULT 0, n INTEGER NOT NULL DEFAULT 0"
)

Change = Callable[[ViewCursor], None]


@pytest.fixture(params=["memory", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[ViewDatabase]:
    url = "memory://"
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
        url = request.getfixturevalue("postgres_schema")
    views = ViewDatabase(parse_store_url(url))
    try:
        yield views
    finally:
        views.close()


def rows_after(database: ViewDatabase, changes: list[Change], *, at_once: bool) -> list[Any]:
    with database.transaction() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cursor.execute(f"CREATE TABLE {TABLE} ({TABLE_COLUMNS[TABLE]})")
    if at_once:
        with database.transaction() as cursor:
            for change in changes:
                change(cursor)
            batch_writes(cursor).flush()
    else:
        for change in changes:
            with database.transaction() as cursor:
                change(cursor)
                batch_writes(cursor).flush()
    return database.query(f"SELECT k, label, a, n FROM {TABLE} ORDER BY k")


CASES: dict[str, list[Change]] = {
    "bump before the row exists, then add": [
        lambda c: bump(c, TABLE, {"k": "x"}, {"a": 5}),
        lambda c: add(c, TABLE, {"k": "x"}, {"a": 1}),
        lambda c: bump(c, TABLE, {"k": "x"}, {"a": 2}),
    ],
    "bump, then put makes the row, then bump": [
        lambda c: bump(c, TABLE, {"k": "y"}, {"n": 7}),
        lambda c: put(c, TABLE, {"k": "y"}, {"label": "made"}),
        lambda c: bump(c, TABLE, {"k": "y"}, {"n": 1, "a": 3}),
        lambda c: bump(c, TABLE, {"k": "y"}, {"n": 1, "a": -1}),
    ],
    "puts of other columns, a delete of its own, a read": [
        lambda c: put(c, TABLE, {"k": "z"}, {"label": "first", "n": 1}),
        lambda c: put(c, TABLE, {"k": "z"}, {"label": "second"}),
        lambda c: put(c, TABLE, {"k": "z"}, {"label": "third", "n": 2}),
        lambda c: c.execute(f"DELETE FROM {TABLE} WHERE k = ?", ["z"]),
        lambda c: put(c, TABLE, {"k": "z"}, {"label": "again"}),
        lambda c: bump(c, TABLE, {"k": "w"}, {"n": 1}),
        lambda c: put(c, TABLE, {"k": "w"}, {"label": "read"}),
        lambda c: add(
            c, TABLE, {"k": "v"}, {"a": len(c.rows(f"SELECT k FROM {TABLE}"))}, sets={"label": "v"}
        ),
        lambda c: add(c, TABLE, {"k": "v"}, {"a": 10}, sets={"label": "set again"}),
    ],
    "adds to several rows and columns, summed to zero": [
        lambda c: add(c, TABLE, {"k": "p"}, {"a": 4, "n": 1}),
        lambda c: add(c, TABLE, {"k": "q"}, {"a": 1, "n": 1}),
        lambda c: add(c, TABLE, {"k": "p"}, {"a": -4, "n": -1}),
        lambda c: add(c, TABLE, {"k": "p"}, {"n": 2}),
    ],
    "one column given a number in one row and text in another": [
        lambda c: put(c, TABLE, {"k": "s"}, {"label": "text"}),
        lambda c: put(c, TABLE, {"k": "t"}, {"label": 5}),
        lambda c: put(c, TABLE, {"k": 7}, {"label": None}),
        lambda c: add(c, TABLE, {"k": "t"}, {"a": 2}, sets={"label": True}),
        lambda c: put(c, TABLE, {"k": "u"}, {"label": False, "n": 1}),
        lambda c: put(c, TABLE, {"k": "v"}, {"label": "v", "n": "2"}),
        lambda c: put(c, TABLE, {"k": "w"}, {"label": "w", "n": True}),
    ],
}


@pytest.mark.parametrize("case", CASES)
def test_a_batch_leaves_the_rows_each_change_as_it_came_leaves(
    database: ViewDatabase, case: str
) -> None:
    one_by_one = rows_after(database, CASES[case], at_once=False)
    assert rows_after(database, CASES[case], at_once=True) == one_by_one
    assert one_by_one  # every case leaves rows


def test_on_postgresql_a_batch_writes_each_table_s_rows_in_one_statement(
    database: ViewDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the 30 changes of three rows are one set-wise statement; SQLite writes
    each as it comes."""
    written: list[str] = []
    write, write_many = ViewCursor.write, ViewCursor.write_many

    def counting(cursor: ViewCursor, sql: str, params: Any = ()) -> None:
        if TABLE in sql and not sql.startswith(("DROP", "CREATE")):
            written.append(sql)
        write(cursor, sql, params)

    def counting_rows(cursor: ViewCursor, sql: str, rows: Any) -> None:
        written.extend([sql] * len(rows))
        write_many(cursor, sql, rows)

    monkeypatch.setattr(ViewCursor, "write", counting)
    monkeypatch.setattr(ViewCursor, "write_many", counting_rows)
    changes: list[Change] = [
        lambda c, i=i: add(c, TABLE, {"k": f"r{i % 3}"}, {"a": i}) for i in range(30)
    ]
    rows = rows_after(database, changes, at_once=True)
    assert [(k, a) for k, _, a, _ in rows] == [("r0", 135), ("r1", 145), ("r2", 155)]
    assert len(written) == (1 if database.kind == "postgresql" else 30), written


def test_rows_a_handler_called_on_its_own_kept_are_written_when_it_commits(
    database: ViewDatabase,
) -> None:
    """Outside a view's batch nothing writes what the handlers kept but the commit."""
    with database.transaction() as cursor:
        volunteers.VIEW.create(cursor)
    registered = ProjectedEvent("VolunteerRegistered", "city", {"number": "N1"}, "2026-01-01", 1)
    recorded = ProjectedEvent(
        "HoursRecorded",
        "city",
        {
            "record_id": "N1-R1",
            "number": "N1",
            "activity_id": "a",
            "field": "care",
            "service_date": "2026-01-01",
            "minutes": 30,
            "late": False,
        },
        "2026-01-01",
        2,
    )
    with database.transaction() as cursor:
        volunteers.registered(cursor, registered)
        volunteers.recorded(cursor, recorded)
    assert database.query("SELECT number, records FROM view_volunteers") == [("N1", 1)]
    assert database.query("SELECT record_id, status FROM view_records") == [("N1-R1", "recorded")]


def test_a_failure_writing_what_was_kept_rolls_the_transaction_back(
    database: ViewDatabase,
) -> None:
    """Nothing of the failed transaction is applied, then or with the next one."""
    rows_after(database, [], at_once=True)  # the table, empty

    def fails() -> None:
        raise RuntimeError("kept rows that cannot be written")

    with pytest.raises(RuntimeError, match="cannot be written"), database.transaction() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} (k, label) VALUES (?, ?)", ["lost", "no"])
        put(cursor, TABLE, {"k": "kept"}, {"label": "no"})
        cursor.before_commit.append(fails)
    assert database.query(f"SELECT k FROM {TABLE}") == []
    with database.transaction() as cursor:
        put(cursor, TABLE, {"k": "next"}, {"label": "yes"})
    assert database.query(f"SELECT k, label FROM {TABLE}") == [("next", "yes")]


@pytest.mark.postgres
def test_on_postgresql_a_kept_row_that_cannot_be_written_does_not_land_with_the_next(
    postgres_schema: str,
) -> None:
    """A put to a table no view declared is kept, then cannot be written at the commit."""
    database = ViewDatabase(parse_store_url(postgres_schema))
    try:
        rows_after(database, [], at_once=True)
        with database.transaction() as cursor:
            cursor.execute("CREATE TABLE test_batch_undeclared (k TEXT PRIMARY KEY)")
        with pytest.raises(KeyError), database.transaction() as cursor:
            cursor.execute(f"INSERT INTO {TABLE} (k) VALUES (?)", ["lost"])
            put(cursor, "test_batch_undeclared", {"k": "kept"}, {})
        with database.transaction() as cursor:
            cursor.execute(f"INSERT INTO {TABLE} (k) VALUES (?)", ["next"])
        assert database.query(f"SELECT k FROM {TABLE}") == [("next",)]
    finally:
        database.close()
