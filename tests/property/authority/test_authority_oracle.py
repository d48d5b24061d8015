"""The authority oracle: every organisation tries every volunteer-side command and private read
on every volunteer, in random order, and each answer is checked against the authority table of
docs/authority.md, written here again as data. A refusal stores nothing.

The tree has organisations in different branches and their ancestors::

    city (root)
    ├── north ── north-team
    └── south ── south-station
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test
from postgres_testing import drop_schema, new_schema

from ledger import (
    AgreementMissingError,
    ConsentMissingError,
    KeyNotAuthorisedError,
    Ledger,
    LedgerError,
    MemoryKeystore,
    RuleViolationError,
)

PARENT: dict[str, str | None] = {
    "city": None,
    "north": "city",
    "north-team": "north",
    "south": "city",
    "south-station": "south",
}
ORGS = sorted(PARENT)
RIGHTS = ("membership", "consent", "personal-data", "credit")
BANK = "bank"
SHARE = "share-personal-data"

# The table: who may act, relative to the volunteer, and which right of an agreement from the
# home organisation lets anyone else do it. "home" = the home organisation itself,
# "home-or-above" = it or an ancestor of it, "not-home" = any other organisation,
# "home-or-holder" = the home organisation or the organisation holding the agreement.
AUTHORITY: dict[str, tuple[str, str | None]] = {
    "register_volunteer": ("anyone", None),
    "give_consent": ("home", "consent"),
    "join": ("home", "membership"),
    "personal_data_of": ("home-or-above", "personal-data"),
    "move_volunteer_credit": ("home", "credit"),
    "request_transfer": ("home", None),
    "request_agreement": ("not-home", None),
    "grant_agreement": ("home", None),
    "withdraw_agreement": ("home-or-holder", None),
    "register_organisation": ("anyone but a station", None),
}


def ancestors(org: str) -> list[str]:
    chain, parent = [], PARENT[org]
    while parent is not None:
        chain.append(parent)
        parent = PARENT[parent]
    return chain


@dataclass
class Agreement:
    org: str
    rights: tuple[str, ...]
    status: str = "requested"


@dataclass
class Person:
    home: str
    members: set[str]
    consents: dict[str, bool] = field(default_factory=dict)
    agreements: dict[str, Agreement] = field(default_factory=dict)
    transfers: dict[str, list[str]] = field(default_factory=dict)  # id -> [from, to, status]

    def holds(self, org: str, right: str) -> bool:
        return any(
            a.org == org and a.status == "granted" and right in a.rights
            for a in self.agreements.values()
        )


def allowed(action: str, org: str, person: Person, holder: str | None = None) -> bool:
    """What the table says, before any rule that is not about authority."""
    who, right = AUTHORITY[action]
    if who == "anyone":
        return True
    if who == "home":
        by_position = org == person.home
    elif who == "home-or-above":
        by_position = org == person.home or org in ancestors(person.home)
    elif who == "not-home":
        by_position = org != person.home
    elif who == "home-or-holder":
        by_position = org in (person.home, holder)
    else:
        raise AssertionError(who)
    return by_position or (right is not None and person.holds(org, right))


WHO = st.sampled_from(ORGS)
PICK = st.integers(0, 50)


class AuthorityOracle(RuleBasedStateMachine):
    url_factory: Callable[[], tuple[str, Callable[[], None]]]

    def __init__(self) -> None:
        super().__init__()
        self.url, self._drop = type(self).url_factory()
        self.ledger = Ledger(self.url, keystore=MemoryKeystore())
        self.people: dict[str, Person] = {}
        self.counter = 0
        self._build()

    def _build(self) -> None:
        ledger = self.ledger
        ledger.create(
            name="Oracle city",
            root_org_id="city",
            root_name="Oracle City Federation",
            region="140400",
            origin="oracle.test.example/log",
        )
        for org in ORGS:
            parent = PARENT[org]
            if parent is None:
                continue
            ledger.register_organisation(
                parent,
                org_id=org,
                name=f"Org {org}",
                kind="station" if org.endswith("station") else "organisation",
                region="140402",
                idempotency_key=f"org-{org}",
            )
            ledger.new_key(parent, for_org=org, idempotency_key=f"key-{org}")
        ledger.new_key("city", for_org="city", idempotency_key="auto", purpose="automatic-awards")
        ledger.open_time_bank("city", bank_id=BANK, idempotency_key="bank")

    def teardown(self) -> None:
        self.ledger.close()
        self._drop()

    def key(self) -> str:
        self.counter += 1
        return f"oracle-{self.counter}"

    def stored(self) -> tuple[int, int]:
        return self.ledger.log_size(), len(self.ledger._recorder.select_notifications(1, 10**9))

    def attempt(self, call: Callable[[], Any], refusal: type[LedgerError] | None) -> Any:
        """Run ``call``; it must be refused with ``refusal`` (storing nothing), or succeed."""
        before = self.stored()
        if refusal is None:
            return call()
        with pytest.raises(LedgerError) as caught:
            call()
        assert isinstance(caught.value, refusal), (refusal, caught.value)
        assert self.stored() == before, "a refused command stored something"
        return None

    # People and agreements are picked in the order they were made, never sorted: their
    # numbers and ids are random, and an index must pick the same one in every run, or
    # Hypothesis cannot replay a case.
    def person(self, pick: int) -> tuple[str, Person]:
        number = list(self.people)[pick % len(self.people)]
        return number, self.people[number]

    def has_people(self) -> bool:
        return bool(self.people)

    @rule(org=WHO)
    def register_volunteer(self, org: str) -> None:
        result = self.ledger.register_volunteer(
            org, idempotency_key=self.key(), personal={"name": "志愿者"}
        )
        self.people[str(result.value.number)] = Person(home=org, members={org})

    @rule(org=WHO)
    def register_organisation(self, org: str) -> None:
        refusal = RuleViolationError if org.endswith("station") else None
        self.attempt(
            lambda: self.ledger.register_organisation(
                org,
                org_id="x" + uuid.uuid4().hex[:10],
                name="New",
                kind="team",
                region="140402",
                idempotency_key=self.key(),
            ),
            refusal,
        )

    @precondition(has_people)
    @rule(org=WHO, pick=PICK, purpose=st.sampled_from([SHARE, "photos"]), give=st.booleans())
    def give_consent(self, org: str, pick: int, purpose: str, give: bool) -> None:
        number, person = self.person(pick)
        ok = allowed("give_consent", org, person)
        command = self.ledger.give_consent if give else self.ledger.withdraw_consent
        self.attempt(
            lambda: command(org, number=number, purpose=purpose, idempotency_key=self.key()),
            None if ok else AgreementMissingError,
        )
        if ok:
            person.consents[purpose] = give

    @precondition(has_people)
    @rule(org=WHO, pick=PICK)
    def join(self, org: str, pick: int) -> None:
        number, person = self.person(pick)
        refusal: type[LedgerError] | None = None
        if org in person.members:
            refusal = RuleViolationError
        elif not allowed("join", org, person):
            refusal = AgreementMissingError
        self.attempt(
            lambda: self.ledger.join(org, number=number, idempotency_key=self.key()), refusal
        )
        if refusal is None:
            person.members.add(org)

    @precondition(has_people)
    @rule(org=WHO, pick=PICK)
    def leave(self, org: str, pick: int) -> None:
        number, person = self.person(pick)
        refusal: type[LedgerError] | None = None
        if org not in person.members:
            refusal = KeyNotAuthorisedError
        elif org == person.home:
            refusal = RuleViolationError
        self.attempt(
            lambda: self.ledger.leave(org, number=number, idempotency_key=self.key()), refusal
        )
        if refusal is None:
            person.members.discard(org)

    @precondition(has_people)
    @rule(org=WHO, pick=PICK)
    def read_personal_data(self, org: str, pick: int) -> None:
        number, person = self.person(pick)
        refusal: type[LedgerError] | None = None
        if not allowed("personal_data_of", org, person):
            refusal = AgreementMissingError
        elif not person.consents.get(SHARE):
            refusal = ConsentMissingError
        found = self.attempt(lambda: self.ledger.personal_data_of(org, number), refusal)
        if refusal is None:
            assert found == {"name": "志愿者"}

    @precondition(has_people)
    @rule(org=WHO, pick=PICK)
    def move_credit(self, org: str, pick: int) -> None:
        """The account holds nothing: an allowed move is refused for the balance, after the
        authority check; a forbidden one for the missing agreement."""
        number, person = self.person(pick)
        ok = allowed("move_volunteer_credit", org, person)
        self.attempt(
            lambda: self.ledger.transfer_credit(
                org,
                bank_id=BANK,
                from_account=f"{BANK}:vol:{number}",
                to_account=f"{BANK}:org:{org}",
                amount=1,
                idempotency_key=self.key(),
            ),
            RuleViolationError if ok else AgreementMissingError,
        )

    @precondition(has_people)
    @rule(org=WHO, pick=PICK, rights=st.sets(st.sampled_from(RIGHTS), min_size=1))
    def request_agreement(self, org: str, pick: int, rights: set[str]) -> None:
        number, person = self.person(pick)
        ok = allowed("request_agreement", org, person)
        asked = self.attempt(
            lambda: self.ledger.request_agreement(
                org, number=number, rights=sorted(rights), idempotency_key=self.key()
            ),
            None if ok else RuleViolationError,
        )
        if ok:
            person.agreements[asked.value.agreement_id] = Agreement(org, tuple(sorted(rights)))

    def has_agreements(self) -> bool:
        return any(p.agreements for p in self.people.values())

    def agreement(self, pick: int) -> tuple[str, Person, str, Agreement]:
        numbers = [n for n, p in self.people.items() if p.agreements]
        number = numbers[pick % len(numbers)]
        person = self.people[number]
        agreement_id = list(person.agreements)[pick % len(person.agreements)]
        return number, person, agreement_id, person.agreements[agreement_id]

    @precondition(has_agreements)
    @rule(org=WHO, pick=PICK)
    def grant_agreement(self, org: str, pick: int) -> None:
        number, person, agreement_id, agreement = self.agreement(pick)
        refusal: type[LedgerError] | None = None
        if not allowed("grant_agreement", org, person):
            refusal = KeyNotAuthorisedError
        elif agreement.status != "requested":
            refusal = RuleViolationError
        self.attempt(
            lambda: self.ledger.grant_agreement(
                org, number=number, agreement_id=agreement_id, idempotency_key=self.key()
            ),
            refusal,
        )
        if refusal is None:
            agreement.status = "granted"

    @precondition(has_agreements)
    @rule(org=WHO, pick=PICK)
    def withdraw_agreement(self, org: str, pick: int) -> None:
        number, person, agreement_id, agreement = self.agreement(pick)
        refusal: type[LedgerError] | None = None
        if not allowed("withdraw_agreement", org, person, holder=agreement.org):
            refusal = KeyNotAuthorisedError
        elif agreement.status != "granted":
            refusal = RuleViolationError
        self.attempt(
            lambda: self.ledger.withdraw_agreement(
                org,
                number=number,
                agreement_id=agreement_id,
                reason="oracle",
                idempotency_key=self.key(),
            ),
            refusal,
        )
        if refusal is None:
            agreement.status = "withdrawn"

    @precondition(has_people)
    @rule(org=WHO, pick=PICK, to=WHO, accept=st.booleans())
    def transfer(self, org: str, pick: int, to: str, accept: bool) -> None:
        number, person = self.person(pick)
        refusal: type[LedgerError] | None = None
        if not allowed("request_transfer", org, person):
            refusal = KeyNotAuthorisedError
        elif to in person.members or any(
            t == to and s == "requested" for _, t, s in person.transfers.values()
        ):
            refusal = RuleViolationError
        asked = self.attempt(
            lambda: self.ledger.request_transfer(
                org, number=number, to_org=to, idempotency_key=self.key()
            ),
            refusal,
        )
        if asked is None:
            return
        transfer_id = str(asked.value.transfer_id)
        person.transfers[transfer_id] = [org, to, "requested"]
        if not accept:
            return
        # only the receiving organisation answers
        for other in ORGS:
            if other != to:
                self.attempt(
                    lambda other=other: self.ledger.accept_transfer(  # type: ignore[misc]
                        other, number=number, transfer_id=transfer_id, idempotency_key=self.key()
                    ),
                    KeyNotAuthorisedError,
                )
        self.ledger.accept_transfer(
            to, number=number, transfer_id=transfer_id, idempotency_key=self.key()
        )
        person.transfers[transfer_id][2] = "accepted"
        person.members.discard(org)
        person.members.add(to)
        if org == person.home:
            person.home = to

    def check_state(self) -> None:
        for number, person in self.people.items():
            found = self.ledger.volunteer(number)
            assert found["home"] == person.home
            assert set(found["members_of"]) == person.members
            assert person.home in person.members


def _settings() -> settings:
    return settings(
        max_examples=int(os.environ.get("LEDGER_ORACLE_EXAMPLES", "6")),
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def _sqlite_store() -> tuple[str, Callable[[], None]]:
    directory = tempfile.mkdtemp(prefix="authority-oracle-")
    return f"sqlite:///{directory}/ledger.db", lambda: None


def _postgres_store() -> tuple[str, Callable[[], None]]:
    url = new_schema("oracle_")
    return url, lambda: drop_schema(url)


class _Checked(AuthorityOracle):
    @rule()
    def state_matches(self) -> None:
        self.check_state()


def test_the_authority_table_holds_on_sqlite() -> None:
    machine = type("SqliteOracle", (_Checked,), {"url_factory": staticmethod(_sqlite_store)})
    run_state_machine_as_test(machine, settings=_settings())


@pytest.mark.postgres
def test_the_authority_table_holds_on_postgresql(postgres_schema: str) -> None:
    """(``postgres_schema`` skips or fails, as for every PostgreSQL test, when no server
    answers; each example then works in a schema of its own.)"""
    machine = type("PostgresOracle", (_Checked,), {"url_factory": staticmethod(_postgres_store)})
    run_state_machine_as_test(machine, settings=_settings())
