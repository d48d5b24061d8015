"""Helpers for the [projections] property tests (imported by name; not a test module).

:class:`World` is a small city (a county with two stations, a team, a star scheme with low
thresholds and a capped time bank, so approvals also store stars and credit, and withdrawals and
surpluses happen) into which a generated history of operations is played: registrations,
activities and their cancellation, rosters, approvals (some for fewer minutes), rejections,
corrections, voids, memberships, transfers between organisations, honours, and credit donations
and reversals; and, for views kept live, catch-ups at random points in random batch sizes.
Operations the rules refuse store nothing and are simply passed over.

The expected figures and the comparison with the views are shared with the integration tests
(``tests/integration/projections/projections_support.py``).
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from ledger import Ledger, LedgerError
from ledger.model.service import number_of_record
from ledger.projections import Projections


def _shared_support() -> Any:
    """The integration tests' helper module (one module object, whichever imports it first)."""
    if "projections_support" not in sys.modules:
        folder = Path(__file__).resolve().parents[2] / "integration" / "projections"
        path = folder / "projections_support.py"
        spec = importlib.util.spec_from_file_location("projections_support", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["projections_support"] = module
        spec.loader.exec_module(module)
    return sys.modules["projections_support"]


_support = _shared_support()
Replay = _support.Replay
assert_views_match_replay = _support.assert_views_match_replay

ROOT = "city"
PARENT = {"county": ROOT, "station-a": "county", "station-b": "county", "team-c": ROOT}
RECORDERS = ("station-a", "station-b", "team-c")
ORGS = (*RECORDERS, "county")
FIELDS = ("legal-aid", "emergency-rescue", "care-for-elderly-and-children")
BANK = "bank"
FIRST_DAY = date(2024, 1, 1)

_small = st.integers(0, 1000)
_record = st.tuples(
    st.just("record"), _small, st.integers(1, 63), st.integers(30, 200), st.integers(1, 25)
)
_approve = st.tuples(st.just("approve"), _small, st.integers(0, 90))
OPERATION = st.one_of(  # records and approvals twice as likely as the rest
    st.tuples(st.just("register"), _small),
    st.tuples(st.just("activity"), _small, st.integers(0, 700), st.integers(0, 60)),
    _record,
    _record,
    _approve,
    _approve,
    st.tuples(st.just("approve_all"), _small),
    st.tuples(st.just("reject"), _small),
    st.tuples(st.just("correct"), _small, st.integers(-200, 60)),
    st.tuples(st.just("void"), _small),
    st.tuples(st.just("join"), _small, _small),
    st.tuples(st.just("leave"), _small, _small),
    st.tuples(st.just("transfer"), _small, _small, st.booleans()),
    st.tuples(st.just("donate"), _small, st.integers(1, 90)),
    st.tuples(st.just("reverse"), _small),
    st.tuples(st.just("honour"), _small),
    st.tuples(st.just("revoke"), _small),
    st.tuples(st.just("cancel"), _small),
    st.tuples(st.just("catch_up"), st.integers(1, 40)),
)
HISTORY = st.lists(OPERATION, min_size=6, max_size=30)


@dataclass
class World:
    ledger: Ledger
    volunteers: list[str] = field(default_factory=list)
    activities: list[tuple[str, str, datetime]] = field(default_factory=list)  # id, org, end
    records: list[str] = field(default_factory=list)
    donations: list[str] = field(default_factory=list)
    honours: list[tuple[str, str]] = field(default_factory=list)  # number, honour id
    refused: int = 0
    stored: int = 0

    @classmethod
    def create(cls, ledger: Ledger) -> World:
        ledger.create(
            name="Property city",
            root_org_id=ROOT,
            root_name="City Volunteer Federation",
            region="140400",
            origin="ledger.test.example/log",
        )
        ledger.new_key(ROOT, for_org=ROOT, idempotency_key="auto", purpose="automatic-awards")
        for org in ("county", "station-a", "station-b", "team-c"):
            kind = "organisation" if org == "county" else org.split("-")[0]
            ledger.register_organisation(
                PARENT[org],
                org_id=org,
                name=org,
                kind=kind,
                region="140401",
                idempotency_key=org,
            )
            ledger.new_key(PARENT[org], for_org=org, idempotency_key=f"{org}-key")
        ledger.publish_star_scheme(
            ROOT,
            scheme_id="quick",
            name="Quick stars",
            thresholds_hours=[1, 2, 4],
            idempotency_key="scheme",
        )
        ledger.open_time_bank(
            ROOT,
            bank_id=BANK,
            cap_minutes=240,
            surplus_account=f"{BANK}:org:{ROOT}",
            idempotency_key="bank",
        )
        world = cls(ledger)
        for i, org in enumerate(("station-a", "station-b", "team-c", "station-a")):
            world.volunteers.append(
                ledger.register_volunteer(org, idempotency_key=f"first-{i}").value.number
            )
        for pick, day in ((0, 125), (1, 427), (2, 609)):  # one activity per recorder, two years
            world._activity(f"first-activity-{pick}", pick, day, 20)
        return world

    def play(self, history: list[tuple[Any, ...]], live: Projections | None) -> None:
        for i, (name, *args) in enumerate(history):
            if name == "catch_up":
                if live is not None:
                    live.catch_up(batch=args[0])
                continue
            try:
                getattr(self, f"_{name}")(f"op-{i}", *args)
                self.stored += 1
            except LedgerError:
                self.refused += 1

    # choosing

    def _volunteer(self, pick: int) -> str:
        return self.volunteers[pick % len(self.volunteers)]

    # operations

    def _register(self, key: str, pick: int) -> None:
        result = self.ledger.register_volunteer(RECORDERS[pick % 3], idempotency_key=key)
        self.volunteers.append(result.value.number)

    def _activity(self, key: str, pick: int, day: int, served: int) -> None:
        org = RECORDERS[pick % 3]
        start = datetime.combine(FIRST_DAY + timedelta(days=day), datetime.min.time(), UTC)
        start += timedelta(hours=9)
        result = self.ledger.publish_activity(
            org,
            title=f"Activity {key}",
            field=FIELDS[pick % 3],
            place="square",
            starts_at=start,
            ends_at=start + timedelta(hours=4),
            leader="lead",
            content="service",
            people_served=served or None,
            idempotency_key=key,
            occurred_at=start - timedelta(days=3),
        )
        self.activities.append((result.value.activity_id, org, start + timedelta(hours=4)))

    def _record(self, key: str, pick: int, mask: int, minutes: int, delay: int) -> None:
        if not self.activities:
            raise LedgerError("no activity yet")
        activity, org, end = self.activities[pick % len(self.activities)]
        numbers = [n for i, n in enumerate(self.volunteers) if mask >> (i % 6) & 1]
        result = self.ledger.record_roster(
            org,
            activity_id=activity,
            idempotency_key=key,
            entries=[{"number": n, "minutes": minutes} for n in numbers[:4]],
            occurred_at=end + timedelta(days=delay),
        )
        self.records += result.value.record_ids

    def _cancel(self, key: str, pick: int) -> None:
        activity, org, _ = self.activities[pick % len(self.activities)]
        self.ledger.cancel_activity(
            org, activity_id=activity, reason="storm warning", idempotency_key=key
        )

    def _approve(self, key: str, pick: int, cut: int) -> None:
        record_id, record = self._pick(pick, "recorded")
        approved = max(1, record.minutes - cut)
        self.ledger.approve_record(
            record.recording_org,
            record_id=record_id,
            approved_minutes=approved,
            reason="left early" if approved < record.minutes else None,
            idempotency_key=key,
        )

    def _approve_all(self, key: str, pick: int) -> None:
        waiting = [
            (r, rec) for r, rec in self._all("recorded") if rec.recording_org == RECORDERS[pick % 3]
        ]
        if not waiting:
            raise LedgerError("nothing to approve")
        self.ledger.approve_records(
            RECORDERS[pick % 3],
            approvals=[{"record_id": r} for r, _ in waiting],
            idempotency_key=key,
        )

    def _reject(self, key: str, pick: int) -> None:
        record_id, record = self._pick(pick, "recorded")
        self.ledger.reject_record(
            record.recording_org, record_id=record_id, reason="not signed in", idempotency_key=key
        )

    def _correct(self, key: str, pick: int, delta: int) -> None:
        record_id, record = self._pick(pick, "approved")
        delta = max(delta, -record.credited_minutes) or 15
        self.ledger.correct_record(
            record.recording_org,
            record_id=record_id,
            delta_minutes=delta,
            reason="reported by the volunteer",
            idempotency_key=key,
        )

    def _void(self, key: str, pick: int) -> None:
        record_id, record = self._pick(pick, "recorded", "approved", "rejected")
        self.ledger.void_record(
            PARENT[record.recording_org],
            record_id=record_id,
            grounds="no service given",
            idempotency_key=key,
        )

    def _join(self, key: str, pick: int, org: int) -> None:
        """The home organisation agrees first (docs/authority.md), then the other joins."""
        number, joining = self._volunteer(pick), ORGS[org % 4]
        asked = self.ledger.request_agreement(
            joining, number=number, rights=["membership"], idempotency_key=key + "-ask"
        )
        self.ledger.grant_agreement(
            self.ledger.volunteer(number)["home"],
            number=number,
            agreement_id=asked.value.agreement_id,
            idempotency_key=key + "-grant",
        )
        self.ledger.join(joining, number=number, idempotency_key=key)

    def _leave(self, key: str, pick: int, org: int) -> None:
        number = self._volunteer(pick)
        found = self.ledger.volunteer(number)
        members = [m for m in found["members_of"] if m != found["home"]]
        if not members:
            raise LedgerError("a member of nothing but the home organisation")
        self.ledger.leave(members[org % len(members)], number=number, idempotency_key=key)

    def _transfer(self, key: str, pick: int, org: int, accept: bool) -> None:
        number = self._volunteer(pick)
        home = self.ledger.volunteer(number)["home"]
        target = next(o for o in (ORGS[(org + k) % 4] for k in range(1, 5)) if o != home)
        transfer = self.ledger.request_transfer(
            home, number=number, to_org=target, idempotency_key=key
        ).value.transfer_id
        if accept:
            self.ledger.accept_transfer(
                target, number=number, transfer_id=transfer, idempotency_key=key + "-answer"
            )
        else:
            self.ledger.decline_transfer(
                target,
                number=number,
                transfer_id=transfer,
                reason="full",
                idempotency_key=key + "-answer",
            )

    def _donate(self, key: str, pick: int, amount: int) -> None:
        number = self._volunteer(pick)
        account = f"{BANK}:vol:{number}"
        balance = self.ledger.account(account)["balance"]
        if balance <= 0:
            raise LedgerError("nothing to give")
        result = self.ledger.transfer_credit(
            self.ledger.volunteer(number)["home"],
            bank_id=BANK,
            from_account=account,
            to_account=f"{BANK}:org:team-c",
            amount=min(amount, balance),
            kind="donation",
            idempotency_key=key,
        )
        self.donations.append(result.value.transfer_id)

    def _reverse(self, key: str, pick: int) -> None:
        if not self.donations:
            raise LedgerError("no donation yet")
        self.ledger.reverse_transfer(
            ROOT,
            bank_id=BANK,
            transfer_id=self.donations[pick % len(self.donations)],
            idempotency_key=key,
        )

    def _honour(self, key: str, pick: int) -> None:
        number = self._volunteer(pick)
        result = self.ledger.grant_honour(
            ROOT,
            recipient_kind="volunteer",
            recipient=number,
            honour="Volunteer of the month",
            citation="steady service",
            granted_on=date(2025, 6, 1),
            idempotency_key=key,
        )
        self.honours.append((number, result.value.honour_id))

    def _revoke(self, key: str, pick: int) -> None:
        if not self.honours:
            raise LedgerError("no honour yet")
        number, honour_id = self.honours[pick % len(self.honours)]
        self.ledger.revoke_honour(
            ROOT,
            recipient_kind="volunteer",
            recipient=number,
            honour_id=honour_id,
            reason="granted in error",
            idempotency_key=key,
        )

    # records by status

    def _all(self, *statuses: str) -> list[tuple[str, Any]]:
        found = []
        for record_id in self.records:
            record = self.ledger.service_account(number_of_record(record_id)).records[record_id]
            if record.status in statuses:
                found.append((record_id, record))
        return found

    def _pick(self, pick: int, *statuses: str) -> tuple[str, Any]:
        found = self._all(*statuses)
        if not found:
            raise LedgerError(f"no {'/'.join(statuses)} record yet")
        return found[pick % len(found)]
