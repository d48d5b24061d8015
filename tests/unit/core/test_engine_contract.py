"""The ledger's contract with ``eventsourcing``: every hook it overrides or reaches, pinned.

The ledger subclasses a few of the engine's classes (recorders, the mapper, the application) and
overrides or calls some of their private hooks (``_insert_events``, ``_create_table``,
``sql_create_statements``, the POPO recorder's tables). A minor release may rename or reshape
them without notice. This test fails when one of them moves to another class, changes
signature, or disappears, and when the ledger starts to use an engine member this table does not
name; the pin in ``pyproject.toml`` admits only the minor version the table was checked against.

After an upgrade: read the engine's changes to each member below, adapt the ledger, then update
the table (``python -m tests.unit.core.test_engine_contract`` prints the current one).
"""

# ruff: noqa: E501 (the table quotes the engine's signatures whole)
from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
import tomllib
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[3]
TESTED_MINOR = "9.5"

LEDGER_SUBCLASSES = {
    "ledger.storage.sqlite_recorder": ("LedgerRecorder",),
    "ledger.storage.sqlite_factory": ("StatementCachingPool", "LedgerSQLiteFactory"),
    "ledger.storage.postgresql_recorder": ("LedgerRecorder",),
    "ledger.storage.memory_recorder": ("LedgerRecorder", "LedgerMemoryFactory"),
    "ledger.mapper": ("SignedEventMapper",),
    "ledger.application": ("LedgerEvents",),
}

# (ledger class, member) -> (engine class that defines it, its signature or "attribute")
ENGINE_CONTRACT: dict[tuple[str, str], tuple[str, str]] = {
    ("ledger.storage.sqlite_recorder.LedgerRecorder", "__init__"): (
        "eventsourcing.sqlite.SQLiteApplicationRecorder",
        "(self, datastore: 'SQLiteDatastore', events_table_name: 'str' = 'stored_events')",
    ),
    ("ledger.storage.sqlite_recorder.LedgerRecorder", "insert_events"): (
        "eventsourcing.sqlite.SQLiteAggregateRecorder",
        "(self, stored_events: 'Sequence[StoredEvent]', **kwargs: 'Any') -> 'Sequence[int] | None'",
    ),
    ("ledger.storage.sqlite_recorder.LedgerRecorder", "_insert_events"): (
        "eventsourcing.sqlite.SQLiteApplicationRecorder",
        "(self, c: 'SQLiteCursor', stored_events: 'Sequence[StoredEvent]', **_: 'Any') -> 'Sequence[int] | None'",
    ),
    ("ledger.storage.sqlite_recorder.LedgerRecorder", "construct_create_table_statements"): (
        "eventsourcing.sqlite.SQLiteApplicationRecorder",
        "(self) -> 'list[str]'",
    ),
    ("ledger.storage.sqlite_recorder.LedgerRecorder", "convert_originator_id"): (
        "eventsourcing.sqlite.SQLiteRecorder",
        "(self, originator_id: 'str') -> 'UUID | str'",
    ),
    ("ledger.storage.sqlite_recorder.LedgerRecorder", "datastore"): (
        "eventsourcing.sqlite.SQLiteRecorder",
        "attribute",
    ),
    ("ledger.storage.sqlite_recorder.LedgerRecorder", "events_table_name"): (
        "eventsourcing.sqlite.SQLiteAggregateRecorder",
        "attribute",
    ),
    ("ledger.storage.sqlite_recorder.LedgerRecorder", "max_notification_id"): (
        "eventsourcing.sqlite.SQLiteApplicationRecorder",
        "(self) -> 'int'",
    ),
    ("ledger.storage.sqlite_recorder.LedgerRecorder", "select_events"): (
        "eventsourcing.sqlite.SQLiteAggregateRecorder",
        "(self, originator_id: 'UUID | str', *, gt: 'int | None' = None, lte: 'int | None' = None, desc: 'bool' = False, limit: 'int | None' = None) -> 'Sequence[StoredEvent]'",
    ),
    ("ledger.storage.sqlite_recorder.LedgerRecorder", "select_notifications"): (
        "eventsourcing.sqlite.SQLiteApplicationRecorder",
        "(self, start: 'int | None', limit: 'int', stop: 'int | None' = None, topics: 'Sequence[str]' = (), *, inclusive_of_start: 'bool' = True) -> 'Sequence[Notification]'",
    ),
    ("ledger.storage.sqlite_factory.LedgerSQLiteFactory", "__init__"): (
        "eventsourcing.sqlite.SQLiteFactory",
        "(self, env: 'Environment | EnvType | None')",
    ),
    ("ledger.storage.sqlite_factory.LedgerSQLiteFactory", "datastore"): (
        "eventsourcing.sqlite.SQLiteFactory",
        "attribute",
    ),
    ("ledger.storage.sqlite_factory.StatementCachingPool", "_create_connection"): (
        "eventsourcing.sqlite.SQLiteConnectionPool",
        "(self) -> 'SQLiteConnection'",
    ),
    ("ledger.storage.sqlite_factory.StatementCachingPool", "db_name"): (
        "eventsourcing.sqlite.SQLiteConnectionPool",
        "attribute",
    ),
    ("ledger.storage.sqlite_factory.StatementCachingPool", "is_journal_mode_wal"): (
        "eventsourcing.sqlite.SQLiteConnectionPool",
        "attribute",
    ),
    ("ledger.storage.sqlite_factory.StatementCachingPool", "is_sqlite_memory_mode"): (
        "eventsourcing.sqlite.SQLiteConnectionPool",
        "attribute",
    ),
    ("ledger.storage.sqlite_factory.StatementCachingPool", "journal_mode_was_changed_to_wal"): (
        "eventsourcing.sqlite.SQLiteConnectionPool",
        "attribute",
    ),
    ("ledger.storage.sqlite_factory.StatementCachingPool", "lock_timeout"): (
        "eventsourcing.sqlite.SQLiteConnectionPool",
        "attribute",
    ),
    ("ledger.storage.sqlite_factory.StatementCachingPool", "max_age"): (
        "eventsourcing.persistence.ConnectionPool",
        "attribute",
    ),
    ("ledger.storage.postgresql_recorder.LedgerRecorder", "__init__"): (
        "eventsourcing.postgres.PostgresApplicationRecorder",
        "(self, datastore: 'PostgresDatastore', *, events_table_name: 'str' = 'stored_events')",
    ),
    ("ledger.storage.postgresql_recorder.LedgerRecorder", "_create_table"): (
        "eventsourcing.postgres.PostgresRecorder",
        "(self, curs: 'Cursor[DictRow]') -> 'None'",
    ),
    ("ledger.storage.postgresql_recorder.LedgerRecorder", "insert_events"): (
        "eventsourcing.postgres.PostgresApplicationRecorder",
        "(self, stored_events: 'Sequence[StoredEvent]', **kwargs: 'Any') -> 'Sequence[int] | None'",
    ),
    ("ledger.storage.postgresql_recorder.LedgerRecorder", "_lock_table"): (
        "eventsourcing.postgres.PostgresApplicationRecorder",
        "(self, curs: 'Cursor[DictRow]') -> 'None'",
    ),
    ("ledger.storage.postgresql_recorder.LedgerRecorder", "_notify_channel"): (
        "eventsourcing.postgres.PostgresApplicationRecorder",
        "(self, curs: 'Cursor[DictRow]') -> 'None'",
    ),
    ("ledger.storage.postgresql_recorder.LedgerRecorder", "channel_name"): (
        "eventsourcing.postgres.PostgresApplicationRecorder",
        "attribute",
    ),
    (
        "ledger.storage.postgresql_recorder.LedgerRecorder",
        "create_insert_function_statement_index",
    ): ("eventsourcing.postgres.PostgresApplicationRecorder", "attribute"),
    ("ledger.storage.postgresql_recorder.LedgerRecorder", "create_table"): (
        "eventsourcing.postgres.PostgresRecorder",
        "(self) -> 'None'",
    ),
    ("ledger.storage.postgresql_recorder.LedgerRecorder", "datastore"): (
        "eventsourcing.postgres.PostgresRecorder",
        "attribute",
    ),
    ("ledger.storage.postgresql_recorder.LedgerRecorder", "lock_table_statements"): (
        "eventsourcing.postgres.PostgresApplicationRecorder",
        "attribute",
    ),
    ("ledger.storage.postgresql_recorder.LedgerRecorder", "max_notification_id"): (
        "eventsourcing.postgres.PostgresApplicationRecorder",
        "(self) -> 'int | None'",
    ),
    ("ledger.storage.postgresql_recorder.LedgerRecorder", "select_events"): (
        "eventsourcing.postgres.PostgresAggregateRecorder",
        "(self, originator_id: 'UUID | str', *, gt: 'int | None' = None, lte: 'int | None' = None, desc: 'bool' = False, limit: 'int | None' = None) -> 'Sequence[StoredEvent]'",
    ),
    ("ledger.storage.postgresql_recorder.LedgerRecorder", "select_notifications"): (
        "eventsourcing.postgres.PostgresApplicationRecorder",
        "(self, start: 'int | None', limit: 'int', stop: 'int | None' = None, topics: 'Sequence[str]' = (), *, inclusive_of_start: 'bool' = True) -> 'Sequence[Notification]'",
    ),
    ("ledger.storage.postgresql_recorder.LedgerRecorder", "sql_create_statements"): (
        "eventsourcing.postgres.PostgresRecorder",
        "attribute",
    ),
    ("ledger.storage.memory_recorder.LedgerRecorder", "__init__"): (
        "eventsourcing.popo.POPOApplicationRecorder",
        "(self) -> 'None'",
    ),
    ("ledger.storage.memory_recorder.LedgerRecorder", "_assert_uniqueness"): (
        "eventsourcing.popo.POPOAggregateRecorder",
        "(self, stored_events: 'Sequence[StoredEvent]', **_: 'Any') -> 'None'",
    ),
    ("ledger.storage.memory_recorder.LedgerRecorder", "_database_lock"): (
        "eventsourcing.popo.POPORecorder",
        "attribute",
    ),
    ("ledger.storage.memory_recorder.LedgerRecorder", "_insert_events"): (
        "eventsourcing.popo.POPOAggregateRecorder",
        "(self, stored_events: 'Sequence[StoredEvent]', **kwargs: 'Any') -> 'Sequence[int] | None'",
    ),
    ("ledger.storage.memory_recorder.LedgerRecorder", "_stored_events"): (
        "eventsourcing.popo.POPOAggregateRecorder",
        "attribute",
    ),
    ("ledger.storage.memory_recorder.LedgerRecorder", "_stored_events_index"): (
        "eventsourcing.popo.POPOAggregateRecorder",
        "attribute",
    ),
    ("ledger.storage.memory_recorder.LedgerRecorder", "_update_table"): (
        "eventsourcing.popo.POPOAggregateRecorder",
        "(self, stored_events: 'Sequence[StoredEvent]', **_: 'Any') -> 'Sequence[int] | None'",
    ),
    ("ledger.storage.memory_recorder.LedgerRecorder", "max_notification_id"): (
        "eventsourcing.popo.POPOApplicationRecorder",
        "(self) -> 'int | None'",
    ),
    ("ledger.storage.memory_recorder.LedgerRecorder", "select_events"): (
        "eventsourcing.popo.POPOAggregateRecorder",
        "(self, originator_id: 'UUID | str', *, gt: 'int | None' = None, lte: 'int | None' = None, desc: 'bool' = False, limit: 'int | None' = None) -> 'Sequence[StoredEvent]'",
    ),
    ("ledger.storage.memory_recorder.LedgerRecorder", "select_notifications"): (
        "eventsourcing.popo.POPOApplicationRecorder",
        "(self, start: 'int | None', limit: 'int', stop: 'int | None' = None, topics: 'Sequence[str]' = (), *, inclusive_of_start: 'bool' = True) -> 'Sequence[Notification]'",
    ),
    ("ledger.storage.memory_recorder.LedgerMemoryFactory", "application_recorder"): (
        "eventsourcing.popo.POPOFactory",
        "(self) -> 'ApplicationRecorder'",
    ),
    ("ledger.mapper.SignedEventMapper", "to_domain_event"): (
        "eventsourcing.persistence.Mapper",
        "(self, stored_event: 'StoredEvent') -> 'DomainEventProtocol[TAggregateID]'",
    ),
    ("ledger.mapper.SignedEventMapper", "to_stored_event"): (
        "eventsourcing.persistence.Mapper",
        "(self, domain_event: 'DomainEventProtocol[TAggregateID]') -> 'StoredEvent'",
    ),
    ("ledger.application.LedgerEvents", "__init__"): (
        "eventsourcing.application.Application",
        "(self, env: 'EnvType | None' = None) -> 'None'",
    ),
    ("ledger.application.LedgerEvents", "close"): (
        "eventsourcing.application.Application",
        "(self) -> 'None'",
    ),
    ("ledger.application.LedgerEvents", "construct_env"): (
        "eventsourcing.application.Application",
        "(self, name: 'str', env: 'EnvType | None' = None) -> 'Environment'",
    ),
    ("ledger.application.LedgerEvents", "factory"): (
        "eventsourcing.application.Application",
        "attribute",
    ),
    ("ledger.application.LedgerEvents", "mapper"): (
        "eventsourcing.application.Application",
        "attribute",
    ),
    ("ledger.application.LedgerEvents", "name"): (
        "eventsourcing.application.Application",
        "attribute",
    ),
    ("ledger.application.LedgerEvents", "recorder"): (
        "eventsourcing.application.Application",
        "attribute",
    ),
}


def _engine_bases(cls: type) -> list[type]:
    return [c for c in cls.__mro__ if c.__module__.startswith("eventsourcing")]


@cache
def _instance_attributes(klass: type) -> frozenset[str]:
    """Names an engine class's ``__init__`` assigns on ``self``."""
    init = klass.__dict__.get("__init__")
    if init is None:
        return frozenset()
    tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    return frozenset(
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    )


def engine_owner(cls: type, member: str) -> tuple[str, str] | None:
    """The engine class that defines ``member`` for ``cls``, and the member's signature."""
    for base in _engine_bases(cls):
        owner = f"{base.__module__}.{base.__qualname__}"
        if member in base.__dict__:
            found: Any = base.__dict__[member]
            if isinstance(found, (staticmethod, classmethod)):
                found = found.__func__
            if isinstance(found, property):
                return owner, "property"
            if callable(found):
                return owner, str(inspect.signature(found))
            return owner, "attribute"
        if member in _instance_attributes(base):
            return owner, "attribute"
    return None


def _members_used(module_name: str, class_name: str) -> set[str]:
    """Members a ledger class defines, or reaches through ``self.`` or ``super().``."""
    module = importlib.import_module(module_name)
    tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name)
    names: set[str] = set()
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            names.add(statement.target.id)
    for sub in ast.walk(node):
        if not isinstance(sub, ast.Attribute):
            continue
        target = sub.value
        through_self = isinstance(target, ast.Name) and target.id == "self"
        through_super = (
            isinstance(target, ast.Call)
            and isinstance(target.func, ast.Name)
            and target.func.id == "super"
        )
        if through_self or through_super:
            names.add(sub.attr)
    return {n for n in names if not n.startswith("__") or n == "__init__"}


def current_contract() -> dict[tuple[str, str], tuple[str, str]]:
    """The contract as the installed engine and today's ledger code define it."""
    contract: dict[tuple[str, str], tuple[str, str]] = {}
    for module_name, class_names in LEDGER_SUBCLASSES.items():
        module = importlib.import_module(module_name)
        for class_name in class_names:
            cls = getattr(module, class_name)
            used: set[str] = set()
            for klass in cls.__mro__:  # the class and the ledger's mixins it inherits
                if klass.__module__.startswith("ledger."):
                    used |= _members_used(klass.__module__, klass.__name__)
            for member in sorted(used):
                found = engine_owner(cls, member)
                if found is not None:
                    contract[(f"{module_name}.{class_name}", member)] = found
    return contract


def _ledger_class(qualified: str) -> type:
    module_name, _, class_name = qualified.rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("member", "expected"), sorted(ENGINE_CONTRACT.items()), ids=str)
def test_each_engine_member_the_ledger_relies_on_is_where_it_was(
    member: tuple[str, str], expected: tuple[str, str]
) -> None:
    qualified, name = member
    found = engine_owner(_ledger_class(qualified), name)
    assert found is not None, f"eventsourcing no longer defines {name} for {qualified}"
    assert found == expected, f"eventsourcing changed {name} (used by {qualified})"


def test_the_contract_names_every_engine_member_the_ledger_uses() -> None:
    current = current_contract()
    unlisted = sorted(set(current) - set(ENGINE_CONTRACT))
    stale = sorted(set(ENGINE_CONTRACT) - set(current))
    assert not unlisted, f"engine members used but not in ENGINE_CONTRACT: {unlisted}"
    assert not stale, f"ENGINE_CONTRACT names members the ledger no longer uses: {stale}"


def test_the_pin_admits_only_the_tested_minor_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = [Requirement(r) for r in project["project"]["dependencies"]]
    engine = next(r for r in requirements if r.name == "eventsourcing")
    major, minor = (int(p) for p in TESTED_MINOR.split("."))
    assert Version(version("eventsourcing")) in engine.specifier
    assert Version(f"{major}.{minor}.99") in engine.specifier
    assert Version(f"{major}.{minor + 1}.0") not in engine.specifier
    assert Version(f"{major}.{minor - 1}.99") not in engine.specifier


def test_a_changed_signature_is_caught() -> None:
    class Changed:
        def select_events(self, originator_id: str) -> None: ...

    Changed.__module__ = "eventsourcing.fake"
    found = engine_owner(type("Sub", (Changed,), {}), "select_events")
    expected = ENGINE_CONTRACT[("ledger.storage.sqlite_recorder.LedgerRecorder", "select_events")]
    assert found is not None
    assert found[1] != expected[1], "a narrowed signature must not match the recorded one"


if __name__ == "__main__":
    for (qualified, name), (owner, signature) in sorted(current_contract().items()):
        print(f"    ({qualified!r}, {name!r}): ({owner!r}, {signature!r}),")
