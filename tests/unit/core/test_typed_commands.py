"""[architecture] Every command has a typed class, and runs one way: ``Ledger.run`` with an
idempotency key, an optional signer held outside the keystore, and an optional time."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime

import pytest
from ledger_testing import create_city

from ledger import InvalidInputError, KeyNotAuthorisedError, Ledger, SigningKey
from ledger.commands import typed
from ledger.commands.typed import COMMANDS, ApproveRecord, Command, PublishActivity, RecordHours

RUN_OPTIONS = ("self", "idempotency_key", "signer", "occurred_at")
NOT_COMMANDS = {"run", "erase_personal_data"}  # run itself; erasure, by the number alone


def _commands_of_the_ledger() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(method)
        for name, method in inspect.getmembers(Ledger, inspect.isfunction)
        if not name.startswith("_")
        and "idempotency_key" in inspect.signature(method).parameters
        and name not in NOT_COMMANDS
    }


def test_every_command_of_the_ledger_has_its_class() -> None:
    assert set(COMMANDS) == set(_commands_of_the_ledger())
    assert set(typed.__all__) == {"COMMANDS", "Command"} | {c.__name__ for c in COMMANDS.values()}


@pytest.mark.parametrize("name", sorted(_commands_of_the_ledger()))
def test_each_class_has_its_methods_arguments_types_and_defaults(name: str) -> None:
    signature = _commands_of_the_ledger()[name]
    expected = {
        n: (str(p.annotation), p.default)
        for n, p in signature.parameters.items()
        if n not in RUN_OPTIONS
    }
    found = {
        f.name: (
            str(f.type),
            inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default,
        )
        for f in dataclasses.fields(COMMANDS[name])
    }
    assert found == expected


def test_only_a_command_runs() -> None:
    with Ledger("memory://") as ledger, pytest.raises(InvalidInputError, match="not a command"):
        ledger.run(Command("city"), idempotency_key="x")  # type: ignore[arg-type]


def _activity(org: str) -> PublishActivity:
    return PublishActivity(
        org,
        title="River clean-up",
        field="legal-aid",
        place="Riverside",
        starts_at=datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
        ends_at=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
        leader="lead",
        content="litter picking",
    )


def test_any_command_takes_a_signer_held_outside_the_keystore() -> None:
    """``publish_activity`` has no ``signer`` parameter of its own; through ``run`` it signs
    with org-a's key that only the caller holds, and another organisation's key is refused."""
    with Ledger("memory://") as ledger:
        create_city(ledger)
        held = SigningKey.generate()
        ledger.register_key(
            "city", for_org="org-a", public_key=held.public_key, idempotency_key="held-key"
        )
        size = ledger.log_size()
        with pytest.raises(KeyNotAuthorisedError):
            ledger.run(_activity("org-a"), idempotency_key="a1", signer=ledger.signer_for("org-b"))
        assert ledger.log_size() == size, "a refused command stores nothing"
        result = ledger.run(_activity("org-a"), idempotency_key="a1", signer=held)
        event = ledger.event(result.events[0].aggregate_id, result.events[0].version)
        assert event.key_id == held.public_key.key_id


def test_any_command_takes_its_time_and_a_retry_is_answered_from_the_first_run() -> None:
    with Ledger("memory://") as ledger:
        city = create_city(ledger)
        when = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
        activity = ledger.run(_activity("org-a"), idempotency_key="a").value.activity_id
        record = ledger.run(
            RecordHours("org-a", activity_id=activity, number=city["number"], minutes=120),
            idempotency_key="record",
            occurred_at=when,
        )
        record_id = record.value.record_id
        approved = ledger.run(ApproveRecord("org-a", record_id=record_id), idempotency_key="ok")
        again = ledger.run(ApproveRecord("org-a", record_id=record_id), idempotency_key="ok")
        assert again.replayed and again.events == approved.events
        stored = ledger.event(record.events[0].aggregate_id, record.events[0].version)
        assert stored.occurred_at == "2026-12-01T09:30:00Z"
