"""[architecture] Rules checked on their own: a fake command port, no ledger, no store.

The model's rules depend on :class:`ledger.model.port.CommandPort` only. Here a port of a few
lines holds the states and the organisation tree; each rule is run exactly as the service layer
runs it, and reactions (stars, credit) are seen to be scheduled by the reaction registry, never by
the rule itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import KeyNotAuthorisedError, NotFoundError, RuleViolationError
from ledger.model.aggregates import AggregateState, Volunteer
from ledger.model.ids import volunteer_aggregate_id
from ledger.model.policies import react, reactions_to
from ledger.model.port import CommandPort
from ledger.model.registry import Draft, spec_for
from ledger.model.service import BALANCE_CHANGES, Record, ServiceAccount, service_account_id

NUMBER = "VABCDEFGHIJKLM"
RECORD = f"{NUMBER}-R1"
TREE = {"city": None, "district": "city", "team-a": "district", "team-b": "district"}


class FakeDirectory:
    """The organisation tree, and nothing else a record's review needs."""

    ledger = None
    keys: ClassVar[dict[str, Any]] = {}
    reference: Any = None

    def ancestors(self, org_id: str) -> list[str]:
        found, parent = [], TREE[org_id]
        while parent is not None:
            found.append(parent)
            parent = TREE[parent]
        return found

    def is_at_or_above(self, upper: str, org_id: str) -> bool:
        return upper == org_id or upper in self.ancestors(org_id)

    def require_ledger(self) -> Any:
        raise NotFoundError("no ledger in a fake directory")

    def organisation(self, org_id: str) -> Any:
        return TREE[org_id]

    def active_keys(self, org_id: str, purpose: str = "signing") -> list[Any]:
        return []


class FakePort:
    """Holds states by aggregate id; records what the rule scheduled."""

    def __init__(self, org: str, states: list[AggregateState]) -> None:
        self.org, self.occurred_at = org, "2026-12-04T09:00:00Z"
        self.drafts: list[Draft] = []
        self.directory = FakeDirectory()
        self.states = {s.aggregate_id: s for s in states}
        self.scheduled: list[object] = []

    def state(self, cls: type[Any], aggregate_id: UUID) -> Any:
        return self.states.setdefault(aggregate_id, cls(aggregate_id=aggregate_id))

    def existing(self, cls: type[Any], aggregate_id: UUID, what: str) -> Any:
        state = self.state(cls, aggregate_id)
        if not state.exists:
            raise NotFoundError(f"{what} is not in this ledger")
        return state

    def after(self, key: object, finaliser: Callable[[CommandPort], None]) -> None:
        self.scheduled.append(key)

    def emit(self, event_type: str, aggregate_id: UUID, data: Any, **_: Any) -> Draft:
        raise AssertionError("a rule never stages events itself")


def _port(org: str, *, minutes: int = 120, status: str = "recorded") -> FakePort:
    volunteer = Volunteer(volunteer_aggregate_id(NUMBER), version=1, number=NUMBER)
    account = ServiceAccount(service_account_id(NUMBER), version=1, number=NUMBER)
    account.records[RECORD] = Record(
        RECORD, "act-1", "team-a", "education", "2026-12-01", minutes, late=False, status=status
    )
    port: CommandPort = FakePort(org, [volunteer, account])
    assert isinstance(port, FakePort)
    return port


def _check(port: FakePort, event_type: str, data: dict[str, Any]) -> None:
    spec = spec_for(event_type)
    draft = Draft(event_type, port.org, service_account_id(NUMBER), 2, data, port.occurred_at)
    spec.check(port, draft, spec.parse(data))


def _approval(minutes: int, reason: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"record_id": RECORD, "number": NUMBER, "approved_minutes": minutes}
    if reason is not None:
        data["reason"] = reason
    return data


@pytest.mark.parametrize("reviewer", ["team-a", "district", "city"])
def test_the_recording_organisation_or_one_above_it_approves(reviewer: str) -> None:
    port = _port(reviewer)
    _check(port, "RecordApproved", _approval(120))
    assert port.scheduled == [], "the rule scheduled a reaction itself"


def test_a_sibling_organisation_may_not_approve() -> None:
    with pytest.raises(KeyNotAuthorisedError, match="reviewed by 'team-a'"):
        _check(_port("team-b"), "RecordApproved", _approval(120))


@given(recorded=st.integers(1, 24 * 60), approved=st.integers(1, 24 * 60))
def test_approval_never_exceeds_the_recorded_minutes(recorded: int, approved: int) -> None:
    port = _port("team-a", minutes=recorded)
    data = _approval(approved, reason="part of the time" if approved < recorded else None)
    if approved > recorded:
        with pytest.raises(RuleViolationError, match="cannot approve more"):
            _check(port, "RecordApproved", data)
    else:
        _check(port, "RecordApproved", data)


def test_fewer_minutes_need_a_reason_and_a_reviewed_record_is_not_reviewed_again() -> None:
    with pytest.raises(RuleViolationError, match="needs a reason"):
        _check(_port("team-a"), "RecordApproved", _approval(60))
    with pytest.raises(RuleViolationError, match="not awaiting review"):
        _check(_port("team-a", status="approved"), "RecordApproved", _approval(120))


def test_an_unknown_record_is_not_found() -> None:
    data = _approval(120) | {"record_id": f"{NUMBER}-R9"}
    with pytest.raises(NotFoundError, match="-R9 is not"):
        _check(_port("team-a"), "RecordApproved", data)


def test_stars_then_credit_react_to_every_change_of_balance() -> None:
    for event_type in BALANCE_CHANGES:
        names = [r.__name__ for r in reactions_to(event_type)]
        assert names == ["stars_follow_the_balance", "credit_follows_the_balance"]
    port = _port("team-a")
    spec = spec_for("RecordApproved")
    data = spec.parse(_approval(120))
    draft = Draft("RecordApproved", "team-a", service_account_id(NUMBER), 2, {}, port.occurred_at)
    react(port, draft, data)
    assert port.scheduled == [("stars", NUMBER), ("credit", RECORD)]


def test_events_that_change_no_balance_have_no_reactions() -> None:
    for event_type in ("HoursRecorded", "RecordRejected", "VolunteerRegistered"):
        assert reactions_to(event_type) == []
