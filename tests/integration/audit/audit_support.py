"""Helpers for the [audit] tests (imported by name; not a test module).

The tamper tests change stored data behind the ledger's back with raw SQL, on a SQLite file and
on a PostgreSQL schema, exactly as an operator with database access could. Statements are written
once with ``%s`` placeholders and ``{schema}.`` before table names; :func:`sql` adapts them.
Notification ids are ``rowid`` in SQLite and the ``notification_id`` column in PostgreSQL:
:func:`nid` gives the right column name.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from ledger_testing import postgres_connection
from postgres_testing import SERVER_URL, drop_schema, new_schema, require_postgres

from ledger import Ledger, MemoryKeystore
from ledger.audit import AuditReport, StoreSource, audit
from ledger.canonical import canonical_json, parse_json
from ledger.cli import main
from ledger.demo import build_demo
from ledger.envelope import SIGNING_CONTEXT, event_topic, format_time, make_envelope
from ledger.keystore import LOG_KEY_OWNER
from ledger.log.checkpoint import Checkpoint, sign_checkpoint
from ledger.log.merkle import TreeBuilder, leaf_hash
from ledger.log.note import NoteSigner
from ledger.model.ids import volunteer_aggregate_id
from ledger.results import NoValue
from ledger.signing import SigningKey, b64encode
from ledger.storage.records import LoggedEvent
from ledger.transparency import CHECKPOINTS

SQL_STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


# --- building ----------------------------------------------------------------------------------


def build_audited_demo(ledger: Ledger, volunteers: int = 30) -> dict[str, Any]:
    """A demo city with its views caught up and a checkpoint signed over everything."""
    made = build_demo(ledger, volunteers=volunteers)
    catch_up_views(ledger)
    made["checkpoint"] = ledger.log.sign_checkpoint()
    made["log_size"] = ledger.log_size()
    return made


def catch_up_views(ledger: Ledger) -> None:
    projections = ledger.projections(verify=False)
    try:
        projections.catch_up()
    finally:
        projections.database.close()


# --- one demo city per store kind, cloned for each test ----------------------------------------


@dataclass
class Template:
    kind: str
    url: str
    keystore: MemoryKeystore
    made: dict[str, Any]


_TEMPLATES: dict[str, Template] = {}


def _pg(statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []


def template(kind: str, directory: Path) -> Template:
    """The demo city of that store kind (built once per test process), which audits clean."""
    if kind == "postgresql":
        require_postgres()
    if kind not in _TEMPLATES:
        if kind == "sqlite":
            url = f"sqlite:///{directory / 'template.db'}"
        else:
            url = new_schema("t_audit_")
        keystore = MemoryKeystore()
        with Ledger(url, keystore=keystore) as ledger:
            made = build_audited_demo(ledger)
            report = run_audit(ledger)
            assert report.clean, describe(report)
        kept = {k: made[k] for k in ("anchors", "counts", "log_size", "checkpoint")}
        _TEMPLATES[kind] = Template(kind, url, keystore, kept)
    return _TEMPLATES[kind]


def drop_templates() -> None:
    for kind, kept in list(_TEMPLATES.items()):
        if kind == "postgresql":
            drop_schema(kept.url)
        del _TEMPLATES[kind]


def clone(source: Template, directory: Path) -> tuple[str, Callable[[], None]]:
    """A copy of the template's store; returns its URL and how to remove it."""
    if source.kind == "sqlite":
        target = directory / f"ledger-{uuid.uuid4().hex[:8]}.db"
        origin = sqlite3.connect(source.url.removeprefix("sqlite:///"))
        copy = sqlite3.connect(target)
        try:
            origin.backup(copy)
        finally:
            copy.close()
            origin.close()
        return f"sqlite:///{target}", lambda: None
    old = source.url.split("schema=")[1]
    new_url = new_schema("t_audit_")
    new = new_url.partition("?schema=")[2]
    tables = [
        str(row[0])
        for row in _pg(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (old,)
        )
    ]
    import psycopg

    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        for table in tables:
            conn.execute(f'CREATE TABLE {new}."{table}" (LIKE {old}."{table}" INCLUDING ALL)')
            conn.execute(f'INSERT INTO {new}."{table}" SELECT * FROM {old}."{table}"')
        for table, column, _default in conn.execute(
            "SELECT table_name, column_name, column_default FROM information_schema.columns "
            "WHERE table_schema = %s AND column_default LIKE 'nextval%%'",
            (new,),
        ).fetchall():
            sequence = f"{new}.{table}_{column}_seq"
            conn.execute(f"CREATE SEQUENCE {sequence}")
            conn.execute(
                f"SELECT setval('{sequence}', "
                f'(SELECT COALESCE(MAX({column}), 0) + 1 FROM {new}."{table}"), false)'
            )
            conn.execute(
                f'ALTER TABLE {new}."{table}" ALTER COLUMN {column} '
                f"SET DEFAULT nextval('{sequence}')"
            )
    return new_url, lambda: drop_schema(new_url)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Template]]:
    """``demo_template(kind)``: the shared demo city of a store kind. Never write to it."""
    directory = tmp_path_factory.mktemp("audit-template")
    yield lambda kind: template(kind, directory)
    drop_templates()


@pytest.fixture
def demo_copy(
    demo_template: Callable[[str], Template],
    tmp_path: Path,
) -> Iterator[Callable[[str], tuple[Ledger, dict[str, Any]]]]:
    """``demo_copy(kind)``: a fresh copy of the demo city, open, to tamper with."""
    opened: list[tuple[Ledger, Callable[[], None]]] = []

    def make(kind: str) -> tuple[Ledger, dict[str, Any]]:
        source = demo_template(kind)
        url, remove = clone(source, tmp_path)
        ledger = Ledger(url, keystore=source.keystore)
        opened.append((ledger, remove))
        return ledger, dict(source.made)

    yield make
    for ledger, remove in opened:
        ledger.close()
        remove()


def register_many(ledger: Ledger, org: str, count: int, *, per_command: int = 250) -> None:
    """``count`` VolunteerRegistered events, many per command (fast, and still the write path)."""
    from ledger.context import Context
    from ledger.model.ids import new_volunteer_number, volunteer_aggregate_id

    done = 0
    while done < count:
        numbers = [new_volunteer_number() for _ in range(min(per_command, count - done))]

        def decide(ctx: Context, numbers: list[str] = numbers) -> dict[str, Any]:
            for number in numbers:
                ctx.emit("VolunteerRegistered", volunteer_aggregate_id(number), {"number": number})
            return {}

        ledger._writer.run(
            org=org,
            signer=ledger.signer_for(org),
            idempotency_key=f"many-{uuid.uuid4().hex}",
            command="register-many",
            params={"numbers": numbers},
            decide=decide,
            result_type=NoValue,
        )
        done += len(numbers)


# --- raw access to the store -------------------------------------------------------------------


@contextmanager
def _connection(ledger: Ledger) -> Iterator[Any]:
    store = ledger.store
    if store.kind == "sqlite":
        assert store.path is not None
        conn = sqlite3.connect(store.path)
        try:
            with conn:
                yield conn
        finally:
            conn.close()
    elif store.kind == "postgresql":
        with postgres_connection(ledger) as conn:
            yield conn
    else:  # pragma: no cover - the tamper tests run on SQL stores only
        raise AssertionError(f"no raw SQL on {store.kind}")


def _adapt(ledger: Ledger, statement: str) -> str:
    if ledger.store.kind == "sqlite":
        return statement.replace("{schema}.", "").replace("%s", "?")
    return statement.replace("{schema}", f'"{ledger.store.schema}"')


def sql(ledger: Ledger, statement: str, params: tuple[Any, ...] = ()) -> int:
    """Run one statement behind the ledger's back; return the rows it changed."""
    with _connection(ledger) as conn:
        cursor = conn.execute(_adapt(ledger, statement), params)
        return int(cursor.rowcount)


def query(ledger: Ledger, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with _connection(ledger) as conn:
        return [tuple(row) for row in conn.execute(_adapt(ledger, statement), params).fetchall()]


def events_table(ledger: Ledger) -> str:
    """The events table: ``stored_events`` in SQLite, ``ledger_events`` in PostgreSQL."""
    return str(ledger._recorder.events_table_name)  # type: ignore[attr-defined]


def nid(ledger: Ledger) -> str:
    """The column holding the notification id in the events table."""
    return "rowid" if ledger.store.kind == "sqlite" else "notification_id"


def set_state(ledger: Ledger, notification_id: int, state: bytes) -> None:
    changed = sql(
        ledger,
        f"UPDATE {{schema}}.{events_table(ledger)} SET state = %s WHERE {nid(ledger)} = %s",
        (state, notification_id),
    )
    assert changed == 1


def set_leaf_hash(ledger: Ledger, leaf_index: int, digest: bytes) -> None:
    changed = sql(
        ledger,
        "UPDATE {schema}.ledger_log_nodes SET hash = %s WHERE level = 0 AND idx = %s",
        (digest, leaf_index),
    )
    assert changed == 1


def rebuild_nodes(ledger: Ledger) -> None:
    """Recompute every Merkle node from the stored events, as an insider covering tracks would."""
    size = ledger.log_size()
    builder = TreeBuilder()
    rows: list[tuple[int, int, bytes]] = []
    for leaf in leaf_rows(ledger, 0, size):
        assert leaf.state is not None
        rows.extend(builder.append(leaf_hash(leaf.state)))
    with _connection(ledger) as conn:
        conn.execute(_adapt(ledger, "DELETE FROM {schema}.ledger_log_nodes"))
        for level, index, digest in rows:
            conn.execute(
                _adapt(ledger, "INSERT INTO {schema}.ledger_log_nodes VALUES (%s, %s, %s)"),
                (level, index, digest),
            )


def log_key(ledger: Ledger) -> SigningKey:
    """The log's private key, from the keystore (only the operator holds it)."""
    ledger.refresh()
    for key_id in ledger._directory.require_ledger().log_keys:
        key = ledger.keystore.get(LOG_KEY_OWNER, key_id)
        if isinstance(key, SigningKey):
            return key
    raise AssertionError("no log key in the keystore")


def put_checkpoint(ledger: Ledger, note: str) -> None:
    size = Checkpoint.parse(note.split("\n\n", 1)[0] + "\n").size
    sql(
        ledger,
        "DELETE FROM {schema}.ledger_side WHERE namespace = %s AND key = %s",
        (CHECKPOINTS, f"{size:020d}"),
    )
    sql(
        ledger,
        "INSERT INTO {schema}.ledger_side VALUES (%s, %s, %s)",
        (CHECKPOINTS, f"{size:020d}", note.encode("utf-8")),
    )


def sign_current_tree(ledger: Ledger, *, forget_old: bool = False) -> str:
    """Sign a checkpoint of the stored tree as it is now, with the log key from the keystore,
    bypassing the log's own consistency check (``forget_old`` also drops every older note)."""
    if forget_old:
        sql(ledger, "DELETE FROM {schema}.ledger_side WHERE namespace = %s", (CHECKPOINTS,))
    size = ledger.log_size()
    checkpoint = Checkpoint(ledger.log.origin, size, ledger.log.root(size))
    note = sign_checkpoint(checkpoint, [NoteSigner(ledger.log.origin, log_key(ledger))])
    put_checkpoint(ledger, note)
    return note


def truncate_log(ledger: Ledger, keep: int) -> list[int]:
    """Delete every leaf from ``keep`` on: its event, its leaf row and every node over it.
    Return the deleted notification ids."""
    gone = [
        int(row[0])
        for row in query(
            ledger,
            "SELECT notification_id FROM {schema}.ledger_log_leaves WHERE leaf_index >= %s",
            (keep,),
        )
    ]
    with _connection(ledger) as conn:
        for notification_id in gone:
            conn.execute(
                _adapt(
                    ledger,
                    f"DELETE FROM {{schema}}.{events_table(ledger)} WHERE {nid(ledger)} = %s",
                ),
                (notification_id,),
            )
        conn.execute(
            _adapt(ledger, "DELETE FROM {schema}.ledger_log_leaves WHERE leaf_index >= %s"),
            (keep,),
        )
        # A node (level, idx) covers leaves [idx * 2**level, (idx + 1) * 2**level).
        for level, index in conn.execute(
            _adapt(ledger, "SELECT level, idx FROM {schema}.ledger_log_nodes")
        ).fetchall():
            if (index + 1) << level > keep:
                conn.execute(
                    _adapt(
                        ledger,
                        "DELETE FROM {schema}.ledger_log_nodes WHERE level = %s AND idx = %s",
                    ),
                    (level, index),
                )
    return gone


# --- reading leaves ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One logged event as stored, with its parsed envelope."""

    leaf_index: int
    notification_id: int
    aggregate_id: str
    version: int
    state: bytes
    envelope: dict[str, Any]

    @property
    def body(self) -> dict[str, Any]:
        return dict(self.envelope["body"])

    @property
    def type(self) -> str:
        return str(self.envelope["body"]["type"])

    @property
    def where(self) -> str:
        """How the audit names the event in a finding."""
        return f"{self.aggregate_id} v{self.version}"


def leaf_rows(ledger: Ledger, start: int, stop: int) -> list[LoggedEvent]:
    rows: list[LoggedEvent] = []
    while start < stop:
        batch = ledger._recorder.select_leaves(start, min(1000, stop - start))
        if not batch:
            break
        rows.extend(batch)
        start = batch[-1].leaf_index + 1  # type: ignore[operator]
    return rows


def logged_events(ledger: Ledger) -> list[Event]:
    return [
        Event(
            int(row.leaf_index),  # type: ignore[arg-type]
            int(row.id),
            str(row.originator_id),
            int(row.originator_version),
            bytes(row.state),
            parse_json(row.state),
        )
        for row in leaf_rows(ledger, 0, ledger.log_size())
    ]


def find_events(ledger: Ledger, predicate: Callable[[Event], bool]) -> list[Event]:
    return [e for e in logged_events(ledger) if predicate(e)]


def first_event(ledger: Ledger, event_type: str, after: int = 0) -> Event:
    found = find_events(ledger, lambda e: e.type == event_type and e.leaf_index >= after)
    assert found, f"no {event_type} at or after leaf {after}"
    return found[0]


def rewrite(state: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    """The envelope re-canonicalised after ``change`` edited it in place."""
    envelope = parse_json(state)
    change(envelope)
    return canonical_json(envelope)


def resign(body: dict[str, Any], key: SigningKey) -> str:
    """The base64 signature an event body gets from ``key``."""
    return b64encode(key.sign(SIGNING_CONTEXT + canonical_json(body)))


def flip_byte(state: bytes, offset: int) -> bytes:
    return state[:offset] + bytes([state[offset] ^ 0x01]) + state[offset + 1 :]


# --- running the audit -------------------------------------------------------------------------


def run_audit(ledger: Ledger, **options: Any) -> AuditReport:
    options.setdefault("workers", 2)
    options.setdefault("progress", False)
    return audit(StoreSource(ledger), **options)


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """Run ``ledger ...``; return (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def db_url(ledger: Ledger) -> str:
    store = ledger.store
    if store.kind == "sqlite":
        return f"sqlite:///{store.path}"
    return store.url


def kinds(report: AuditReport) -> set[str]:
    return {f.kind for f in report.findings}


def findings_of(report: AuditReport, kind: str) -> list[Any]:
    return [f for f in report.findings if f.kind == kind]


def leaves_of(report: AuditReport, kind: str) -> set[int | None]:
    return {f.leaf_index for f in report.findings if f.kind == kind}


def describe(report: AuditReport) -> str:
    return "\n".join(f.line() for f in report.findings)


def forged_registration(ledger: Ledger, org: str, key: SigningKey) -> StoredEvent:
    """A correctly formed, correctly signed envelope, by a key revoked before it."""
    number = "VFORGEDREVOKED"
    aggregate_id = volunteer_aggregate_id(number)
    now = format_time(ledger.clock())
    body = {
        "type": "VolunteerRegistered",
        "org": org,
        "key_id": key.key_id,
        "aggregate_id": str(aggregate_id),
        "aggregate_version": 1,
        "occurred_at": now,
        "idempotency_key": "forged-registration",
        "data": {"number": number},
    }
    signature = key.sign(SIGNING_CONTEXT + canonical_json(body))
    return StoredEvent(
        originator_id=aggregate_id,
        originator_version=1,
        topic=event_topic("VolunteerRegistered"),
        state=make_envelope(body, signature, now),
    )


def revoke_a_recording_key(ledger: Ledger) -> tuple[Event, SigningKey]:
    """Revoke (as stolen) the key that signed the first approval; return that approval and the
    private key the thief kept."""
    approval = first_event(ledger, "RecordApproved")
    org, key_id = approval.body["org"], approval.body["key_id"]
    stolen = ledger.keystore.get(org, key_id)
    assert isinstance(stolen, SigningKey)
    parent = ledger._directory.organisation(org).parent
    assert parent is not None
    ledger.revoke_key(
        parent, for_org=org, key_id=key_id, reason="stolen", idempotency_key="revoke-stolen"
    )
    ledger.log.sign_checkpoint()
    return approval, stolen
