"""Helpers for the [log] store tests (imported by name; not a test module).

They build ledgers, fill them quickly (many signed events per command), recompute the Merkle tree
from scratch out of the stored leaf data, and reach behind a ledger's back into its SQL tables.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from ledger_testing import create_city, postgres_connection

from ledger import Ledger, SigningKey
from ledger.context import Context
from ledger.keystore import LOG_KEY_OWNER
from ledger.log import WitnessService, WitnessStore, parse_verifier_key
from ledger.log.merkle import TreeBuilder, leaf_hash
from ledger.model.ids import new_volunteer_number, organisation_aggregate_id
from ledger.model.ids import volunteer_aggregate_id as volunteer_id
from ledger.results import NoValue
from ledger.writer import CommandResult

ORIGIN = "ledger.test.example/log"
SQL_STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
WITNESS_NOW = 1_772_668_800


# Fixtures of the witness tests, imported by name where used.
@pytest.fixture
def ledger(open_ledger: Callable[..., Ledger]) -> Ledger:
    """A city ledger in memory, whose log the witness follows."""
    opened = open_ledger("memory://")
    create_city(opened)
    return opened


@pytest.fixture
def service(tmp_path: Path, ledger: Ledger) -> Iterator[WitnessService]:
    """A witness following ``ledger``'s log keys, with its own store and a fixed clock."""
    logs = [parse_verifier_key(v) for v in ledger.log.verifier_keys()]
    store = WitnessStore(tmp_path / "witness.db")
    yield WitnessService(
        "witness.example/w1", SigningKey.generate(), logs, store, lambda: WITNESS_NOW
    )
    store.close()


__all__ = [
    "ORIGIN",
    "SQL_STORES",
    "WITNESS_NOW",
    "add_log_key",
    "create_city",
    "from_scratch",
    "leaf_states",
    "register_many",
    "retire_log_key",
    "sql_execute",
]


def register_many(
    ledger: Ledger, count: int, key: str, org: str = "org-a"
) -> CommandResult[NoValue]:
    """One command that stages ``count`` ``VolunteerRegistered`` events (one insert, fast)."""
    numbers = [new_volunteer_number() for _ in range(count)]

    def decide(ctx: Context) -> dict[str, Any]:
        for number in numbers:
            ctx.emit("VolunteerRegistered", volunteer_id(number), {"number": number})
        return {}

    return ledger._writer.run(
        org=org,
        signer=ledger.signer_for(org),
        idempotency_key=key,
        command="RegisterMany",
        params={"numbers": numbers},
        decide=decide,
        result_type=NoValue,
    )


def leaf_states(ledger: Ledger) -> list[bytes]:
    """The data of every leaf, in leaf order, as the store hands it back."""
    leaves = ledger._recorder.select_leaves(0, 10**9)
    assert [leaf.leaf_index for leaf in leaves] == list(range(len(leaves)))
    return [bytes(leaf.state) for leaf in leaves]


def from_scratch(states: Sequence[bytes]) -> tuple[TreeBuilder, dict[tuple[int, int], bytes]]:
    """A tree built at once from the leaf data, and every perfect node it has."""
    builder = TreeBuilder()
    nodes: dict[tuple[int, int], bytes] = {}
    for state in states:
        for level, index, digest in builder.append(leaf_hash(state)):
            nodes[(level, index)] = digest
    return builder, nodes


def add_log_key(ledger: Ledger, idempotency_key: str) -> SigningKey:
    """Introduce a second log key: a LogKeyAdded event, and its private half in the keystore."""
    key = SigningKey.generate()
    ledger._emit_one(
        "city",
        "LogKeyAdded",
        organisation_aggregate_id("city"),
        {"key_id": key.key_id, "public_key": key.public_key.to_base64()},
        idempotency_key=idempotency_key,
    )
    ledger.keystore.add(LOG_KEY_OWNER, key)
    return key


def retire_log_key(ledger: Ledger, key_id: str, idempotency_key: str) -> CommandResult:
    return ledger._emit_one(
        "city",
        "LogKeyRetired",
        organisation_aggregate_id("city"),
        {"key_id": key_id, "reason": "rotated to its successor"},
        idempotency_key=idempotency_key,
    )


def sql_execute(ledger: Ledger, statement: str, params: tuple[Any, ...] = ()) -> int:
    """Run one statement on the ledger's SQLite file or PostgreSQL schema, behind its back.

    Write ``{schema}.table`` and ``%s`` placeholders; returns the number of rows changed.
    """
    if ledger.store.kind == "sqlite":
        assert ledger.store.path is not None
        with sqlite3.connect(ledger.store.path) as conn:
            sql = statement.replace("{schema}.", "").replace("%s", "?")
            return conn.execute(sql, params).rowcount
    with postgres_connection(ledger) as conn:
        return int(
            conn.execute(statement.replace("{schema}", f'"{ledger.store.schema}"'), params).rowcount
        )
