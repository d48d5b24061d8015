"""[architecture] Command results are typed: each command declares the type of its result's
value (``RegisterVolunteer`` is a ``Command[VolunteerRef]``), its ``Ledger`` method returns a
``CommandResult`` of that type, and a retry answered from the stored claim, by this process or by
another one reading the same store, gives a value of the same type, equal to the first."""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ledger_testing import create_city

from ledger import CommandResult, Ledger, results
from ledger.commands.typed import (
    COMMANDS,
    AddLogKey,
    ApproveRecord,
    Command,
    GrantHonour,
    IssueCertificate,
    NewKey,
    PublishActivity,
    RecordHours,
    RecordRoster,
    RegisterVolunteer,
    RequestAgreement,
    RequestTransfer,
)
from ledger.results import (
    Assessed,
    NoValue,
    RecordsRef,
    ResultValue,
    UnitAssessment,
    VolunteerRef,
)

VALUE_TYPES = [getattr(results, name) for name in results.__all__]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_method_returns_the_result_type_its_class_declares(name: str) -> None:
    cls = COMMANDS[name]
    (declared,) = typing.get_args(cls.__orig_bases__[0])  # type: ignore[attr-defined]
    assert cls.result_type is declared
    assert issubclass(declared, ResultValue) and dataclasses.is_dataclass(declared)
    returned = typing.get_type_hints(getattr(Ledger, name))["return"]
    assert returned == CommandResult[declared], f"{name} returns {returned}"


def test_all_58_commands_declare_a_type_and_only_some_name_something() -> None:
    assert len(COMMANDS) == 58
    naming = {n for n, c in COMMANDS.items() if c.result_type is not NoValue}
    assert naming == {
        "add_log_key", "assess", "collect_surplus", "commend_project", "grant_honour",
        "issue_certificate", "new_key", "publish_activity", "record_from_attendance",
        "record_hours", "record_roster", "register_volunteer", "request_agreement",
        "request_transfer", "reverse_transfer", "transfer_credit", "transfer_in", "transfer_out",
    }  # fmt: skip


def test_every_value_type_is_frozen_and_exported() -> None:
    for value_type in VALUE_TYPES:
        if value_type is ResultValue:
            continue
        assert value_type.__dataclass_params__.frozen, value_type  # type: ignore[attr-defined]
    defined = {
        obj
        for obj in vars(results).values()
        if isinstance(obj, type) and obj.__module__ == results.__name__
    }
    assert defined == set(VALUE_TYPES), "ledger.results.__all__ lists every type it defines"
    used = {c.result_type for c in COMMANDS.values()} | {UnitAssessment}
    assert used == defined - {ResultValue}, "every value type is some command's"


def test_a_stored_value_with_other_fields_is_refused_not_guessed() -> None:
    with pytest.raises(TypeError):
        VolunteerRef.from_json({"number": "V1", "extra": 1})
    with pytest.raises(TypeError):
        VolunteerRef.from_json({})
    with pytest.raises(TypeError):
        NoValue.from_json({"record_id": "r"})


@given(
    ids=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=5),
    units=st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.tuples(st.integers(0, 1000), st.sampled_from(["gold", "silver", "unrated"])),
        max_size=4,
    ),
    size=st.integers(0, 2**40),
)
def test_values_survive_their_json(
    ids: list[str], units: dict[str, tuple[int, str]], size: int
) -> None:
    roster = RecordsRef(record_ids=tuple(ids), record_id=ids[0])
    assert RecordsRef.from_json(roster.to_json()) == roster
    assert roster.to_json()["record_ids"] == ids
    assessed = Assessed(log_size=size, units={u: UnitAssessment(*r) for u, r in units.items()})
    as_json = assessed.to_json()
    assert Assessed.from_json(as_json) == assessed
    assert all(isinstance(v, dict) for v in as_json["units"].values())


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


def _commands(ledger: Ledger, number: str) -> list[Command[ResultValue]]:
    """Commands that name what they make, and one that names nothing, each made from the
    values of the ones before it."""
    activity = ledger.run(_activity("org-a"), idempotency_key="act").value.activity_id
    recorded = ledger.run(
        RecordHours("org-a", activity_id=activity, number=number, minutes=120),
        idempotency_key="rec",
    ).value
    other = ledger.run(RegisterVolunteer("org-a"), idempotency_key="other").value.number
    return [
        RegisterVolunteer("org-a"),
        _activity("org-a"),
        RecordRoster("org-a", activity_id=activity, entries=[{"number": other, "minutes": 30}]),
        ApproveRecord("org-a", record_id=recorded.record_id),
        RequestTransfer("org-a", number=number, to_org="org-b"),
        RequestAgreement("org-b", number=number, rights=["consent"]),
        GrantHonour(
            "org-a",
            recipient_kind="volunteer",
            recipient=number,
            honour="river-keeper",
            citation="for the river",
            granted_on=date(2026, 12, 1),
        ),
        IssueCertificate(
            "org-a",
            number=number,
            period_from=date(2026, 1, 1),
            period_to=date(2026, 12, 31),
            issuer_contact="office@org-a.example",
        ),
        NewKey("city", for_org="org-a"),
        AddLogKey("city"),
    ]


def test_first_runs_and_retries_give_the_declared_type_in_this_process_and_another(
    tmp_path: Path,
) -> None:
    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(store) as ledger:
        number = create_city(ledger)["number"]
        commands = _commands(ledger, number)
        first = []
        for i, command in enumerate(commands):
            result = ledger.run(command, idempotency_key=f"k{i}")
            assert type(result.value) is command.result_type and not result.replayed
            again = ledger.run(command, idempotency_key=f"k{i}")
            assert again.replayed and again.value == result.value
            assert type(again.value) is command.result_type
            first.append(result)
    with Ledger(store) as reopened:  # the claims read back from the file, by a new ledger
        for i, command in enumerate(commands):
            again = reopened.run(command, idempotency_key=f"k{i}")
            assert again.replayed and type(again.value) is command.result_type
            assert again.value == first[i].value and again.events == first[i].events
            assert again.to_json()["value"] == first[i].value.to_json()


def test_the_typed_value_is_what_the_http_layer_serves() -> None:
    with Ledger("memory://") as ledger:
        number = create_city(ledger)["number"]
        made = ledger.register_volunteer("org-a", idempotency_key="v2")
        assert made.to_json()["value"] == {"number": made.value.number}
        assert made.value.number != number
        nothing = ledger.add_service_field("city", field="river-care", idempotency_key="f")
        assert nothing.value == NoValue() and nothing.to_json()["value"] == {}
