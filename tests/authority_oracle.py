"""The whole authority table of docs/authority.md as data, and a state machine that tries every
command and private read in it, with every organisation, against a model of what the table says.

Imported by the library oracle (tests/property/authority/test_authority_table_oracle.py) and the
HTTP oracle (tests/e2e/test_api_authority_oracle.py); they differ only in the :class:`Driver` that
carries an attempt to the ledger (method calls, or requests with API keys to a real server).

The tree has three organisations in different branches, with their ancestors::

    city (root)
    ├── north ── north-team
    ├── south ── south-station (a station)
    └── east

An attempt the table forbids must be refused with the refusal the table names (403 over HTTP)
and store nothing; an attempt it allows must not be refused for authority (other rules, a
balance of 0 or a record already approved say, may still refuse it: the model knows where).
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from ledger import (
    AgreementMissingError,
    ConsentMissingError,
    KeyNotAuthorisedError,
    Ledger,
    LedgerError,
)
from ledger.signing import SigningKey

PARENT: dict[str, str | None] = {
    "city": None,
    "north": "city",
    "north-team": "north",
    "south": "city",
    "south-station": "south",
    "east": "city",
}
ORGS = sorted(PARENT)
ROOT = "city"
STATION = "south-station"
BANK = "bank"  # the root's time bank, opened when the city is built
SHARE = "share-personal-data"
RIGHTS = ("membership", "consent", "personal-data", "credit")
DOC = Path(__file__).resolve().parents[1] / "docs" / "authority.md"
STARTS = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in the city's time zone
SERVICE_DAY = STARTS.date()


def ancestors(org: str) -> list[str]:
    chain, parent = [], PARENT[org]
    while parent is not None:
        chain.append(parent)
        parent = PARENT[parent]
    return chain


def at_or_above(org: str, other: str) -> bool:
    return org == other or org in ancestors(other)


# --- the table ------------------------------------------------------------------------------
#
# action -> (the event types it signs, the API key scope its route needs, who may: a rule name
# from WHO below, and the agreement right that lets anyone else do it). Each row of
# docs/authority.md is here once; test_the_table_mirrors_docs checks that.


@dataclass(frozen=True)
class Row:
    events: tuple[str, ...]
    scope: str
    who: str
    right: str | None = None


TABLE: dict[str, Row] = {
    # organisations and keys
    "register_organisation": Row(("OrganisationRegistered",), "register", "anyone"),
    "register_key": Row(("KeyRegistered",), "keys", "itself-or-parent"),
    "revoke_key": Row(("KeyRevoked",), "keys", "itself-or-ancestor"),
    "add_log_key": Row(("LogKeyAdded",), "keys", "root"),
    "retire_log_key": Row(("LogKeyRetired",), "keys", "root"),
    "set_daily_limit": Row(("LedgerSettingsChanged",), "admin", "root"),
    "declare_holidays": Row(("HolidaysDeclared",), "admin", "root"),
    "add_service_field": Row(("ServiceFieldAdded",), "admin", "root"),
    # volunteers
    "register_volunteer": Row(("VolunteerRegistered",), "register", "anyone"),
    "give_consent": Row(("ConsentGiven",), "register", "home", "consent"),
    "withdraw_consent": Row(("ConsentWithdrawn",), "register", "home", "consent"),
    "join": Row(("MembershipJoined",), "register", "home", "membership"),
    "leave": Row(("MembershipLeft",), "register", "member"),
    "request_transfer": Row(("TransferRequested",), "register", "home"),
    "accept_transfer": Row(("TransferAccepted",), "register", "receiving"),
    "decline_transfer": Row(("TransferDeclined",), "register", "receiving"),
    "request_agreement": Row(("AgreementRequested",), "register", "not-home"),
    "grant_agreement": Row(("AgreementGranted",), "register", "home"),
    "decline_agreement": Row(("AgreementDeclined",), "register", "home"),
    "withdraw_agreement": Row(("AgreementWithdrawn",), "register", "home-or-holder"),
    # activities, attendance and records
    "publish_activity": Row(("ActivityPublished",), "record", "anyone"),
    "cancel_activity": Row(("ActivityCancelled",), "record", "owner-or-above"),
    "check_in": Row(("CheckedIn",), "record", "owner"),
    "check_out": Row(("CheckedOut",), "record", "owner"),
    "record_hours": Row(("HoursRecorded",), "record", "owner"),
    "approve_record": Row(("RecordApproved",), "approve", "owner-or-above"),
    "reject_record": Row(("RecordRejected",), "approve", "owner-or-above"),
    "correct_record": Row(("RecordCorrected",), "approve", "owner-or-above"),
    "void_record": Row(("RecordVoided",), "approve", "strictly-above-owner"),
    # awards and certificates
    "publish_star_scheme": Row(("StarSchemePublished",), "award", "anyone"),
    "revise_star_scheme": Row(("StarSchemeRevised",), "award", "owner"),
    "grant_honour": Row(("HonourGranted",), "award", "above-a-member"),
    "grant_organisation_honour": Row(("OrganisationHonourGranted",), "award", "owner-or-above"),
    "revoke_honour": Row(("HonourRevoked",), "award", "owner-or-above"),
    "revoke_organisation_honour": Row(("OrganisationHonourRevoked",), "award", "owner-or-above"),
    "issue_certificate": Row(("CertificateIssued",), "award", "above-a-member"),
    "revoke_certificate": Row(("CertificateRevoked",), "award", "owner-or-above"),
    # time bank
    "open_time_bank": Row(("TimeBankOpened",), "timebank", "anyone"),
    "move_volunteer_credit": Row(("CreditSent", "CreditReceived"), "timebank", "home", "credit"),
    "move_organisation_credit": Row(
        ("CreditSent", "CreditReceived"), "timebank", "account-or-bank"
    ),
    "reverse_credit": Row(("CreditSent", "CreditReceived"), "timebank", "owner-or-above"),
    # ledger calendar and erasure
    "publish_calendar": Row(("CalendarPublished",), "admin", "root"),
    "erase_personal_data": Row(("PersonalDataErased",), "erase", "above-a-member-or-root"),
    # assessment
    "publish_assessment_scheme": Row(("AssessmentSchemePublished",), "award", "anyone"),
    "revise_assessment_scheme": Row(("AssessmentSchemeRevised",), "award", "owner"),
    "assess": Row(("AssessmentPublished",), "award", "owner"),
    "attest_station_item": Row(("StationItemAttested",), "award", "strictly-above-owner"),
    "withdraw_station_item": Row(("StationItemWithdrawn",), "award", "attester-above-station"),
    "register_project": Row(("ProjectRegistered",), "award", "anyone"),
    "link_project_activity": Row(("ProjectActivityLinked",), "award", "organiser-in-project"),
    "nominate_project": Row(("ProjectNominated",), "award", "owner-or-above"),
    "commend_project": Row(
        ("OrganisationHonourGranted", "ProjectCommended"), "award", "owner-or-above"
    ),
    # reads of data that is not public
    "read_personal_data": Row((), "private", "home-or-above", "personal-data"),
}
STATION_SCHEME = "oracle-stations"  # published by the root when the city is built
CHECKLIST = ("premises", "staff")
EVIDENCE = [{"sha256": "ab" * 32}]
# Rows of the table no organisation signs on request: the genesis (made once, by `ledger init`,
# when every oracle builds its city) and the events the ledger derives with an automatic key
# (stars and credit earned follow approvals the oracle makes).
NOT_REQUESTED = {
    "LedgerCreated",
    "StarAttained",
    "StarWithdrawn",
    "CreditEarned",
    "CreditClawedBack",
    # between two ledgers: tests/integration/federation/
    "PeerPinned",
    "PeerRetired",
    "VolunteerTransferredOut",
    "InboundTransferAccepted",
    "ServiceCarriedIn",
}
# API keys over HTTP: the admin scope, and only for keys of the acting organisation or below.
API_KEY_ACTIONS = ("list_api_keys", "create_api_key", "revoke_api_key")


def documented_events() -> set[str]:
    """Every event type named in the first column of a table in docs/authority.md."""
    found: set[str] = set()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if len(cells) > 2 and "`" in cells[1]:
            found |= set(re.findall(r"`([A-Z][A-Za-z]+)`", cells[1]))
    return found


def allowed_by_position(who: str, org: str, owner: str, extra: Any = None) -> bool:
    """Does ``who`` (a rule of TABLE) let ``org`` act on a thing of ``owner``?"""
    if who == "anyone":
        return True
    if who == "root":
        return org == ROOT
    if who in ("owner", "home", "receiving"):
        return org == owner
    if who in ("owner-or-above", "home-or-above", "itself-or-ancestor"):
        return at_or_above(org, owner)
    if who == "strictly-above-owner":
        return org in ancestors(owner)
    if who == "itself-or-parent":
        return org in (owner, PARENT[owner])
    if who == "not-home":
        return org != owner
    if who == "home-or-holder":
        return org in (owner, extra)
    if who == "member":
        return org in extra
    if who == "above-a-member":
        return any(at_or_above(org, member) for member in extra)
    if who == "account-or-bank":
        return org == owner or at_or_above(org, extra)
    if who == "above-a-member-or-root":
        return org == ROOT or any(at_or_above(org, member) for member in extra)
    if who == "attester-above-station":  # owner: the station; extra: who attested the item
        return org != owner and at_or_above(org, owner) and at_or_above(org, extra)
    if who == "organiser-in-project":  # owner: the activity's organiser; extra: the project's
        return at_or_above(org, owner) and at_or_above(extra, owner)
    raise AssertionError(who)


# --- how an attempt reaches the ledger --------------------------------------------------------


@dataclass
class Answer:
    """What the ledger said: ``ok`` with a value, or the kind of refusal."""

    kind: str  # ok, authority, agreement, consent, rule, scope, not-yours
    value: dict[str, Any] = field(default_factory=dict)
    detail: str = ""
    missing: tuple[str, str] | None = None  # (right or consent purpose, home organisation)


class Driver(Protocol):
    """Carries one attempt, as ``org``, to the ledger."""

    def run(self, action: str, org: str, via: str | None, **params: Any) -> Answer: ...

    def stored(self) -> tuple[Any, ...]: ...

    def refusal_of_key(self, action: str, org: str, via: str) -> str | None: ...


def answer_of(error: LedgerError) -> Answer:
    if isinstance(error, AgreementMissingError):
        return Answer("agreement", detail=str(error), missing=(error.right, error.home))
    if isinstance(error, ConsentMissingError):
        return Answer("consent", detail=str(error), missing=(error.purpose, ""))
    if isinstance(error, KeyNotAuthorisedError):
        return Answer("authority", detail=str(error))
    return Answer("rule", detail=f"{type(error).__name__}: {error}")


def library_call(ledger: Ledger, action: str, org: str, p: dict[str, Any]) -> Any:
    """The library command for ``action`` (one line each: the oracle's map of the table)."""
    k = {"idempotency_key": "oracle-" + uuid.uuid4().hex}
    calls: dict[str, Callable[[], Any]] = {
        "register_organisation": lambda: ledger.register_organisation(
            org, org_id=p["org_id"], name="New", kind="team", region="140402", **k
        ),
        "register_key": lambda: ledger.register_key(
            org, for_org=p["for_org"], public_key=p["public_key"], **k
        ),
        "revoke_key": lambda: ledger.revoke_key(
            org, for_org=p["for_org"], key_id=p["key_id"], reason="oracle", **k
        ),
        "add_log_key": lambda: ledger.add_log_key(org, **k),
        "retire_log_key": lambda: ledger.retire_log_key(
            org, key_id=p["key_id"], reason="oracle", **k
        ),
        "set_daily_limit": lambda: ledger.set_daily_limit(org, minutes=p["minutes"], **k),
        "declare_holidays": lambda: ledger.declare_holidays(org, dates=p["dates"], **k),
        "add_service_field": lambda: ledger.add_service_field(org, field=p["field"], **k),
        "register_volunteer": lambda: ledger.register_volunteer(
            org, personal={"name": "志愿者"}, **k
        ),
        "give_consent": lambda: ledger.give_consent(
            org, number=p["number"], purpose=p["purpose"], **k
        ),
        "withdraw_consent": lambda: ledger.withdraw_consent(
            org, number=p["number"], purpose=p["purpose"], **k
        ),
        "join": lambda: ledger.join(org, number=p["number"], **k),
        "leave": lambda: ledger.leave(org, number=p["number"], **k),
        "request_transfer": lambda: ledger.request_transfer(
            org, number=p["number"], to_org=p["to_org"], **k
        ),
        "accept_transfer": lambda: ledger.accept_transfer(
            org, number=p["number"], transfer_id=p["transfer_id"], **k
        ),
        "decline_transfer": lambda: ledger.decline_transfer(
            org, number=p["number"], transfer_id=p["transfer_id"], reason="oracle", **k
        ),
        "request_agreement": lambda: ledger.request_agreement(
            org, number=p["number"], rights=p["rights"], **k
        ),
        "grant_agreement": lambda: ledger.grant_agreement(
            org, number=p["number"], agreement_id=p["agreement_id"], **k
        ),
        "decline_agreement": lambda: ledger.decline_agreement(
            org, number=p["number"], agreement_id=p["agreement_id"], reason="oracle", **k
        ),
        "withdraw_agreement": lambda: ledger.withdraw_agreement(
            org, number=p["number"], agreement_id=p["agreement_id"], reason="oracle", **k
        ),
        "publish_activity": lambda: ledger.publish_activity(
            org,
            title="Oracle service",
            field="community-governance",
            place="Square",
            starts_at=STARTS,
            ends_at=STARTS + timedelta(hours=3),
            leader="leader-01",
            content="oracle",
            station=p.get("station"),
            **k,
        ),
        "cancel_activity": lambda: ledger.cancel_activity(
            org, activity_id=p["activity_id"], reason="oracle", **k
        ),
        "check_in": lambda: ledger.check_in(
            org,
            activity_id=p["activity_id"],
            number=p["number"],
            method="manual",
            at=STARTS,
            **k,
        ),
        "check_out": lambda: ledger.check_out(
            org,
            activity_id=p["activity_id"],
            number=p["number"],
            method="manual",
            at=STARTS + timedelta(hours=1),
            **k,
        ),
        "record_hours": lambda: ledger.record_hours(
            org,
            activity_id=p["activity_id"],
            number=p["number"],
            minutes=60,
            service_date=SERVICE_DAY,
            **k,
        ),
        "approve_record": lambda: ledger.approve_record(org, record_id=p["record_id"], **k),
        "reject_record": lambda: ledger.reject_record(
            org, record_id=p["record_id"], reason="oracle", **k
        ),
        "correct_record": lambda: ledger.correct_record(
            org, record_id=p["record_id"], delta_minutes=-10, reason="oracle", **k
        ),
        "void_record": lambda: ledger.void_record(
            org, record_id=p["record_id"], grounds="oracle", **k
        ),
        "publish_star_scheme": lambda: ledger.publish_star_scheme(
            org, scheme_id=p["scheme_id"], name="Stars", thresholds_hours=[1, 2], **k
        ),
        "revise_star_scheme": lambda: ledger.revise_star_scheme(
            org, scheme_id=p["scheme_id"], name="Stars", thresholds_hours=[1, 3], **k
        ),
        "grant_honour": lambda: ledger.grant_honour(
            org,
            recipient_kind="volunteer",
            recipient=p["recipient"],
            honour="Thanks",
            citation="oracle",
            granted_on=SERVICE_DAY,
            **k,
        ),
        "grant_organisation_honour": lambda: ledger.grant_honour(
            org,
            recipient_kind="organisation",
            recipient=p["recipient"],
            honour="Thanks",
            citation="oracle",
            granted_on=SERVICE_DAY,
            **k,
        ),
        "revoke_honour": lambda: ledger.revoke_honour(
            org,
            recipient_kind="volunteer",
            recipient=p["recipient"],
            honour_id=p["honour_id"],
            reason="oracle",
            **k,
        ),
        "revoke_organisation_honour": lambda: ledger.revoke_honour(
            org,
            recipient_kind="organisation",
            recipient=p["recipient"],
            honour_id=p["honour_id"],
            reason="oracle",
            **k,
        ),
        "issue_certificate": lambda: ledger.issue_certificate(
            org,
            number=p["number"],
            period_from=SERVICE_DAY,
            period_to=SERVICE_DAY,
            issuer_contact="office",
            **k,
        ),
        "revoke_certificate": lambda: ledger.revoke_certificate(
            org, certificate_number=p["certificate_number"], reason="oracle", **k
        ),
        "open_time_bank": lambda: ledger.open_time_bank(org, bank_id=p["bank_id"], **k),
        "move_volunteer_credit": lambda: ledger.transfer_credit(
            org,
            bank_id=p["bank_id"],
            from_account=p["from_account"],
            to_account=p["to_account"],
            amount=p["amount"],
            **k,
        ),
        "move_organisation_credit": lambda: ledger.transfer_credit(
            org,
            bank_id=p["bank_id"],
            from_account=p["from_account"],
            to_account=p["to_account"],
            amount=p["amount"],
            **k,
        ),
        "reverse_credit": lambda: ledger.reverse_transfer(
            org, bank_id=p["bank_id"], transfer_id=p["transfer_id"], **k
        ),
        "read_personal_data": lambda: {"personal": ledger.personal_data_of(org, p["number"])},
        "publish_calendar": lambda: ledger.publish_calendar(
            org,
            time_zone="Asia/Shanghai",
            holidays=p["holidays"],
            working_days=[],
            **k,
        ),
        "erase_personal_data": lambda: ledger.erase_personal_data(p["number"], org=org, **k),
        "publish_assessment_scheme": lambda: ledger.publish_assessment_scheme(
            org, scheme=p["scheme"], **k
        ),
        "revise_assessment_scheme": lambda: ledger.revise_assessment_scheme(
            org, scheme=p["scheme"], **k
        ),
        "assess": lambda: ledger.assess(org, scheme_id=p["scheme_id"], period="2026", **k),
        "attest_station_item": lambda: ledger.attest_station_item(
            org,
            station=p["station"],
            scheme_id=STATION_SCHEME,
            item=p["item"],
            evidence=EVIDENCE,
            attested_on=SERVICE_DAY,
            **k,
        ),
        "withdraw_station_item": lambda: ledger.withdraw_station_item(
            org,
            station=p["station"],
            scheme_id=STATION_SCHEME,
            item=p["item"],
            reason="oracle",
            **k,
        ),
        "register_project": lambda: ledger.register_project(
            org,
            project_id=p["project_id"],
            name="Project",
            field="community-governance",
            description="oracle",
            **k,
        ),
        "link_project_activity": lambda: ledger.link_project_activity(
            org, project_id=p["project_id"], activity_id=p["activity_id"], **k
        ),
        "nominate_project": lambda: ledger.nominate_project(
            org, project_id=p["project_id"], nomination="Best", nominated_on=SERVICE_DAY, **k
        ),
        "commend_project": lambda: ledger.commend_project(
            org,
            project_id=p["project_id"],
            honour="Brand",
            citation="oracle",
            granted_on=SERVICE_DAY,
            **k,
        ),
    }
    return calls[action]()


class LibraryDriver:
    """Method calls on a :class:`Ledger`."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def run(self, action: str, org: str, via: str | None, **params: Any) -> Answer:
        try:
            result = library_call(self.ledger, action, org, params)
        except LedgerError as error:
            return answer_of(error)
        value = result if isinstance(result, dict) else result.value.to_json()
        return Answer("ok", value)

    def refusal_of_key(self, action: str, org: str, via: str) -> str | None:
        return None  # the library has no API keys: ``via`` is the HTTP oracle's

    def stored(self) -> tuple[Any, ...]:
        """The log, the events, and the rows beside them (idempotency claims, side rows)."""
        recorder: Any = self.ledger._recorder
        counts: tuple[Any, ...] = ()
        if self.ledger.store.kind == "sqlite":
            counts = tuple(
                recorder._query(f"SELECT count(*) FROM {table}", [])[0][0]
                for table in ("ledger_idempotency", "ledger_side")
            )
        elif self.ledger.store.kind == "postgresql":
            counts = tuple(
                recorder._fetch(recorder._sql(f"SELECT count(*) AS n FROM {{schema}}.{{{t}}}"), [])[
                    0
                ]["n"]
                for t in ("claims", "side")
            )
        return self.ledger.log_size(), recorder.max_notification_id(), *counts


# --- the model and the machine ----------------------------------------------------------------


@dataclass
class Person:
    home: str
    members: set[str]
    consents: dict[str, bool] = field(default_factory=dict)
    agreements: dict[str, list[Any]] = field(default_factory=dict)  # id -> [org, rights, status]
    transfers: dict[str, list[str]] = field(default_factory=dict)  # id -> [to, status]

    def holds(self, org: str, right: str | None) -> bool:
        return right is not None and any(
            a[0] == org and a[2] == "granted" and right in a[1] for a in self.agreements.values()
        )


@dataclass
class World:
    """What lasts beyond one example (the HTTP oracle's server keeps its ledger): banks, extra
    signing keys, log keys, settings."""

    banks: dict[str, str] = field(default_factory=lambda: {ROOT: BANK})
    extra_keys: dict[str, list[str]] = field(default_factory=dict)  # org -> key ids
    log_keys: list[str] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)
    attested: dict[str, str] = field(default_factory=dict)  # checklist item -> attester
    tried: Counter[tuple[str, str]] = field(default_factory=Counter)


WHO = st.sampled_from(ORGS)
PICK = st.integers(0, 1000)
# how the HTTP oracle reaches the server (the library oracle has no keys and ignores it): the
# organisation's own API key, an ancestor's acting for it, a stranger's, its own key without
# the route's scope, or a body it signed itself submitted to POST /events
VIA = st.sampled_from(["own", "ancestor", "stranger", "scope", "signed"])


def letters(n: int) -> str:
    return "".join(chr(ord("a") + int(c, 16) % 26) for c in uuid.uuid4().hex[:n])


class TableOracle(RuleBasedStateMachine):
    """Subclasses set :meth:`make_driver` (and, for HTTP, what ``via`` means)."""

    world: World
    driver: Driver

    def __init__(self) -> None:
        super().__init__()
        self.driver, self.world = self.make_driver()
        self.people: dict[str, Person] = {}
        self.activities: dict[str, str] = {}  # id -> organisation
        self.cancelled: set[str] = set()
        self.records: dict[str, list[str]] = {}  # id -> [recorder, number, status]
        self.schemes: dict[str, str] = {}  # id -> owner
        self.honours: dict[str, tuple[str, str, str]] = {}  # id -> (granter, kind, recipient)
        self.certificates: dict[str, str] = {}  # number -> issuer
        self.credit: dict[str, str] = {}  # transfer id -> bank id
        self.erased: set[str] = set()
        self.assessment_schemes: dict[str, str] = {}  # id -> owner
        self.projects: dict[str, str] = {}  # id -> owner

    def make_driver(self) -> tuple[Driver, World]:
        raise NotImplementedError

    # -- the check every attempt goes through

    def attempt(
        self,
        action: str,
        org: str,
        expected: str,
        via: str = "own",
        *,
        also: tuple[str, ...] = (),
        **params: Any,
    ) -> Answer:
        """``expected``: ``ok``, or the refusal; ``also``: other answers the model allows
        (``rule`` where it does not follow balances or attendance)."""
        self.world.tried[(action, org)] += 1
        before = self.driver.stored()
        keyed = self.driver.refusal_of_key(action, org, via)
        if keyed is not None:
            expected, also = keyed, ()  # the key itself cannot act, whatever the table says
        got = self.driver.run(action, org, via, **params)
        assert got.kind == expected or got.kind in also, (
            f"{action} by {org} ({via}) {params}: expected {expected}{also}, got {got}"
        )
        if got.kind != "ok":
            assert self.driver.stored() == before, f"{action} by {org} refused, yet stored"
        if got.kind == "agreement":  # the refusal names the right and who would grant it
            number = params.get("number") or str(params.get("from_account", "")).split(":")[-1]
            assert got.missing == (TABLE[action].right, self.people[number].home), got
        if got.kind == "consent":
            assert got.missing == (SHARE, ""), got
        return got

    def refusal(self, row: Row, org: str, owner: str, extra: Any = None, **person: Any) -> str:
        """``ok`` or the refusal the table names for ``org``."""
        if allowed_by_position(row.who, org, owner, extra):
            return "ok"
        holder = person.get("person")
        if row.right is not None and holder is not None and holder.holds(org, row.right):
            return "ok"
        return "agreement" if row.right is not None else "authority"

    def pick(self, pool: dict[str, Any], pick: int) -> str | None:
        return sorted(pool)[pick % len(pool)] if pool else None

    # -- making things the other rules act on (each made through the driver, and checked)

    def new_person(self, org: str, via: str = "own") -> str:
        got = self.attempt("register_volunteer", org, "ok", via)
        if got.kind != "ok":
            org = PARENT[org] or ROOT
            got = self.attempt("register_volunteer", org, "ok", "own")
        number = str(got.value["number"])
        self.people[number] = Person(home=org, members={org})
        return number

    def person(self, pick: int) -> tuple[str, Person]:
        number = self.pick(self.people, pick) or self.new_person(ORGS[pick % len(ORGS)])
        return number, self.people[number]

    def activity(self, pick: int, *, open_only: bool = False) -> str:
        pool = {a: o for a, o in self.activities.items() if a not in self.cancelled}
        found = self.pick(pool if open_only else self.activities, pick)
        if found is not None:
            return found
        org = ORGS[pick % len(ORGS)]
        got = self.attempt("publish_activity", org, "ok")
        self.activities[got.value["activity_id"]] = org
        return str(got.value["activity_id"])

    def record(self, pick: int, *, fresh: bool = False) -> str:
        found = None if fresh else self.pick(self.records, pick)
        if found is not None:
            return found
        activity_id = self.activity(pick, open_only=True)
        owner = self.activities[activity_id]
        number = self.new_person(owner)
        got = self.attempt("record_hours", owner, "ok", activity_id=activity_id, number=number)
        self.records[got.value["record_id"]] = [owner, number, "pending"]
        return str(got.value["record_id"])

    # -- organisations and keys

    @rule(org=WHO, via=VIA)
    def register_organisation(self, org: str, via: str) -> None:
        expected = "rule" if org == STATION else "ok"  # a station has no organisations below
        self.attempt("register_organisation", org, expected, via, org_id="x" + letters(10))

    @rule(org=WHO, of=WHO, via=VIA)
    def register_key(self, org: str, of: str, via: str) -> None:
        key = SigningKey.generate()
        row = TABLE["register_key"]
        got = self.attempt(
            "register_key",
            org,
            self.refusal(row, org, of),
            via,
            for_org=of,
            public_key=key.public_key,
        )
        if got.kind == "ok":
            self.world.extra_keys.setdefault(of, []).append(key.key_id)

    @rule(org=WHO, of=WHO, via=VIA)
    def revoke_key(self, org: str, of: str, via: str) -> None:
        if not self.world.extra_keys.get(of):
            self.register_key(of, of, "own")
        key_id = self.world.extra_keys[of][-1]
        got = self.attempt(
            "revoke_key",
            org,
            self.refusal(TABLE["revoke_key"], org, of),
            via,
            for_org=of,
            key_id=key_id,
        )
        if got.kind == "ok":
            self.world.extra_keys[of].remove(key_id)

    @rule(org=WHO, via=VIA)
    def add_log_key(self, org: str, via: str) -> None:
        got = self.attempt("add_log_key", org, "ok" if org == ROOT else "authority", via)
        if got.kind == "ok":
            self.world.log_keys.append(str(got.value["key_id"]))

    @rule(org=WHO, via=VIA)
    def retire_log_key(self, org: str, via: str) -> None:
        if not self.world.log_keys:
            self.add_log_key(ROOT, "own")
        key_id = self.world.log_keys[-1]
        expected = "ok" if org == ROOT else "authority"
        got = self.attempt("retire_log_key", org, expected, via, key_id=key_id)
        if got.kind == "ok":
            self.world.log_keys.remove(key_id)

    @rule(org=WHO, via=VIA, minutes=st.integers(600, 1440))
    def set_daily_limit(self, org: str, via: str, minutes: int) -> None:
        expected = "ok" if org == ROOT else "authority"
        self.attempt("set_daily_limit", org, expected, via, minutes=minutes)

    @rule(org=WHO, via=VIA, day=st.integers(0, 300))
    def declare_holidays(self, org: str, via: str, day: int) -> None:
        holiday = (date(2031, 1, 1) + timedelta(days=day)).isoformat()  # none the oracle uses
        expected = "ok" if org == ROOT else "authority"
        self.attempt("declare_holidays", org, expected, via, dates=[holiday])

    @rule(org=WHO, via=VIA)
    def add_service_field(self, org: str, via: str) -> None:
        name = "oracle-" + letters(8)
        expected = "ok" if org == ROOT else "authority"
        self.attempt("add_service_field", org, expected, via, field=name)

    # -- volunteers

    @rule(org=WHO, via=VIA)
    def register_volunteer(self, org: str, via: str) -> None:
        self.new_person(org, via)

    @rule(
        org=WHO, pick=PICK, via=VIA, give=st.booleans(), purpose=st.sampled_from([SHARE, "photos"])
    )
    def consent(self, org: str, pick: int, via: str, give: bool, purpose: str) -> None:
        number, person = self.person(pick)
        action = "give_consent" if give else "withdraw_consent"
        expected = self.refusal(TABLE[action], org, person.home, person=person)
        got = self.attempt(action, org, expected, via, number=number, purpose=purpose)
        if got.kind == "ok":
            person.consents[purpose] = give

    @rule(org=WHO, pick=PICK, via=VIA)
    def join(self, org: str, pick: int, via: str) -> None:
        number, person = self.person(pick)
        expected = self.refusal(TABLE["join"], org, person.home, person=person)
        if expected == "ok" and org in person.members:
            expected = "rule"
        got = self.attempt("join", org, expected, via, number=number)
        if got.kind == "ok":
            person.members.add(org)

    @rule(org=WHO, pick=PICK, via=VIA)
    def leave(self, org: str, pick: int, via: str) -> None:
        number, person = self.person(pick)
        expected = self.refusal(TABLE["leave"], org, person.home, person.members)
        if expected == "ok" and org == person.home:
            expected = "rule"  # the home transfers the volunteer instead
        got = self.attempt("leave", org, expected, via, number=number)
        if got.kind == "ok":
            person.members.discard(org)

    @rule(org=WHO, pick=PICK, to=WHO, via=VIA)
    def request_transfer(self, org: str, pick: int, to: str, via: str) -> None:
        number, person = self.person(pick)
        expected = self.refusal(TABLE["request_transfer"], org, person.home)
        pending = any(t == to and s == "requested" for t, s in person.transfers.values())
        if expected == "ok" and (to in person.members or pending):
            expected = "rule"
        got = self.attempt("request_transfer", org, expected, via, number=number, to_org=to)
        if got.kind == "ok":
            person.transfers[str(got.value["transfer_id"])] = [to, "requested"]

    @rule(org=WHO, pick=PICK, via=VIA, accept=st.booleans())
    def answer_transfer(self, org: str, pick: int, via: str, accept: bool) -> None:
        if not self.asked_transfers():
            number, person = self.person(pick)
            others = [o for o in ORGS if o not in person.members]
            self.request_transfer(person.home, pick, others[pick % len(others)], "own")
        asked = self.asked_transfers()
        if not asked:
            return
        number, transfer_id = sorted(asked)[pick % len(asked)]
        person = asked[(number, transfer_id)]
        to = person.transfers[transfer_id][0]
        action = "accept_transfer" if accept else "decline_transfer"
        expected = self.refusal(TABLE[action], org, to)
        if accept and person.transfers[transfer_id][1] == "lapsed":
            expected = "authority"  # asked by a home the volunteer has left: decline only
        got = self.attempt(action, org, expected, via, number=number, transfer_id=transfer_id)
        if got.kind != "ok":
            return
        person.transfers[transfer_id][1] = "accepted" if accept else "declined"
        if accept:
            person.members.discard(person.home)
            person.members.add(to)
            person.home = to
            for other in person.transfers.values():  # a new home: old requests lapse
                if other[1] == "requested":
                    other[1] = "lapsed"

    def asked_transfers(self) -> dict[tuple[str, str], Person]:
        return {
            (n, t): p
            for n, p in self.people.items()
            for t, (_, s) in p.transfers.items()
            if s in ("requested", "lapsed")
        }

    @rule(org=WHO, pick=PICK, via=VIA, rights=st.sets(st.sampled_from(RIGHTS), min_size=1))
    def request_agreement(self, org: str, pick: int, via: str, rights: set[str]) -> None:
        number, person = self.person(pick)
        expected = "ok" if org != person.home else "rule"  # the home needs no agreement
        got = self.attempt(
            "request_agreement", org, expected, via, number=number, rights=sorted(rights)
        )
        if got.kind == "ok":
            person.agreements[str(got.value["agreement_id"])] = [org, sorted(rights), "requested"]

    @rule(org=WHO, pick=PICK, via=VIA, answer=st.sampled_from(["grant", "decline", "withdraw"]))
    def answer_agreement(self, org: str, pick: int, via: str, answer: str) -> None:
        if not any(p.agreements for p in self.people.values()):
            number, person = self.person(pick)
            asker = next(o for o in ORGS if o != person.home)
            self.request_agreement(asker, pick, "own", {RIGHTS[pick % len(RIGHTS)]})
        found = [(n, a) for n, p in self.people.items() for a in p.agreements]
        number, agreement_id = sorted(found)[pick % len(found)]
        person = self.people[number]
        holder, _, status = person.agreements[agreement_id]
        action = f"{answer}_agreement"
        expected = self.refusal(TABLE[action], org, person.home, holder)
        if expected == "ok" and status != ("granted" if answer == "withdraw" else "requested"):
            expected = "rule"
        got = self.attempt(action, org, expected, via, number=number, agreement_id=agreement_id)
        if got.kind == "ok":
            person.agreements[agreement_id][2] = {
                "grant": "granted",
                "decline": "declined",
                "withdraw": "withdrawn",
            }[answer]

    @rule(org=WHO, pick=PICK)
    def read_personal_data(self, org: str, pick: int) -> None:
        number, person = self.person(pick)
        expected = self.refusal(TABLE["read_personal_data"], org, person.home, person=person)
        if expected == "ok" and number in self.erased:
            expected = "rule"  # gone for good, consent or not
        if expected == "ok" and not person.consents.get(SHARE):
            expected = "consent"
        got = self.attempt("read_personal_data", org, expected, "own", number=number)
        if got.kind == "ok":
            assert got.value["personal"] == {"name": "志愿者"}

    # -- activities, attendance and records

    @rule(org=WHO, via=VIA, station=st.booleans())
    def publish_activity(self, org: str, via: str, station: bool) -> None:
        named = STATION if station else None
        expected = "rule" if station and not at_or_above(org, STATION) else "ok"
        got = self.attempt("publish_activity", org, expected, via, station=named)
        if got.kind == "ok":
            self.activities[str(got.value["activity_id"])] = org

    @rule(org=WHO, pick=PICK, via=VIA)
    def cancel_activity(self, org: str, pick: int, via: str) -> None:
        activity_id = self.activity(pick)
        owner = self.activities[activity_id]
        expected = self.refusal(TABLE["cancel_activity"], org, owner)
        got = self.attempt(
            "cancel_activity", org, expected, via, also=("rule",), activity_id=activity_id
        )
        if got.kind == "ok":  # it takes no more records; kept for the refusals
            self.cancelled.add(activity_id)

    @rule(org=WHO, pick=PICK, via=VIA, out=st.booleans())
    def attend(self, org: str, pick: int, via: str, out: bool) -> None:
        activity_id = self.activity(pick, open_only=True)
        number, _ = self.person(pick)
        action = "check_out" if out else "check_in"
        expected = self.refusal(TABLE[action], org, self.activities[activity_id])
        self.attempt(
            action, org, expected, via, also=("rule",), activity_id=activity_id, number=number
        )

    @rule(org=WHO, pick=PICK, via=VIA)
    def record_hours(self, org: str, pick: int, via: str) -> None:
        activity_id = self.activity(pick)
        number, _ = self.person(pick)
        expected = self.refusal(TABLE["record_hours"], org, self.activities[activity_id])
        got = self.attempt(
            "record_hours",
            org,
            expected,
            via,
            also=("rule",),  # cancelled, or the volunteer recorded there already
            activity_id=activity_id,
            number=number,
        )
        if got.kind == "ok":
            self.records[str(got.value["record_id"])] = [org, number, "pending"]

    @rule(
        org=WHO,
        pick=PICK,
        via=VIA,
        action=st.sampled_from(
            ["approve_record", "reject_record", "correct_record", "void_record"]
        ),
    )
    def decide_record(self, org: str, pick: int, via: str, action: str) -> None:
        record_id = self.record(pick)
        recorder, _, status = self.records[record_id]
        expected = self.refusal(TABLE[action], org, recorder)
        got = self.attempt(action, org, expected, via, also=("rule",), record_id=record_id)
        if got.kind == "ok":
            self.records[record_id][2] = action.split("_")[0]
        if got.kind != "rule":
            return
        # refused by a rule: only for a reason the model can name
        assert status != "pending" or action in ("correct_record", "void_record"), got

    # -- awards and certificates

    @rule(org=WHO, via=VIA)
    def publish_star_scheme(self, org: str, via: str) -> None:
        scheme_id = "s-" + letters(10)
        got = self.attempt("publish_star_scheme", org, "ok", via, scheme_id=scheme_id)
        if got.kind == "ok":
            self.schemes[scheme_id] = org

    @rule(org=WHO, pick=PICK, via=VIA)
    def revise_star_scheme(self, org: str, pick: int, via: str) -> None:
        scheme_id = self.pick(self.schemes, pick)
        if scheme_id is None:
            self.publish_star_scheme(ORGS[pick % len(ORGS)], "own")
            scheme_id = self.pick(self.schemes, pick)
            assert scheme_id is not None
        expected = self.refusal(TABLE["revise_star_scheme"], org, self.schemes[scheme_id])
        self.attempt("revise_star_scheme", org, expected, via, scheme_id=scheme_id)

    @rule(org=WHO, pick=PICK, via=VIA, of_org=st.booleans())
    def grant_honour(self, org: str, pick: int, via: str, of_org: bool) -> None:
        if of_org:
            recipient = ORGS[pick % len(ORGS)]
            action, extra = "grant_organisation_honour", None
            expected = self.refusal(TABLE[action], org, recipient)
        else:
            recipient, person = self.person(pick)
            action, extra = "grant_honour", person.members
            expected = self.refusal(TABLE[action], org, person.home, extra)
        got = self.attempt(action, org, expected, via, recipient=recipient)
        if got.kind == "ok":
            kind = "organisation" if of_org else "volunteer"
            self.honours[str(got.value["honour_id"])] = (org, kind, recipient)

    @rule(org=WHO, pick=PICK, via=VIA, of_org=st.booleans())
    def revoke_honour(self, org: str, pick: int, via: str, of_org: bool) -> None:
        kind = "organisation" if of_org else "volunteer"
        honour_id = self.pick({h: v for h, v in self.honours.items() if v[1] == kind}, pick)
        if honour_id is None:
            self.grant_honour(ROOT, pick, "own", of_org)
            honour_id = self.pick({h: v for h, v in self.honours.items() if v[1] == kind}, pick)
            assert honour_id is not None
        granter, kind, recipient = self.honours[honour_id]
        action = "revoke_honour" if kind == "volunteer" else "revoke_organisation_honour"
        expected = self.refusal(TABLE[action], org, granter)
        got = self.attempt(
            action, org, expected, via, also=("rule",), honour_id=honour_id, recipient=recipient
        )
        if got.kind == "ok":
            del self.honours[honour_id]

    @rule(org=WHO, pick=PICK, via=VIA)
    def issue_certificate(self, org: str, pick: int, via: str) -> None:
        number, person = self.person(pick)
        expected = self.refusal(TABLE["issue_certificate"], org, person.home, person.members)
        # allowed, it may still find no approved hours to certify
        got = self.attempt("issue_certificate", org, expected, via, also=("rule",), number=number)
        if got.kind == "ok":
            self.certificates[str(got.value["certificate_number"])] = org

    @rule(org=WHO, pick=PICK, via=VIA)
    def revoke_certificate(self, org: str, pick: int, via: str) -> None:
        found = self.pick(self.certificates, pick)
        if found is None:
            self.certified(pick)
            found = self.pick(self.certificates, pick)
            if found is None:
                return
        expected = self.refusal(TABLE["revoke_certificate"], org, self.certificates[found])
        got = self.attempt(
            "revoke_certificate", org, expected, via, also=("rule",), certificate_number=found
        )
        if got.kind == "ok":
            del self.certificates[found]

    def certified(self, pick: int) -> None:
        """Approved hours and a certificate for them, each step through the driver."""
        record_id = self.record(pick, fresh=True)
        recorder, number, status = self.records[record_id]
        if status == "pending":
            self.attempt("approve_record", recorder, "ok", record_id=record_id)
            self.records[record_id][2] = "approve"
        got = self.attempt("issue_certificate", recorder, "ok", also=("rule",), number=number)
        if got.kind == "ok":
            self.certificates[str(got.value["certificate_number"])] = recorder

    # -- the time bank

    @rule(org=WHO, via=VIA)
    def open_time_bank(self, org: str, via: str) -> None:
        bank_id = "b-" + letters(10)
        expected = "rule" if org in self.world.banks else "ok"  # one bank per organisation
        got = self.attempt("open_time_bank", org, expected, via, bank_id=bank_id)
        if got.kind == "ok":
            self.world.banks[org] = bank_id

    @rule(org=WHO, pick=PICK, via=VIA, to=WHO)
    def move_volunteer_credit(self, org: str, pick: int, via: str, to: str) -> None:
        number, person = self.person(pick)
        expected = self.refusal(TABLE["move_volunteer_credit"], org, person.home, person=person)
        got = self.attempt(
            "move_volunteer_credit",
            org,
            expected,
            via,
            also=("rule",),  # the account may hold less than asked
            bank_id=BANK,
            from_account=f"{BANK}:vol:{number}",
            to_account=f"{BANK}:org:{to}",
            amount=1,
        )
        if got.kind == "ok":
            self.credit[str(got.value["transfer_id"])] = BANK

    @rule(org=WHO, pick=PICK, via=VIA, owner=WHO)
    def move_organisation_credit(self, org: str, pick: int, via: str, owner: str) -> None:
        number, _ = self.person(pick)
        bank_owner = sorted(self.world.banks)[pick % len(self.world.banks)]
        bank_id = self.world.banks[bank_owner]
        row = TABLE["move_organisation_credit"]
        expected = self.refusal(row, org, owner, bank_owner)
        self.attempt(
            "move_organisation_credit",
            org,
            expected,
            via,
            also=("rule",),  # the account may hold less than asked
            bank_id=bank_id,
            from_account=f"{bank_id}:org:{owner}",
            to_account=f"{bank_id}:vol:{number}",
            amount=1,
        )

    @rule(org=WHO, pick=PICK, via=VIA)
    def reverse_credit(self, org: str, pick: int, via: str) -> None:
        transfer_id = self.pick(self.credit, pick)
        if transfer_id is None:
            self.funded_transfer(pick)
            transfer_id = self.pick(self.credit, pick)
            if transfer_id is None:
                return
        bank_id = self.credit[transfer_id]
        bank_owner = next(o for o, b in self.world.banks.items() if b == bank_id)
        expected = self.refusal(TABLE["reverse_credit"], org, bank_owner)
        got = self.attempt(
            "reverse_credit",
            org,
            expected,
            via,
            also=("rule",),  # reversed already, or the credit moved on
            bank_id=bank_id,
            transfer_id=transfer_id,
        )
        if got.kind == "ok":
            del self.credit[transfer_id]

    def funded_transfer(self, pick: int) -> None:
        """Approved hours earn credit in the nearest bank at or above the recording
        organisation; the volunteer's home sends one minute of it on."""
        record_id = self.record(pick, fresh=True)
        recorder, number, status = self.records[record_id]
        if status == "pending":
            self.attempt("approve_record", recorder, "ok", record_id=record_id)
            self.records[record_id][2] = "approve"
        bank = next(
            self.world.banks[o] for o in [recorder, *ancestors(recorder)] if o in self.world.banks
        )
        home = self.people[number].home
        got = self.attempt(
            "move_volunteer_credit",
            home,
            "ok",
            bank_id=bank,
            from_account=f"{bank}:vol:{number}",
            to_account=f"{bank}:org:{home}",
            amount=1,
        )
        if got.kind == "ok":
            self.credit[str(got.value["transfer_id"])] = bank

    # -- the calendar and erasure

    @rule(org=WHO, via=VIA, day=st.integers(0, 300))
    def publish_calendar(self, org: str, via: str, day: int) -> None:
        holiday = (date(2032, 1, 1) + timedelta(days=day)).isoformat()
        expected = "ok" if org == ROOT else "authority"
        self.attempt("publish_calendar", org, expected, via, holidays=[holiday])

    @rule(org=WHO, pick=PICK, via=VIA)
    def erase_personal_data(self, org: str, pick: int, via: str) -> None:
        number, person = self.person(pick)
        row = TABLE["erase_personal_data"]
        expected = self.refusal(row, org, person.home, person.members)
        got = self.attempt("erase_personal_data", org, expected, via, number=number)
        if got.kind == "ok":
            self.erased.add(number)

    # -- assessment: schemes, runs, station standards, brand projects

    @rule(org=WHO, via=VIA)
    def publish_assessment_scheme(self, org: str, via: str) -> None:
        scheme_id = "a-" + letters(10)
        got = self.attempt(
            "publish_assessment_scheme", org, "ok", via, scheme=assessment_scheme(scheme_id)
        )
        if got.kind == "ok":
            self.assessment_schemes[scheme_id] = org

    def assessment_scheme_of(self, pick: int) -> str:
        found = self.pick(self.assessment_schemes, pick)
        if found is None:
            self.publish_assessment_scheme(ORGS[pick % len(ORGS)], "own")
            found = self.pick(self.assessment_schemes, pick)
            assert found is not None
        return found

    @rule(org=WHO, pick=PICK, via=VIA)
    def revise_assessment_scheme(self, org: str, pick: int, via: str) -> None:
        scheme_id = self.assessment_scheme_of(pick)
        owner = self.assessment_schemes[scheme_id]
        expected = self.refusal(TABLE["revise_assessment_scheme"], org, owner)
        self.attempt(
            "revise_assessment_scheme",
            org,
            expected,
            via,
            scheme=assessment_scheme(scheme_id, name="Revised"),
        )

    @rule(org=WHO, pick=PICK, via=VIA)
    def assess(self, org: str, pick: int, via: str) -> None:
        scheme_id = self.assessment_scheme_of(pick)
        expected = self.refusal(TABLE["assess"], org, self.assessment_schemes[scheme_id])
        # allowed, a second run of a period may be refused as a repeat
        self.attempt("assess", org, expected, via, also=("rule",), scheme_id=scheme_id)

    @rule(org=WHO, via=VIA, item=st.sampled_from(CHECKLIST))
    def attest_station_item(self, org: str, via: str, item: str) -> None:
        expected = self.refusal(TABLE["attest_station_item"], org, STATION)
        if expected == "ok" and item in self.world.attested:
            expected = "rule"
        got = self.attempt("attest_station_item", org, expected, via, station=STATION, item=item)
        if got.kind == "ok":
            self.world.attested[item] = org

    @rule(org=WHO, via=VIA, item=st.sampled_from(CHECKLIST))
    def withdraw_station_item(self, org: str, via: str, item: str) -> None:
        if item not in self.world.attested:
            self.attest_station_item(ROOT if item == CHECKLIST[0] else "south", "own", item)
        attester = self.world.attested[item]
        expected = self.refusal(TABLE["withdraw_station_item"], org, STATION, attester)
        got = self.attempt("withdraw_station_item", org, expected, via, station=STATION, item=item)
        if got.kind == "ok":
            del self.world.attested[item]

    @rule(org=WHO, via=VIA)
    def register_project(self, org: str, via: str) -> None:
        project_id = "p-" + letters(10)
        got = self.attempt("register_project", org, "ok", via, project_id=project_id)
        if got.kind == "ok":
            self.projects[project_id] = org

    def project_of(self, pick: int) -> str:
        found = self.pick(self.projects, pick)
        if found is None:
            self.register_project(ORGS[pick % len(ORGS)], "own")
            found = self.pick(self.projects, pick)
            assert found is not None
        return found

    @rule(org=WHO, pick=PICK, via=VIA)
    def link_project_activity(self, org: str, pick: int, via: str) -> None:
        project_id = self.project_of(pick)
        activity_id = self.activity(pick // 7, open_only=True)
        organiser = self.activities[activity_id]
        row = TABLE["link_project_activity"]
        expected = self.refusal(row, org, organiser, self.projects[project_id])
        self.attempt(
            "link_project_activity",
            org,
            expected,
            via,
            also=("rule",),  # linked already
            project_id=project_id,
            activity_id=activity_id,
        )

    @rule(org=WHO, pick=PICK, via=VIA, commend=st.booleans())
    def nominate_project(self, org: str, pick: int, via: str, commend: bool) -> None:
        project_id = self.project_of(pick)
        action = "commend_project" if commend else "nominate_project"
        expected = self.refusal(TABLE[action], org, self.projects[project_id])
        self.attempt(action, org, expected, via, project_id=project_id)


def assessment_scheme(scheme_id: str, name: str = "Oracle units") -> dict[str, Any]:
    return {
        "scheme_id": scheme_id,
        "name": name,
        "unit_kind": "organisation",
        "indicators": [{"indicator": "registered-volunteers", "weight": 1000, "target": 5}],
        "bands": [{"band": "standard", "min_score": 400}],
    }


def build_city(ledger: Ledger) -> None:
    """The tree, a signing and an automatic-awards key for each organisation, the root's bank."""
    ledger.create(
        name="Oracle city",
        root_org_id=ROOT,
        root_name="Oracle City Federation",
        region="140400",
        origin="oracle.test.example/log",
    )
    for org in ORGS:
        parent = PARENT[org]
        if parent is not None:
            ledger.register_organisation(
                parent,
                org_id=org,
                name=f"Org {org}",
                kind="station" if org == STATION else "organisation",
                region="140402",
                idempotency_key=f"org-{org}",
            )
            ledger.new_key(parent, for_org=org, idempotency_key=f"key-{org}")
        ledger.new_key(
            parent or org, for_org=org, idempotency_key=f"auto-{org}", purpose="automatic-awards"
        )
    ledger.open_time_bank(ROOT, bank_id=BANK, idempotency_key="bank")
    ledger.publish_assessment_scheme(
        ROOT,
        scheme={
            "scheme_id": STATION_SCHEME,
            "name": "Station standard",
            "unit_kind": "station",
            "indicators": [{"indicator": "station-checklist-met", "weight": 1000, "target": 1000}],
            "bands": [{"band": "standard", "min_score": 500}],
            "checklist": [{"item": item, "title": item} for item in CHECKLIST],
        },
        idempotency_key="station-scheme",
    )


def sweep(machine: TableOracle, rounds: int = 6) -> None:
    """Every rule of the machine with every organisation, in a fixed order, several picks."""
    for pick in range(rounds):
        for org in ORGS:
            machine.register_volunteer(org, "own")
            machine.publish_activity(org, "own", False)
        for org in ORGS:
            for target in ORGS:
                machine.register_key(org, target, "own")
                machine.revoke_key(org, target, "own")
                machine.request_transfer(org, pick, target, "own")
                machine.move_volunteer_credit(org, pick, "own", target)
                machine.move_organisation_credit(org, pick, "own", target)
            machine.register_organisation(org, "own")
            machine.add_log_key(org, "own")
            machine.retire_log_key(org, "own")
            machine.set_daily_limit(org, "own", 1440)
            machine.declare_holidays(org, "own", pick)
            machine.add_service_field(org, "own")
            for give in (True, False, True):
                machine.consent(org, pick, "own", give, SHARE)
            machine.join(org, pick, "own")
            machine.leave(org, pick, "own")
            for rights in ({"membership"}, {"personal-data", "credit", "consent"}):
                machine.request_agreement(org, pick, "own", rights)
            for answer in ("grant", "decline", "withdraw"):
                machine.answer_agreement(org, pick, "own", answer)
            machine.read_personal_data(org, pick)
            machine.answer_transfer(org, pick, "own", False)
            machine.answer_transfer(org, pick, "own", True)
            machine.publish_activity(org, "own", True)
            machine.cancel_activity(org, pick, "own")
            machine.attend(org, pick, "own", False)
            machine.attend(org, pick, "own", True)
            machine.record_hours(org, pick, "own")
            for action in ("approve_record", "reject_record", "correct_record", "void_record"):
                machine.decide_record(org, pick, "own", action)
            machine.publish_star_scheme(org, "own")
            machine.revise_star_scheme(org, pick, "own")
            machine.grant_honour(org, pick, "own", False)
            machine.grant_honour(org, pick, "own", True)
            machine.revoke_honour(org, pick, "own", False)
            machine.revoke_honour(org, pick, "own", True)
            machine.issue_certificate(org, pick, "own")
            machine.revoke_certificate(org, pick, "own")
            machine.open_time_bank(org, "own")
            machine.reverse_credit(org, pick, "own")
            machine.publish_calendar(org, "own", pick)
            machine.publish_assessment_scheme(org, "own")
            machine.revise_assessment_scheme(org, pick, "own")
            if pick == 0:  # a run reads the whole log: once per organisation is enough
                machine.assess(org, pick, "own")
            for item in CHECKLIST:
                machine.attest_station_item(org, "own", item)
                machine.withdraw_station_item(org, "own", item)
            machine.register_project(org, "own")
            for project_pick in range(len(ORGS)):
                machine.link_project_activity(org, project_pick * 7 + pick, "own")
            machine.nominate_project(org, pick, "own", False)
            machine.nominate_project(org, pick, "own", True)
        for org in ORGS:
            machine.erase_personal_data(org, pick, "own")
            machine.read_personal_data(org, pick)
