"""Helpers for the [projections] tests (imported by name; not a test module).

The views are derived data, so every test compares them with the same figures computed again
from the events: :class:`Replay` reads every stored event (verified) in log order, and the
expected figures come from the library's own answers that replay events directly
(``volunteer_balance``, ``volunteer``, ``service_account``, ``organisation_figures``,
``account``), never from the view code. :func:`assert_views_match_replay` compares every view.

``demo_ledgers`` (session scope) builds one demo city per store kind once and shares it between
the tests, which only read it (each test keeps the views it writes in a database of its own).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from postgres_testing import fresh_schema, require_postgres

from ledger import Ledger, MemoryKeystore
from ledger.balances import VolunteerBalance
from ledger.demo import build_demo
from ledger.envelope import TOPIC_PREFIX, SignedEvent
from ledger.projections import Projections, ViewQueries
from ledger.projections.queries import MAX_PAGE

__all__ = [
    "DEMO_SEED",
    "DEMO_VOLUNTEERS",
    "KINDS",
    "LOCAL_KINDS",
    "Demo",
    "Replay",
    "all_pages",
    "assert_views_match_replay",
    "demo_ledgers",
    "expected_figures",
    "expected_volunteer",
    "ledger_events",
    "new_pg_schema",
    "views_url_for",
]

DEMO_VOLUNTEERS = 40
DEMO_SEED = 25  # a history with rejections, corrections and several voids
KINDS = ["memory", "sqlite", "postgresql"]
LOCAL_KINDS = ["memory", "sqlite"]  # for checks whose PostgreSQL path adds nothing new


def new_pg_schema() -> AbstractContextManager[str]:
    """A fresh schema's store URL, dropped afterwards (the conftest fixture gives one per test;
    some tests need two, and the shared demo needs one for the whole session)."""
    return fresh_schema("tp_")


@pytest.fixture
def views_url_for(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """A function giving a fresh, empty database URL of a kind, for views kept apart from the
    ledger (``memory`` gives ``memory://``: an in-memory SQLite database of the views' own)."""
    with_schemas: list[Any] = []

    def make(kind: str) -> str:
        if kind == "memory":
            return "memory://"
        if kind == "sqlite":
            return f"sqlite:///{tmp_path / ('views-' + uuid.uuid4().hex[:8] + '.db')}"
        manager = new_pg_schema()
        url = manager.__enter__()
        with_schemas.append(manager)
        return url

    yield make
    for manager in reversed(with_schemas):
        manager.__exit__(None, None, None)


# The shared demo cities


@dataclass
class Demo:
    kind: str
    url: str
    ledger: Ledger
    made: dict[str, Any]
    replay: Replay

    def views(self, views_url: str | None, *, verify: bool = True) -> Projections:
        return self.ledger.projections(views_url, verify=verify)

    def replay_position(self) -> int:
        """The last notification id stored: where caught-up views stand."""
        return int(self.ledger._recorder.max_notification_id() or 0)


@pytest.fixture(scope="session")
def demo_ledgers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Demo]]:
    """``demo(kind)``: a demo city of ``DEMO_VOLUNTEERS`` volunteers in a store of that kind,
    built on first use and shared for the session. Read it; never write to it."""
    built: dict[str, Demo] = {}
    schemas: list[Any] = []

    def demo(kind: str) -> Demo:
        if kind == "postgresql":
            require_postgres()
        if kind not in built:
            if kind == "memory":
                url = "memory://"
            elif kind == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
            else:
                manager = new_pg_schema()
                url = manager.__enter__()
                schemas.append(manager)
            ledger = Ledger(url, keystore=MemoryKeystore())
            made = build_demo(ledger, volunteers=DEMO_VOLUNTEERS, seed=DEMO_SEED)
            built[kind] = Demo(kind, url, ledger, made, Replay.of(ledger))
        return built[kind]

    yield demo
    for item in built.values():
        item.ledger.close()
    for manager in schemas:
        manager.__exit__(None, None, None)


# Replaying the events directly


def ledger_events(ledger: Ledger) -> list[SignedEvent]:
    """Every stored ledger event, verified, in notification order."""
    events: list[SignedEvent] = []
    start = 1
    while True:
        batch = ledger._recorder.select_notifications(start, 1000)
        events += [
            ledger._app.signed_mapper.verify(n) for n in batch if n.topic.startswith(TOPIC_PREFIX)
        ]
        if len(batch) < 1000:
            return events
        start = batch[-1].id + 1


@dataclass
class Replay:
    """What the event stream says, read once in log order."""

    organisations: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> kind, parent
    registered_by: dict[str, str] = field(default_factory=dict)  # number -> organisation
    registered_month: dict[str, str] = field(default_factory=dict)  # number -> YYYY-MM
    activities: dict[str, dict[str, Any]] = field(default_factory=dict)
    records_by_org: Counter[str] = field(default_factory=Counter)
    accounts: dict[str, str] = field(default_factory=dict)  # account -> bank
    minted: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # bank -> credit
    mint_movements: Counter[str] = field(default_factory=Counter)  # bank -> mint events
    types: Counter[str] = field(default_factory=Counter)  # event type -> how many

    @classmethod
    def of(cls, ledger: Ledger) -> Replay:
        replay = cls()
        for event in ledger_events(ledger):
            replay.apply(event)
        return replay

    def apply(self, event: SignedEvent) -> None:
        data, kind = event.data, event.type
        self.types[kind] += 1
        if kind == "LedgerCreated":
            root = data["root"]
            self.organisations[root["org_id"]] = {"kind": root["kind"], "parent": None}
        elif kind == "OrganisationRegistered":
            self.organisations[data["org_id"]] = {"kind": data["kind"], "parent": data["parent"]}
        elif kind == "VolunteerRegistered":
            self.registered_by[data["number"]] = event.org
            self.registered_month[data["number"]] = event.occurred_at[:7]
        elif kind == "ActivityPublished":
            self.activities[data["activity_id"]] = {
                "org": event.org,
                "month": data["starts_at"][:7],
                "field": data["field"],
                "people_served": data.get("people_served") or 0,
                "cancelled": False,
            }
        elif kind == "ActivityCancelled":
            self.activities[data["activity_id"]]["cancelled"] = True
        elif kind == "HoursRecorded":
            self.records_by_org[event.org] += 1
        elif kind in ("CreditEarned", "CreditClawedBack"):
            self.accounts[data["account"]] = data["bank_id"]
            sign = 1 if kind == "CreditEarned" else -1
            self.minted[data["bank_id"]] += sign * data["amount"]
            self.mint_movements[data["bank_id"]] += 1
        elif kind in ("CreditSent", "CreditReceived"):
            self.accounts[data["account"]] = data["bank_id"]

    @property
    def volunteers(self) -> list[str]:
        return sorted(self.registered_by)

    def subtree(self, org_id: str) -> set[str]:
        """``org_id`` and every organisation below it."""
        found = set()
        for candidate in self.organisations:
            walk: str | None = candidate
            while walk is not None:
                if walk == org_id:
                    found.add(candidate)
                    break
                walk = self.organisations[walk]["parent"]
        return found


def expected_volunteer(ledger: Ledger, number: str) -> VolunteerBalance:
    """A volunteer's balance as the library replays it from the events: the views' balance
    has the same shape and must be equal to it, key for key."""
    return ledger.volunteer_balance(number)


@dataclass
class People:
    """Per organisation: members now and volunteers with an approved record there."""

    members: dict[str, set[str]]
    active: dict[str, set[str]]
    transfers_in: Counter[str]
    transfers_out: Counter[str]


def people(ledger: Ledger, replay: Replay) -> People:
    members: dict[str, set[str]] = defaultdict(set)
    active: dict[str, set[str]] = defaultdict(set)
    moved_in: Counter[str] = Counter()
    moved_out: Counter[str] = Counter()
    for number in replay.volunteers:
        person = ledger.volunteer(number)
        for org in person["members_of"]:
            members[org].add(number)
        for transfer in person["transfers"].values():
            if transfer["status"] == "accepted":
                moved_in[transfer["to_org"]] += 1
                moved_out[transfer["from_org"]] += 1
        for record in ledger.service_account(number).records.values():
            if record.status == "approved":
                active[record.recording_org].add(number)
    return People(members, active, moved_in, moved_out)


def expected_organisations(ledger: Ledger, replay: Replay) -> dict[str, dict[str, Any]]:
    """Every organisation's own and rolled-up figures, from the events."""
    who = people(ledger, replay)
    own: dict[str, dict[str, Any]] = {}
    for org_id in replay.organisations:
        described = ledger.organisation(org_id)
        figures = ledger.organisation_figures(org_id)
        assert set(figures["members"]) == who.members[org_id], (
            f"the library's two answers for {org_id}'s members differ"
        )
        held = [a for a in replay.activities.values() if a["org"] == org_id and not a["cancelled"]]
        own[org_id] = {
            "org_id": org_id,
            "name": described["name"],
            "kind": described["kind"],
            "region": described["region"],
            "parent": described["parent"],
            "registered_volunteers": sum(1 for o in replay.registered_by.values() if o == org_id),
            "activities": len(held),
            "people_served": sum(a["people_served"] for a in held),
            "records": replay.records_by_org[org_id],
            "approved_minutes": figures["approved_minutes"],
            "transfers_in": who.transfers_in[org_id],
            "transfers_out": who.transfers_out[org_id],
            "members_now": len(figures["members"]),
            "active_volunteers": len(who.active[org_id]),
        }
    result = {}
    for org_id in replay.organisations:
        tree = replay.subtree(org_id)
        summed = (
            "registered_volunteers",
            "activities",
            "people_served",
            "records",
            "approved_minutes",
        )
        rolled = {"organisations": len(tree)}
        rolled |= {key: sum(own[o][key] for o in tree) for key in summed}
        rolled["members_now"] = len(set().union(*(who.members[o] for o in tree)))
        rolled["active_volunteers"] = len(set().union(*(who.active[o] for o in tree)))
        result[org_id] = {"organisation": own[org_id], "rolled_up": rolled}
    return result


def expected_statistics(
    ledger: Ledger, replay: Replay, start: str = "0000-00", end: str = "9999-99"
) -> dict[str, Any]:
    """The city's figures for months start..end, from the events."""
    minutes_by_field: Counter[str] = Counter()
    approved_by_field: Counter[str] = Counter()
    minutes_by_month: Counter[str] = Counter()
    for number in replay.volunteers:
        for record in ledger.service_account(number).records.values():
            if record.status != "approved" or not start <= record.service_date[:7] <= end:
                continue
            minutes_by_field[record.service_field] += record.credited_minutes
            approved_by_field[record.service_field] += 1
            minutes_by_month[record.service_date[:7]] += record.credited_minutes
    held = [
        a for a in replay.activities.values() if not a["cancelled"] and start <= a["month"] <= end
    ]
    return {
        "period": {"from": start, "to": end},
        "registered_volunteers": sum(
            1 for m in replay.registered_month.values() if start <= m <= end
        ),
        "organisations_by_kind": dict(Counter(o["kind"] for o in replay.organisations.values())),
        "activities": len(held),
        "people_served": sum(a["people_served"] for a in held),
        "approved_minutes": sum(minutes_by_month.values()),
        "minutes_by_field": _nonzero(minutes_by_field),
        "approved_records_by_field": _nonzero(approved_by_field),
        "minutes_by_month": _nonzero(minutes_by_month),
    }


def viewed_statistics(
    queries: ViewQueries, start: str = "0000-00", end: str = "9999-99"
) -> dict[str, Any]:
    shown = queries.city_statistics(start, end)
    for key in ("minutes_by_field", "approved_records_by_field", "minutes_by_month"):
        shown[key] = _nonzero(shown[key])
    return shown


def _nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in sorted(counts.items()) if v}


def all_pages(fetch: Callable[[str | None], dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Follow ``next_cursor`` from the first page to the last; return the pages."""
    pages, cursor = [], None
    while True:
        page = fetch(cursor)
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 10_000, "pagination does not end"


def viewed_movements(queries: ViewQueries, account: str) -> dict[str, tuple[str, int, str]]:
    pages = all_pages(lambda c: queries.account(account, limit=MAX_PAGE, cursor=c))
    return {m["transfer_id"]: (m["counterparty"], m["amount"], m["kind"]) for p in pages for m in p}


@dataclass
class Expected:
    """Every figure the views should show, computed once from the events."""

    volunteers: dict[str, VolunteerBalance]
    organisations: dict[str, dict[str, Any]]
    accounts: dict[str, tuple[str, int, dict[str, tuple[str, int, str]]]]
    statistics: dict[str, Any]


def expected_figures(ledger: Ledger, replay: Replay) -> Expected:
    """The expected figures of ``replay``'s ledger (cached on the replay: it never changes)."""
    cached = replay.__dict__.get("_expected")
    if cached is None:
        accounts = {}
        for account, bank in replay.accounts.items():
            book = ledger.account(account)
            moves = {
                t: (m["counterparty"], m["amount"], m["kind"]) for t, m in book["movements"].items()
            }
            accounts[account] = (bank, book["balance"], moves)
        cached = Expected(
            {n: expected_volunteer(ledger, n) for n in replay.volunteers},
            expected_organisations(ledger, replay),
            accounts,
            expected_statistics(ledger, replay),
        )
        replay.__dict__["_expected"] = cached
    return cached


def assert_views_match_replay(ledger: Ledger, views: Projections, replay: Replay) -> None:
    """Every view equals the same figure computed by replaying the events directly."""
    expected = expected_figures(ledger, replay)
    queries = ViewQueries(views.database)
    # volunteer balances
    listed = [r[0] for r in views.database.query("SELECT number FROM view_volunteers ORDER BY 1")]
    assert listed == replay.volunteers
    for number, figures in expected.volunteers.items():
        assert queries.volunteer(number) == figures, number
    # organisation figures, own and rolled up the tree
    listed = [r[0] for r in views.database.query("SELECT org_id FROM view_organisations")]
    assert sorted(listed) == sorted(expected.organisations)
    for org_id, figures in expected.organisations.items():
        assert queries.organisation(org_id) == figures, org_id
    # time-bank balances, with the history of movements; the issuing accounts balance them
    for account, (bank, balance, movements) in expected.accounts.items():
        shown = queries.account(account, limit=1)
        assert (shown["bank_id"], shown["balance"]) == (bank, balance), account
        assert viewed_movements(queries, account) == movements, account
        for transfer_id in movements:  # the reversal's hint: the transfer's accounts, by its id
            assert account in queries.accounts_of_transfer(bank, transfer_id), transfer_id
            assert queries.accounts_of_transfer(f"not-{bank}", transfer_id) == []
    for bank, minted in replay.minted.items():
        issuing = queries.account(f"{bank}:issuing", limit=1)
        assert issuing["balance"] == -minted
        assert len(viewed_movements(queries, f"{bank}:issuing")) == replay.mint_movements[bank]
    for bank, total in views.database.query(
        "SELECT bank_id, SUM(balance) FROM view_accounts GROUP BY bank_id"
    ):
        assert int(total) == 0, f"the balances of bank {bank} sum to {total}, not zero"
    shown_accounts = {r[0] for r in views.database.query("SELECT account_id FROM view_accounts")}
    assert shown_accounts == set(replay.accounts) | {f"{b}:issuing" for b in replay.minted}
    # city statistics
    assert viewed_statistics(queries) == expected.statistics


# Writers for the concurrency test (module level, so that spawned processes can run them)


def write_volunteers(
    url: str, keys: str, org: str, activities: list[str], count: int
) -> dict[str, Any]:
    """Register ``count`` volunteers of ``org`` one command at a time, record and approve each
    one's hours at the first activity one by one, then the whole roster at the second activity
    in one command. Returns what was written."""
    from datetime import datetime, timedelta

    from ledger import DirectoryKeystore

    written: dict[str, Any] = {"numbers": [], "minutes": 0, "records": 0}
    with Ledger(url, keystore=DirectoryKeystore(Path(keys))) as ledger:
        first, second = (ledger.activity(a) for a in activities)
        for i in range(count):
            number = ledger.register_volunteer(org, idempotency_key=f"{org}-v{i}").value.number
            minutes = 30 + (i * 7) % 90
            recorded = ledger.record_hours(
                org,
                activity_id=activities[0],
                number=number,
                minutes=minutes,
                idempotency_key=f"{org}-r{i}",
                occurred_at=datetime.fromisoformat(first["ends_at"]) + timedelta(days=1),
            )
            ledger.approve_record(
                org, record_id=recorded.value.record_id, idempotency_key=f"{org}-a{i}"
            )
            written["numbers"].append(number)
            written["minutes"] += minutes
            written["records"] += 1
        roster = ledger.record_roster(
            org,
            activity_id=activities[1],
            idempotency_key=f"{org}-roster",
            entries=[{"number": n, "minutes": 60} for n in written["numbers"]],
            occurred_at=datetime.fromisoformat(second["ends_at"]) + timedelta(days=1),
        )
        ledger.approve_records(
            org,
            approvals=[{"record_id": r} for r in roster.value.record_ids],
            idempotency_key=f"{org}-approve-roster",
        )
        written["minutes"] += 60 * count
        written["records"] += count
    return written
