"""Replaying the events of any generated history rebuilds the state a simple model predicts,
including retries with the same idempotency key and commands the rules refuse."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from core_property_support import ORGS, open_city
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import (
    CommandResult,
    IdempotencyConflictError,
    KeyNotAuthorisedError,
    Ledger,
    LedgerError,
    MemoryKeystore,
    NotFoundError,
    RuleViolationError,
)

UNKNOWN_NUMBER = "VAAAAAAAAAAAAA"
UNKNOWN_TRANSFER = "00000000-0000-4000-8000-000000000000"
PURPOSES = ("certificate-name", "public-listing")
VOLUNTEER_EVENTS = {
    "VolunteerRegistered",
    "ConsentGiven",
    "ConsentWithdrawn",
    "MembershipJoined",
    "MembershipLeft",
    "TransferRequested",
    "TransferAccepted",
    "TransferDeclined",
    "AgreementRequested",
    "AgreementGranted",
}

# An acting organisation: 0-2 name one of ORGS outright; 3-5 mean "the one the rules would
# accept" (the home organisation for consent/request, another member for leave, a non-member
# for join or an agreement, the receiving organisation for an answer), so that generated
# histories get past the refusals often.
WHO = st.integers(0, 5)
# A volunteer: an index into those registered so far; 9 means a number nobody registered.
VOL = st.integers(0, 9)
REGISTER = st.tuples(st.just("register"), st.integers(0, len(ORGS) - 1))
OPERATION = st.one_of(
    REGISTER,
    st.tuples(st.just("join"), WHO, VOL),
    st.tuples(st.just("agree"), WHO, VOL),
    st.tuples(st.just("leave"), WHO, VOL),
    st.tuples(st.just("consent"), WHO, VOL, st.sampled_from(PURPOSES), st.booleans()),
    st.tuples(st.just("request"), WHO, VOL, WHO),
    st.tuples(st.just("request"), WHO, VOL, WHO),
    st.tuples(st.just("answer"), WHO, VOL, st.integers(0, 3), st.booleans()),
    st.tuples(st.just("answer"), WHO, VOL, st.integers(0, 3), st.booleans()),
    st.tuples(st.just("retry"), st.integers(0, 100)),
    st.tuples(st.just("conflict"), st.integers(0, 100)),
)
HISTORY = st.tuples(
    st.lists(REGISTER, min_size=1, max_size=3), st.lists(OPERATION, min_size=8, max_size=30)
).map(lambda parts: parts[0] + parts[1])


def pick(who: int, preferred: list[str]) -> str:
    """ORGS[who] for 0-2; otherwise one of ``preferred`` (or any organisation if none)."""
    if who < len(ORGS) or not preferred:
        return ORGS[who % len(ORGS)]
    return sorted(preferred)[who % len(preferred)]


@dataclass
class Person:
    """What the model knows about one volunteer."""

    registered_by: str
    members: set[str]
    home: str = ""
    agreed: set[str] = field(default_factory=set)  # granted membership and consent
    consents: dict[str, bool] = field(default_factory=dict)
    transfers: dict[str, list[str]] = field(default_factory=dict)  # id -> [from, to, status]
    version: int = 1

    def as_read(self) -> dict[str, Any]:
        return {
            "registered_by": self.registered_by,
            "home": self.home,
            "members_of": sorted(self.members),
            "consents": dict(sorted(self.consents.items())),
            "transfers": {
                tid: {"from_org": f, "to_org": t, "status": s}
                for tid, (f, t, s) in self.transfers.items()
            },
            "version": self.version,
        }


@dataclass
class Success:
    org: str
    key: str
    call: Callable[[], CommandResult]
    result: CommandResult


class History:
    """Runs operations against a ledger and the model side by side."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.people: dict[str, Person] = {}
        self.numbers: list[str] = []
        self.successes: list[Success] = []
        self.expected_size = ledger.log_size()

    def number(self, index: int) -> str:
        if index == 9 or not self.numbers:
            return UNKNOWN_NUMBER
        return self.numbers[index % len(self.numbers)]

    def members(self, number: str) -> list[str]:
        person = self.people.get(number)
        return sorted(person.members) if person else []

    def run(
        self,
        org: str,
        key: str,
        call: Callable[[], CommandResult],
        refusal: type[LedgerError] | None,
    ) -> CommandResult | None:
        size = self.ledger.log_size()
        if refusal is not None:
            with pytest.raises(refusal):
                call()
            assert self.ledger.log_size() == size, "a refused command stored something"
            return None
        result = call()
        assert not result.replayed
        assert len(result.events) == 1
        assert self.ledger.log_size() == size + 1
        self.expected_size += 1
        self.successes.append(Success(org, key, call, result))
        return result

    def agree(self, key: str, op: tuple[Any, ...]) -> None:
        """Another organisation asks for membership and consent; the home organisation grants."""
        number = self.number(op[2])
        person = self.people.get(number)
        org = pick(op[1], [o for o in ORGS if person and o != person.home])
        refusal: type[LedgerError] | None = None
        if person is None:
            refusal = NotFoundError
        elif org == person.home:
            refusal = RuleViolationError
        asked = self.run(
            org,
            key,
            lambda: self.ledger.request_agreement(
                org, number=number, rights=["membership", "consent"], idempotency_key=key
            ),
            refusal,
        )
        if asked is None:
            return
        assert person is not None
        person.version += 1
        agreement_id = str(asked.value.agreement_id)
        home = person.home
        self.run(
            home,
            key + "-grant",
            lambda: self.ledger.grant_agreement(
                home, number=number, agreement_id=agreement_id, idempotency_key=key + "-grant"
            ),
            None,
        )
        person.version += 1
        person.agreed.add(org)

    def step(self, index: int, op: tuple[Any, ...]) -> None:
        ledger, key = self.ledger, f"op-{index}"
        kind = op[0]
        if kind == "register":
            org = ORGS[op[1]]
            result = self.run(
                org, key, lambda: ledger.register_volunteer(org, idempotency_key=key), None
            )
            assert result is not None
            number = str(result.value.number)
            assert number not in self.people
            self.people[number] = Person(registered_by=org, members={org}, home=org)
            self.numbers.append(number)
        elif kind == "agree":
            self.agree(key, op)
        elif kind in ("join", "leave"):
            number = self.number(op[2])
            members = self.members(number)
            person = self.people.get(number)
            home = person.home if person else ""
            others = [o for o in ORGS if o not in members] if kind == "join" else members
            org = pick(op[1], [o for o in others if o != home])
            refusal: type[LedgerError] | None = None
            if person is None:
                refusal = NotFoundError
            elif kind == "join" and org in person.members:
                refusal = RuleViolationError
            elif kind == "join" and org not in person.agreed:
                refusal = KeyNotAuthorisedError  # no agreement from the home organisation
            elif kind == "leave" and org not in person.members:
                refusal = KeyNotAuthorisedError
            elif kind == "leave" and org == person.home:
                refusal = RuleViolationError
            command = ledger.join if kind == "join" else ledger.leave
            if self.run(
                org, key, lambda: command(org, number=number, idempotency_key=key), refusal
            ):
                assert person is not None
                (person.members.add if kind == "join" else person.members.discard)(org)
                person.version += 1
        elif kind == "consent":
            number, purpose, give = self.number(op[2]), op[3], op[4]
            person = self.people.get(number)
            org = pick(op[1], [person.home, *person.agreed] if person else [])
            refusal = None
            if person is None:
                refusal = NotFoundError
            elif org != person.home and org not in person.agreed:
                refusal = KeyNotAuthorisedError
            command = ledger.give_consent if give else ledger.withdraw_consent
            if self.run(
                org,
                key,
                lambda: command(org, number=number, purpose=purpose, idempotency_key=key),
                refusal,
            ):
                assert person is not None
                person.consents[purpose] = give
                person.version += 1
        elif kind == "request":
            number = self.number(op[2])
            members = self.members(number)
            person = self.people.get(number)
            org = pick(op[1], [person.home] if person else [])
            to_org = pick(op[3], [o for o in ORGS if o not in members])
            refusal = None
            if person is None:
                refusal = NotFoundError
            elif org != person.home:
                refusal = KeyNotAuthorisedError
            elif to_org in person.members or any(
                f == person.home and t == to_org and s == "requested"
                for f, t, s in person.transfers.values()
            ):
                refusal = RuleViolationError  # already a member, or the home's request waits
            result = self.run(
                org,
                key,
                lambda: ledger.request_transfer(
                    org, number=number, to_org=to_org, idempotency_key=key
                ),
                refusal,
            )
            if result is not None:
                assert person is not None
                person.transfers[str(result.value.transfer_id)] = [org, to_org, "requested"]
                person.version += 1
        elif kind == "answer":
            with_transfers = [n for n in self.numbers if self.people[n].transfers]
            number = (
                with_transfers[op[2] % len(with_transfers)]
                if op[2] != 9 and with_transfers
                else self.number(op[2])
            )
            choice, accept = op[3], op[4]
            person = self.people.get(number)
            ids = list(person.transfers) if person else []
            # 3 names a transfer that does not exist; 0-2 pick one of the volunteer's.
            transfer_id = UNKNOWN_TRANSFER if choice == 3 or not ids else ids[choice % len(ids)]
            receiver = person.transfers[transfer_id][1] if person and transfer_id in ids else None
            org = pick(op[1], [receiver] if receiver else [])
            refusal = None
            if person is None or transfer_id not in person.transfers:
                refusal = NotFoundError
            elif person.transfers[transfer_id][1] != org:
                refusal = KeyNotAuthorisedError
            elif person.transfers[transfer_id][2] != "requested":
                refusal = RuleViolationError
            elif accept and person.transfers[transfer_id][0] != person.home:
                refusal = KeyNotAuthorisedError  # asked by a former home: only declined now

            def answer() -> CommandResult:
                if accept:
                    return ledger.accept_transfer(
                        org, number=number, transfer_id=transfer_id, idempotency_key=key
                    )
                return ledger.decline_transfer(
                    org,
                    number=number,
                    transfer_id=transfer_id,
                    reason="no room",
                    idempotency_key=key,
                )

            if self.run(org, key, answer, refusal):
                assert person is not None
                transfer = person.transfers[transfer_id]
                transfer[2] = "accepted" if accept else "declined"
                if accept:
                    person.members.discard(transfer[0])
                    person.members.add(transfer[1])
                    if transfer[0] == person.home:
                        person.home = transfer[1]
                person.version += 1
        elif kind == "retry" and self.successes:
            earlier = self.successes[op[1] % len(self.successes)]
            size = ledger.log_size()
            again = earlier.call()
            assert again.replayed
            assert again.events == earlier.result.events
            assert again.value == earlier.result.value
            assert ledger.log_size() == size
        elif kind == "conflict" and self.successes:
            earlier = self.successes[op[1] % len(self.successes)]
            size = ledger.log_size()
            with pytest.raises(IdempotencyConflictError):
                ledger.give_consent(
                    earlier.org,
                    number=self.number(index),
                    purpose="zz-conflict",
                    idempotency_key=earlier.key,
                )
            assert ledger.log_size() == size


def independent_fold(ledger: Ledger) -> dict[str, dict[str, Any]]:
    """Rebuild every volunteer from the verified log, without the project's projections."""
    people: dict[str, Person] = {}
    for leaf in range(ledger.log_size()):
        event = ledger.event_at(leaf)
        kind, org, data = event.type, event.org, event.data
        if kind not in VOLUNTEER_EVENTS:
            continue
        if kind == "VolunteerRegistered":
            people[data["number"]] = Person(registered_by=org, members={org}, home=org)
            continue
        person = people[data["number"]]
        person.version += 1
        if kind == "MembershipJoined":
            person.members.add(data["org_id"])
        elif kind == "MembershipLeft":
            person.members.discard(data["org_id"])
        elif kind in ("ConsentGiven", "ConsentWithdrawn"):
            person.consents[data["purpose"]] = kind == "ConsentGiven"
        elif kind in ("AgreementRequested", "AgreementGranted"):
            continue
        elif kind == "TransferRequested":
            person.transfers[data["transfer_id"]] = [data["from_org"], data["to_org"], "requested"]
        else:
            transfer = person.transfers[data["transfer_id"]]
            transfer[2] = "accepted" if kind == "TransferAccepted" else "declined"
            if kind == "TransferAccepted":
                person.members.discard(transfer[0])
                person.members.add(transfer[1])
                if transfer[0] == person.home:
                    person.home = transfer[1]
    return {number: person.as_read() for number, person in people.items()}


def read_back(ledger: Ledger, number: str) -> dict[str, Any]:
    found = ledger.volunteer(number)
    return {key: found[key] for key in Person("", set()).as_read()}


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(HISTORY)
def test_replaying_any_history_rebuilds_the_state_the_model_predicts(
    history: list[tuple[Any, ...]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'ledger.db'}"
        keystore = MemoryKeystore()
        ledger = open_city(url, keystore)
        try:
            run = History(ledger)
            for index, op in enumerate(history):
                run.step(index, op)
            expected = {number: person.as_read() for number, person in run.people.items()}
            assert ledger.log_size() == run.expected_size
            for number in run.numbers:
                assert read_back(ledger, number) == expected[number]
        finally:
            ledger.close()
        # A fresh process, holding no private keys, replays the log from the start.
        with Ledger(url, keystore=MemoryKeystore()) as replayer:
            assert replayer.log_size() == run.expected_size
            assert independent_fold(replayer) == expected
            for number in run.numbers:
                assert read_back(replayer, number) == expected[number]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HISTORY)
def test_the_same_history_in_memory_agrees_with_the_model(history: list[tuple[Any, ...]]) -> None:
    with open_city("memory://") as ledger:
        run = History(ledger)
        for index, op in enumerate(history):
            run.step(index, op)
        expected = {number: person.as_read() for number, person in run.people.items()}
        assert independent_fold(ledger) == expected
        for number in run.numbers:
            assert read_back(ledger, number) == expected[number]
