"""Random command sequences against the ledger's domain workflows, with the invariants that
must hold after every step.

The machine keeps its own model of the records (minutes, status, approvals, corrections), of who
holds a key, and of the transfers made; it predicts whether each command is accepted, and checks
after every step that:

- time-bank accounts sum to zero: every real account's balance adds up to the credit minted less
  the credit taken back, which the implicit issuing account balances; no account is below zero;
- a volunteer's approved minutes are the sum of their approved records plus corrections, voided
  records counting for nothing (computed from the model, not from the ledger);
- the star events issued match the thresholds crossed: the level in state is the level the
  minutes reach, and attained minus withdrawn events per volunteer give that level;
- replaying the events in a fresh ``Ledger`` on the same SQLite file (no private keys, a trust
  directory rebuilt from the log) gives the same state; and every event is in the log;
- a volunteer's reads, which come from the cached verified states, answer as a state rebuilt
  from the account's first event does: the account itself, and each record's events.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from ledger_testing import replayed

from ledger import (
    CommandResult,
    IdempotencyConflictError,
    InvalidInputError,
    KeyNotAuthorisedError,
    Ledger,
    LedgerError,
    MemoryKeystore,
    RuleViolationError,
)
from ledger.commands.queries import RECORD_TYPES
from ledger.model.awards import star_level
from ledger.model.service import ServiceAccount, service_account_id

THRESHOLDS_HOURS = [1, 2, 4]
CAP = 600
BANK = "bank"
DAILY_LIMIT = 24 * 60
SPAN_MINUTES = 10 * 60  # every activity of the machine lasts ten hours
PARENT: dict[str, str | None] = {
    "city": None,
    "org-a": "city",
    "org-b": "city",
    "station-a1": "org-a",
}
ACTORS = ("city", "org-a", "org-b", "station-a1")
ROTATABLE = ("org-a", "org-b")
START = datetime(2025, 3, 3, 9, tzinfo=UTC)  # a Monday
CREDIT_TYPES = ("CreditEarned", "CreditClawedBack", "CreditSent", "CreditReceived")
pick = st.integers(min_value=0, max_value=10**6)
anyone = st.sampled_from(ACTORS)


def chain(org: str) -> list[str]:
    """The organisation and every one above it."""
    found: list[str] = []
    current: str | None = org
    while current is not None:
        found.append(current)
        current = PARENT[current]
    return found


def at_or_above(upper: str, org: str) -> bool:
    current: str | None = org
    while current is not None:
        if current == upper:
            return True
        current = PARENT[current]
    return False


@dataclass
class Activity:
    activity_id: str
    org: str
    day: str
    allow_repeats: bool
    max_minutes: int | None


@dataclass
class Record:
    record_id: str
    number: str
    activity: Activity
    minutes: int
    status: str = "recorded"
    approved: int = 0
    corrections: list[int] = field(default_factory=list)

    @property
    def credited(self) -> int:
        return self.approved + sum(self.corrections) if self.status == "approved" else 0

    @property
    def day_minutes(self) -> int:
        return self.minutes if self.status == "recorded" else self.credited


@dataclass
class Transfer:
    transfer_id: str
    source: str
    target: str
    amount: int
    reversed: bool = False


@dataclass
class Done:
    """A stored command, to be retried with the same idempotency key."""

    org: str
    call: Callable[..., CommandResult]
    kwargs: dict[str, Any]
    result: CommandResult


class Refused(Exception):
    """The model's prediction: the command must be refused with ``error``."""

    def __init__(self, error: type[LedgerError]) -> None:
        super().__init__(error.__name__)
        self.error = error


class DomainMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="domain-machine-")
        self.url = f"sqlite:///{self.directory}/ledger.db"
        self.ledger = Ledger(self.url, keystore=MemoryKeystore())
        self.counter = 0
        self.records: dict[str, Record] = {}
        self.transfers: list[Transfer] = []
        self.done: list[Done] = []
        self.keyless: set[str] = set()
        self.reader: Ledger | None = None
        self.checks = 0
        self._build()

    # setting up

    def key(self, what: str) -> str:
        self.counter += 1
        return f"{what}-{self.counter}"

    def _build(self) -> None:
        ledger = self.ledger
        ledger.create(
            name="Machine city",
            root_org_id="city",
            root_name="Machine City Federation",
            region="140400",
            origin="machine.test.example/log",
        )
        for org, parent in PARENT.items():
            if parent is None:
                continue
            ledger.register_organisation(
                parent,
                org_id=org,
                name=f"Org {org}",
                kind="station" if org.startswith("station") else "organisation",
                region="140402",
                idempotency_key=f"org-{org}",
            )
            ledger.new_key(parent, for_org=org, idempotency_key=f"key-{org}")
        ledger.new_key("city", for_org="city", idempotency_key="auto", purpose="automatic-awards")
        ledger.publish_star_scheme(
            "city",
            scheme_id="stars",
            name="Machine stars",
            thresholds_hours=THRESHOLDS_HOURS,
            idempotency_key="scheme",
        )
        ledger.open_time_bank(
            "city",
            bank_id=BANK,
            cap_minutes=CAP,
            surplus_account=f"{BANK}:org:city",
            idempotency_key="bank",
        )
        self.members: dict[str, str] = {}
        for i, home in enumerate(("org-a", "org-a", "org-b")):
            number = ledger.register_volunteer(home, idempotency_key=f"vol-{i}").value.number
            self.members[str(number)] = home
        # In the order registered, not sorted: the numbers are random, and a rule's index must
        # pick a volunteer of the same home in every run, or Hypothesis cannot replay a case.
        self.numbers = list(self.members)
        self.activities: list[Activity] = []
        organisers = ("org-a", "org-a", "org-a", "org-b", "org-b", "station-a1", "station-a1")
        for i, org in enumerate(organisers):
            day = START + timedelta(days=i % 4)
            allow_repeats, max_minutes = i % 3 != 0, (240 if i == 5 else None)
            result = ledger.publish_activity(
                org,
                title=f"Activity {i}",
                field="community-governance",
                place="Square",
                starts_at=day,
                ends_at=day + timedelta(minutes=SPAN_MINUTES),
                leader="team-lead",
                content="Helping out",
                allow_repeats=allow_repeats,
                max_minutes=max_minutes,
                idempotency_key=f"activity-{i}",
            )
            self.activities.append(
                Activity(
                    str(result.value.activity_id),
                    org,
                    day.date().isoformat(),
                    allow_repeats,
                    max_minutes,
                )
            )
        self.accounts = [f"{BANK}:vol:{n}" for n in self.numbers] + [
            f"{BANK}:org:{org}" for org in ACTORS
        ]

    def teardown(self) -> None:
        self.ledger.close()
        if self.reader is not None:
            self.reader.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    # running a command against the model's prediction

    def attempt(
        self,
        org: str,
        call: Callable[..., CommandResult],
        kwargs: dict[str, Any],
        predict: Callable[[], None],
    ) -> CommandResult | None:
        """Run the command; it must be refused iff ``predict`` raises ``Refused``, and a
        refused command stores nothing."""
        expected: type[LedgerError] | None = None
        try:
            if org in self.keyless:
                raise Refused(KeyNotAuthorisedError)
            predict()
        except Refused as refusal:
            expected = refusal.error
        size = self.ledger.log_size()
        if expected is not None:
            with pytest.raises(expected):
                call(org, **kwargs)
            assert self.ledger.log_size() == size, "a refused command stored events"
            return None
        result = call(org, **kwargs)
        assert not result.replayed
        assert self.ledger.log_size() == size + len(result.events)
        self.done.append(Done(org, call, kwargs, result))
        return result

    def choose_record(self, index: int, statuses: tuple[str, ...] = ()) -> Record:
        """A record, one in one of ``statuses`` when there is one."""
        records = list(self.records.values())
        fitting = [r for r in records if r.status in statuses]
        chosen = fitting or records
        return chosen[index % len(chosen)]

    def minutes_of(self, number: str) -> int:
        return sum(r.credited for r in self.records.values() if r.number == number)

    def check_stars(self, result: CommandResult, before: int, after: int) -> None:
        """The command issued exactly the star events that the change of minutes crossed."""
        old = star_level(before, THRESHOLDS_HOURS)
        new = star_level(after, THRESHOLDS_HOURS)
        types = [e.type for e in result.events]
        assert types.count("StarAttained") == max(0, new - old), (types, before, after)
        assert types.count("StarWithdrawn") == max(0, old - new), (types, before, after)
        for ref in result.events:
            if ref.type in ("StarAttained", "StarWithdrawn"):
                star = self.ledger.event(ref.aggregate_id, ref.version)
                assert star.data["approved_minutes"] == after
                assert star.org == "city"

    # rules: records. Each command has a rule in which someone entitled acts with plausible
    # input (so that most of them get through) and a rule in which anyone acts with anything.

    def do_record(self, org: str, a: int, v: int, minutes: int) -> None:
        activity = self.activities[a % len(self.activities)]
        number = self.numbers[v % len(self.numbers)]
        own = [r for r in self.records.values() if r.number == number]

        def predict() -> None:
            if not 1 <= minutes <= DAILY_LIMIT:
                raise Refused(InvalidInputError)
            if activity.org != org:
                raise Refused(KeyNotAuthorisedError)
            if minutes > (activity.max_minutes or SPAN_MINUTES):  # its own limit, or its span
                raise Refused(RuleViolationError)
            day = sum(r.day_minutes for r in own if r.activity.day == activity.day)
            if day + minutes > DAILY_LIMIT:
                raise Refused(RuleViolationError)
            credited = [
                r for r in own if r.activity is activity and r.status in ("recorded", "approved")
            ]
            if not activity.allow_repeats and credited:
                raise Refused(RuleViolationError)

        result = self.attempt(
            org,
            self.ledger.record_hours,
            {
                "activity_id": activity.activity_id,
                "number": number,
                "minutes": minutes,
                "occurred_at": START + timedelta(days=3),
                "idempotency_key": self.key("record"),
            },
            predict,
        )
        if result is not None:
            record_id = str(result.value.record_id)
            assert record_id == f"{number}-R{len(own) + 1}"
            self.records[record_id] = Record(record_id, number, activity, minutes)

    @rule(a=pick, v=pick, minutes=st.integers(1, 300))
    def record(self, a: int, v: int, minutes: int) -> None:
        self.do_record(self.activities[a % len(self.activities)].org, a, v, minutes)

    @rule(a=pick, v=pick, minutes=st.integers(30, 300), up=st.integers(0, 3))
    def record_and_approve(self, a: int, v: int, minutes: int, up: int) -> None:
        """The common path: a record made and approved in full straight away."""
        made = len(self.records)
        self.do_record(self.activities[a % len(self.activities)].org, a, v, minutes)
        if len(self.records) > made:
            record = list(self.records.values())[-1]
            reviewers = chain(record.activity.org)
            self.do_approve(reviewers[up % len(reviewers)], record, record.minutes, None)

    @rule(org=anyone, a=pick, v=pick, minutes=st.integers(-5, DAILY_LIMIT + 5))
    def record_by_anyone(self, org: str, a: int, v: int, minutes: int) -> None:
        self.do_record(org, a, v, minutes)

    def do_approve(self, org: str, record: Record, approved: int, reason: str | None) -> None:
        def predict() -> None:
            if not at_or_above(org, record.activity.org):
                raise Refused(KeyNotAuthorisedError)
            if record.status != "recorded" or approved > record.minutes:
                raise Refused(RuleViolationError)
            if approved < record.minutes and reason is None:
                raise Refused(RuleViolationError)

        before = self.minutes_of(record.number)
        result = self.attempt(
            org,
            self.ledger.approve_record,
            {
                "record_id": record.record_id,
                "approved_minutes": approved,
                "reason": reason,
                "idempotency_key": self.key("approve"),
            },
            predict,
        )
        if result is not None:
            record.status, record.approved = "approved", approved
            self.check_stars(result, before, self.minutes_of(record.number))

    @precondition(lambda self: self.records)
    @rule(up=st.integers(0, 3), r=pick, fewer=st.integers(0, 100))
    def approve(self, up: int, r: int, fewer: int) -> None:
        record = self.choose_record(r, ("recorded",))
        reviewers = chain(record.activity.org)
        approved = max(1, record.minutes - fewer)
        reason = "partly confirmed" if approved < record.minutes else None
        self.do_approve(reviewers[up % len(reviewers)], record, approved, reason)

    @precondition(lambda self: self.records)
    @rule(org=anyone, r=pick, fewer=st.integers(-3, 100), give_reason=st.booleans())
    def approve_by_anyone(self, org: str, r: int, fewer: int, give_reason: bool) -> None:
        record = self.choose_record(r)
        approved = max(1, record.minutes - fewer)
        self.do_approve(org, record, approved, "partly confirmed" if give_reason else None)

    def do_reject(self, org: str, record: Record) -> None:
        def predict() -> None:
            if not at_or_above(org, record.activity.org):
                raise Refused(KeyNotAuthorisedError)
            if record.status != "recorded":
                raise Refused(RuleViolationError)

        result = self.attempt(
            org,
            self.ledger.reject_record,
            {
                "record_id": record.record_id,
                "reason": "not on the sheet",
                "idempotency_key": self.key("reject"),
            },
            predict,
        )
        if result is not None:
            record.status = "rejected"

    @precondition(lambda self: self.records)
    @rule(org=anyone, r=pick, fit=st.booleans())
    def reject(self, org: str, r: int, fit: bool) -> None:
        record = self.choose_record(r, ("recorded",) if fit else ())
        self.do_reject(record.activity.org if fit else org, record)

    def do_correct(self, org: str, record: Record, delta: int) -> None:
        def predict() -> None:
            if not at_or_above(org, record.activity.org):
                raise Refused(KeyNotAuthorisedError)
            if record.status != "approved":
                raise Refused(RuleViolationError)
            if delta == 0:
                raise Refused(InvalidInputError)
            if not 0 <= record.credited + delta <= DAILY_LIMIT:
                raise Refused(RuleViolationError)
            if record.credited + delta > (record.activity.max_minutes or SPAN_MINUTES):
                raise Refused(RuleViolationError)

        before = self.minutes_of(record.number)
        result = self.attempt(
            org,
            self.ledger.correct_record,
            {
                "record_id": record.record_id,
                "delta_minutes": delta,
                "reason": "complaint upheld",
                "idempotency_key": self.key("correct"),
            },
            predict,
        )
        if result is not None:
            record.corrections.append(delta)
            self.check_stars(result, before, self.minutes_of(record.number))

    @precondition(lambda self: self.records)
    @rule(up=st.integers(0, 3), r=pick, delta=st.integers(-150, 150))
    def correct(self, up: int, r: int, delta: int) -> None:
        record = self.choose_record(r, ("approved",))
        reviewers = chain(record.activity.org)
        self.do_correct(reviewers[up % len(reviewers)], record, delta)

    @precondition(lambda self: self.records)
    @rule(org=anyone, r=pick, delta=st.integers(-400, 400))
    def correct_by_anyone(self, org: str, r: int, delta: int) -> None:
        self.do_correct(org, self.choose_record(r), delta)

    def do_void(self, org: str, record: Record) -> None:
        def predict() -> None:
            if org == record.activity.org or not at_or_above(org, record.activity.org):
                raise Refused(KeyNotAuthorisedError)
            if record.status == "voided":
                raise Refused(RuleViolationError)

        before = self.minutes_of(record.number)
        result = self.attempt(
            org,
            self.ledger.void_record,
            {
                "record_id": record.record_id,
                "grounds": "spot check",
                "idempotency_key": self.key("void"),
            },
            predict,
        )
        if result is not None:
            record.status = "voided"
            self.check_stars(result, before, self.minutes_of(record.number))

    @precondition(lambda self: self.records)
    @rule(org=anyone, r=pick, fit=st.booleans())
    def void(self, org: str, r: int, fit: bool) -> None:
        record = self.choose_record(r, ("approved", "recorded") if fit else ())
        above = chain(record.activity.org)[1:]
        self.do_void(above[r % len(above)] if fit else org, record)

    # rules: credit

    def balance(self, account: str) -> int:
        return int(self.ledger.account(account)["balance"])

    def funded(self) -> list[str]:
        return [a for a in self.accounts if self.balance(a) > 0]

    def do_transfer(self, org: str, source: str, target: str, amount: int, kind: str) -> None:
        def predict() -> None:
            if amount < 1:
                raise Refused(InvalidInputError)
            if source == target:
                raise Refused(RuleViolationError)
            owner = source.split(":")[2]
            # docs/authority.md: an organisation account moves by its owner or the bank's
            # organisation; a volunteer's only by their home organisation (no agreements here)
            allowed = org in (owner, "city") if ":org:" in source else self.members[owner] == org
            if not allowed:
                raise Refused(KeyNotAuthorisedError)
            if kind == "redemption" and ":org:" not in target:
                raise Refused(RuleViolationError)
            if amount > self.balance(source):
                raise Refused(RuleViolationError)
            if ":vol:" in target and self.balance(target) + amount > CAP:
                raise Refused(RuleViolationError)

        result = self.attempt(
            org,
            self.ledger.transfer_credit,
            {
                "bank_id": BANK,
                "from_account": source,
                "to_account": target,
                "amount": amount,
                "kind": kind,
                "idempotency_key": self.key("transfer"),
            },
            predict,
        )
        if result is not None:
            self.transfers.append(Transfer(str(result.value.transfer_id), source, target, amount))

    @precondition(lambda self: self.funded())
    @rule(
        s=pick,
        t=pick,
        share=st.integers(1, 100),
        bank=st.booleans(),
        kind=st.sampled_from(["transfer", "donation", "redemption"]),
    )
    def transfer(self, s: int, t: int, share: int, bank: bool, kind: str) -> None:
        """Its owner (or the bank, for an organisation account) moves ``share`` per cent of a
        funded account's credit."""
        funded = self.funded()
        source = funded[s % len(funded)]
        targets = [a for a in self.accounts if a != source]
        if kind != "transfer":
            targets = [a for a in targets if ":org:" in a]
        owner = source.split(":")[2]
        home = owner if ":org:" in source else self.members[owner]
        org = "city" if bank and ":org:" in source else home
        amount = max(1, self.balance(source) * share // 100)
        self.do_transfer(org, source, targets[t % len(targets)], amount, kind)

    @rule(
        org=anyone,
        s=pick,
        t=pick,
        amount=st.integers(-1, 700),
        kind=st.sampled_from(["transfer", "donation", "redemption"]),
    )
    def transfer_by_anyone(self, org: str, s: int, t: int, amount: int, kind: str) -> None:
        source, target = (
            self.accounts[s % len(self.accounts)],
            self.accounts[t % len(self.accounts)],
        )
        self.do_transfer(org, source, target, amount, kind)

    @precondition(lambda self: self.transfers)
    @rule(org=st.sampled_from(["city", "city", "city", "org-a"]), t=pick)
    def reverse(self, org: str, t: int) -> None:
        transfer = self.transfers[t % len(self.transfers)]

        def predict() -> None:
            if org != "city":
                raise Refused(KeyNotAuthorisedError)
            if transfer.reversed or transfer.amount > self.balance(transfer.target):
                raise Refused(RuleViolationError)
            if ":vol:" in transfer.source and (
                self.balance(transfer.source) + transfer.amount > CAP
            ):
                raise Refused(RuleViolationError)

        result = self.attempt(
            org,
            self.ledger.reverse_transfer,
            {
                "bank_id": BANK,
                "transfer_id": transfer.transfer_id,
                "idempotency_key": self.key("reverse"),
            },
            predict,
        )
        if result is not None:
            transfer.reversed = True
            self.transfers.append(
                Transfer(
                    str(result.value.transfer_id),
                    transfer.target,
                    transfer.source,
                    transfer.amount,
                )
            )

    # rules: keys and retries

    @rule(org=st.sampled_from(ROTATABLE))
    def revoke_key(self, org: str) -> None:
        self.ledger.refresh()
        active = self.ledger._directory.active_keys(org)
        if org in self.keyless:
            assert active == []
            return
        (current,) = active
        self.ledger.revoke_key(
            "city",
            for_org=org,
            key_id=current.key_id,
            reason="device lost",
            idempotency_key=self.key("revoke"),
        )
        self.keyless.add(org)

    @precondition(lambda self: self.keyless)
    @rule(o=pick)
    def restore_key(self, o: int) -> None:
        org = sorted(self.keyless)[o % len(self.keyless)]
        self.ledger.new_key("city", for_org=org, idempotency_key=self.key("new-key"))
        self.keyless.discard(org)

    @rule()
    def rotate_automatic_key(self) -> None:
        self.ledger.refresh()
        (old,) = self.ledger._directory.active_keys("city", "automatic-awards")
        self.ledger.new_key(
            "city", for_org="city", idempotency_key=self.key("auto"), purpose="automatic-awards"
        )
        self.ledger.revoke_key(
            "city",
            for_org="city",
            key_id=old.key_id,
            reason="rotated",
            idempotency_key=self.key("revoke-auto"),
        )

    @precondition(lambda self: self.done)
    @rule(d=pick)
    def retry(self, d: int) -> None:
        """A retry with the same key and content returns the first result and stores nothing.
        (Retries by an organisation whose key is revoked are left to a focused test.)"""
        done = self.done[d % len(self.done)]
        if done.org in self.keyless:
            return
        size = self.ledger.log_size()
        again = done.call(done.org, **done.kwargs)
        assert again.replayed
        assert again.value == done.result.value
        assert [(e.aggregate_id, e.version, e.type) for e in again.events] == [
            (e.aggregate_id, e.version, e.type) for e in done.result.events
        ]
        assert self.ledger.log_size() == size

    @precondition(lambda self: self.done)
    @rule(d=pick)
    def reuse_key_for_other_content(self, d: int) -> None:
        done = self.done[d % len(self.done)]
        if done.org in self.keyless or "transfer_id" in done.kwargs:
            return  # a reversal names only the transfer: there is no other content to change
        changed = dict(done.kwargs)
        if "amount" in changed:
            changed["amount"] += 1
        elif "minutes" in changed:
            changed["minutes"] += 1
        elif "reason" in changed:
            changed["reason"] = str(changed["reason"]) + " (again)"
        else:
            changed["grounds"] = str(changed["grounds"]) + " (again)"
        size = self.ledger.log_size()
        with pytest.raises(IdempotencyConflictError):
            done.call(done.org, **changed)
        assert self.ledger.log_size() == size

    # invariants, checked after every step

    def snapshot(self, ledger: Ledger) -> dict[str, Any]:
        """The state a ledger object answers with: balances, accounts, records, and the credit
        and star events in log order."""
        events = list(ledger.events_of_types(*CREDIT_TYPES, "StarAttained", "StarWithdrawn"))
        accounts = sorted({e.data["account"] for e in events if e.type in CREDIT_TYPES})
        return {
            "log_size": ledger.log_size(),
            "volunteers": {n: ledger.volunteer_balance(n) for n in self.numbers},
            "accounts": {a: int(ledger.account(a)["balance"]) for a in accounts},
            "records": {r: ledger.record_status(r) for r in self.records},
            "events": [(e.type, e.data) for e in events],
        }

    @invariant()
    def after_every_step(self) -> None:
        self.checks += 1
        state = self.snapshot(self.ledger)
        self.time_bank_sums_to_zero_and_no_account_is_overdrawn(state)
        self.approved_minutes_follow_the_records(state)
        self.stars_match_the_thresholds_crossed(state)
        self.replaying_the_events_gives_the_same_state(state)
        self.reads_equal_a_full_replay(state)

    def time_bank_sums_to_zero_and_no_account_is_overdrawn(self, state: dict[str, Any]) -> None:
        balances: dict[str, int] = state["accounts"]
        minted = sum(d["amount"] for t, d in state["events"] if t == "CreditEarned")
        clawed = sum(d["amount"] for t, d in state["events"] if t == "CreditClawedBack")
        issuing = -(minted - clawed)
        assert sum(balances.values()) + issuing == 0, (balances, minted, clawed)
        assert all(b >= 0 for b in balances.values()), balances
        for account, held in balances.items():
            if ":vol:" in account:
                assert held <= CAP, (account, held)
        sent = {d["transfer_id"]: d for t, d in state["events"] if t == "CreditSent"}
        received = {d["transfer_id"]: d for t, d in state["events"] if t == "CreditReceived"}
        assert sent.keys() == received.keys()
        for transfer_id, debit in sent.items():
            credit = received[transfer_id]
            assert debit["amount"] == credit["amount"]
            assert (debit["account"], debit["counterparty"]) == (
                credit["counterparty"],
                credit["account"],
            )

    def approved_minutes_follow_the_records(self, state: dict[str, Any]) -> None:
        for number, balance in state["volunteers"].items():
            assert balance["approved_minutes"] == self.minutes_of(number), number
            assert balance["records"] == sum(1 for r in self.records.values() if r.number == number)
        for record_id, status in state["records"].items():
            record = self.records[record_id]
            expected = "corrected" if record.corrections else "approved"
            assert status["status"] == (expected if record.status == "approved" else record.status)
            assert status["credited_minutes"] == record.credited

    def stars_match_the_thresholds_crossed(self, state: dict[str, Any]) -> None:
        issued: dict[str, int] = dict.fromkeys(self.numbers, 0)
        for event_type, data in state["events"]:
            if event_type in ("StarAttained", "StarWithdrawn"):
                issued[data["number"]] += 1 if event_type == "StarAttained" else -1
                assert data["record_id"].startswith(data["number"] + "-R")
        for number, balance in state["volunteers"].items():
            level = star_level(self.minutes_of(number), THRESHOLDS_HOURS)
            stars = balance["stars"]["stars"]
            assert stars["level"] == level == issued[number], (number, stars, issued)

    def replaying_the_events_gives_the_same_state(self, state: dict[str, Any]) -> None:
        """A second ledger object on the same SQLite file, holding no private keys, follows the
        log and answers the same; every few steps a brand-new one replays it from scratch."""
        assert state["log_size"] == len(self.ledger._recorder.select_notifications(1, 10**9))
        if self.reader is None:
            self.reader = Ledger(self.url, keystore=MemoryKeystore())
        readers = [self.reader]
        if self.checks % 5 == 1:
            readers.append(Ledger(self.url, keystore=MemoryKeystore()))
        for reader in readers:
            assert self.snapshot(reader) == state
        if len(readers) > 1:
            readers[1].close()

    def reads_equal_a_full_replay(self, state: dict[str, Any]) -> None:
        for number in self.numbers:
            aggregate_id = service_account_id(number)
            assert self.ledger.service_account(number) == replayed(
                self.ledger, ServiceAccount, aggregate_id
            )
            events = self.ledger.events(aggregate_id)
            for record_id, status in state["records"].items():
                if self.records[record_id].number == number:
                    assert [(e["type"], e["version"]) for e in status["events"]] == [
                        (e.type, e.originator_version)
                        for e in events
                        if e.data.get("record_id") == record_id and e.type in RECORD_TYPES
                    ]


DomainMachine.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestDomainMachine = pytest.mark.slow(DomainMachine.TestCase)
