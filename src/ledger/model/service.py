"""Service records and their life: recorded, approved or rejected, corrected, voided.

A volunteer's records live in their service account aggregate, so the rules that span records
(the daily limit, once per activity, star thresholds) are checked atomically against one
consistent state. A correction or void is a new event pointing at the record: nothing is edited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, StringConstraints

from ..envelope import parse_time
from ..errors import InvalidInputError, KeyNotAuthorisedError, NotFoundError, RuleViolationError
from .activities import Activity, activity_aggregate_id
from .aggregates import AggregateState, Fact, Honour, Volunteer, register_aggregate
from .attendance import Attendance, attendance_aggregate_id
from .ids import LongText, UUIDText, VolunteerNumber, url_uuid, volunteer_aggregate_id
from .port import CommandPort
from .registry import Draft, EventData, event_type

RecordId = Annotated[str, StringConstraints(pattern=r"^V[A-Z2-7]{13}-R[1-9][0-9]{0,8}$")]
DateText = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
Minutes = Annotated[int, Field(ge=1, le=24 * 60)]
COUNTING = ("recorded", "approved")


@lru_cache(maxsize=65536)
def service_account_id(number: str) -> UUID:
    return url_uuid(f"/service/{number}")


def number_of_record(record_id: str) -> str:
    if "-R" not in record_id:
        raise InvalidInputError(f"{record_id!r} is not a record id (VOLUNTEER-Rn)")
    return record_id.split("-R", 1)[0]


@dataclass(slots=True)
class Record:
    record_id: str
    activity_id: str
    recording_org: str
    service_field: str
    service_date: str
    minutes: int
    late: bool
    status: str = "recorded"
    approved_minutes: int = 0
    corrections: list[int] = field(default_factory=list)
    attendance_session: int | None = None
    # the versions of the account's events about this record, in order; None in a state saved
    # before they were kept (a reader then finds them in the account's events)
    versions: list[int] | None = field(default=None, compare=False, repr=False)

    @property
    def credited_minutes(self) -> int:
        """What the record counts towards balances: only approved, net of corrections."""
        if self.status != "approved":
            return 0
        return self.approved_minutes + sum(self.corrections)

    @property
    def day_minutes(self) -> int:
        """What the record counts towards the daily limit."""
        if self.status == "recorded":
            return self.minutes
        return self.credited_minutes


@dataclass(slots=True)
class BalanceFigures:
    """What a balance reads of every record: approved and late records, credited minutes by
    service field and by year of service (a key may hold zero)."""

    approved_records: int = 0
    late_records: int = 0
    by_field: dict[str, int] = field(default_factory=dict)
    by_year: dict[str, int] = field(default_factory=dict)

    def count(self, record: Record, sign: int) -> None:
        """Add the record as it stands (``sign`` 1), or take it away (-1)."""
        self.approved_records += sign * (record.status == "approved")
        self.late_records += sign * record.late
        minutes = sign * record.credited_minutes
        if minutes:
            self.by_field[record.service_field] = (
                self.by_field.get(record.service_field, 0) + minutes
            )
            year = record.service_date[:4]
            self.by_year[year] = self.by_year.get(year, 0) + minutes


def carried_key(peer_origin: str, transfer_out_leaf: int) -> str:
    """How a service account remembers a peer transfer-out it carried in."""
    return f"{peer_origin}/{transfer_out_leaf}"


@register_aggregate
@dataclass(slots=True)
class ServiceAccount(AggregateState):
    kind = "service"
    number: str = ""
    records: dict[str, Record] = field(default_factory=dict)
    stars: dict[str, int] = field(default_factory=dict)  # scheme id -> level
    honours: dict[str, Honour] = field(default_factory=dict)
    # Kept as events apply, so that the rules cost the same for 10 records as for 2,000:
    credited_by_org: dict[str, int] = field(default_factory=dict)  # recording org -> minutes
    records_on: dict[str, list[str]] = field(default_factory=dict)  # service date -> record ids
    # activity id -> record ids; None until first needed, then kept as events apply (derived
    # from ``records``, so a state saved before it existed reads back correctly)
    records_at: dict[str, list[str]] | None = field(default=None, compare=False, repr=False)
    # the same for what a balance reads of the records
    figures: BalanceFigures | None = field(default=None, compare=False, repr=False)
    transferred_to: str = ""  # the peer ledger's origin once the volunteer moved there
    # "origin/leaf" of each peer transfer-out whose minutes were carried in: once each
    carried_from: list[str] = field(default_factory=list)

    @property
    def approved_minutes(self) -> int:
        return sum(self.credited_by_org.values())

    def minutes_on(self, day: str) -> int:
        return sum(self.records[r].day_minutes for r in self.records_on.get(day, ()))

    def balance_figures(self) -> BalanceFigures:
        """The figures a balance reads, without looking at every record."""
        if self.figures is None:
            self.figures = BalanceFigures()
            for r in self.records.values():
                self.figures.count(r, 1)
        return self.figures

    def _credit(self, org: str, change: int) -> None:
        if change:
            self.credited_by_org[org] = self.credited_by_org.get(org, 0) + change

    def _reviewed(self, record_id: str) -> tuple[Record, int]:
        """The record an event about to apply is about, and its credited minutes before: the
        event's version noted, the record taken out of the figures until :meth:`_recredit`."""
        record = self.records[record_id]
        if record.versions is not None:
            record.versions.append(self.version + 1)
        if self.figures is not None:
            self.figures.count(record, -1)
        return record, record.credited_minutes

    def _recredit(self, record: Record, before: int) -> None:
        """Carry the reviewed record's change into the per-organisation totals and figures."""
        self._credit(record.recording_org, record.credited_minutes - before)
        if self.figures is not None:
            self.figures.count(record, 1)

    def records_of_activity(self, activity_id: str) -> list[Record]:
        """The records for one activity, oldest first, without looking at the others."""
        if self.records_at is None:
            self.records_at = {}
            for r in self.records.values():
                self.records_at.setdefault(r.activity_id, []).append(r.record_id)
        return [self.records[r] for r in self.records_at.get(activity_id, ())]

    def times_credited(self, activity_id: str) -> int:
        return sum(1 for r in self.records_of_activity(activity_id) if r.status in COUNTING)

    def _add_record(self, record: Record) -> None:
        self.records[record.record_id] = record
        self._credit(record.recording_org, record.credited_minutes)
        if self.records_at is not None:
            self.records_at.setdefault(record.activity_id, []).append(record.record_id)
        if self.figures is not None:
            self.figures.count(record, 1)

    def next_record_id(self) -> str:
        return f"{self.number}-R{len(self.records) + 1}"

    def on_HoursRecorded(self, fact: Fact, data: dict[str, Any]) -> None:
        self.number = data["number"]
        self._add_record(
            Record(
                data["record_id"],
                data["activity_id"],
                fact.org,
                data["field"],
                data["service_date"],
                data["minutes"],
                data["late"],
                attendance_session=data.get("attendance_session"),
                versions=[self.version + 1],
            )
        )
        self.records_on.setdefault(data["service_date"], []).append(data["record_id"])

    def on_RecordApproved(self, fact: Fact, data: dict[str, Any]) -> None:
        record, before = self._reviewed(data["record_id"])
        record.status, record.approved_minutes = "approved", data["approved_minutes"]
        self._recredit(record, before)

    def on_RecordRejected(self, fact: Fact, data: dict[str, Any]) -> None:
        record, before = self._reviewed(data["record_id"])
        record.status = "rejected"
        self._recredit(record, before)

    def on_RecordCorrected(self, fact: Fact, data: dict[str, Any]) -> None:
        record, before = self._reviewed(data["record_id"])
        record.corrections.append(data["delta_minutes"])
        self._recredit(record, before)

    def on_RecordVoided(self, fact: Fact, data: dict[str, Any]) -> None:
        record, before = self._reviewed(data["record_id"])
        record.status = "voided"
        self._recredit(record, before)

    def on_VolunteerTransferredOut(self, fact: Fact, data: dict[str, Any]) -> None:
        self.transferred_to = data["to_origin"]

    def on_ServiceCarriedIn(self, fact: Fact, data: dict[str, Any]) -> None:
        """Minutes proven in a peer ledger, carried over as one approved record of the
        receiving organisation (see ledger.model.federation)."""
        self.number = data["number"]
        self.carried_from.append(carried_key(data["peer_origin"], data["transfer_out_leaf"]))
        record = Record(
            data["record_id"],
            "",
            fact.org,
            "carried-over",
            fact.occurred_at[:10],
            data["minutes"],
            False,
            versions=[self.version + 1],
        )
        record.status, record.approved_minutes = "approved", data["minutes"]
        self._add_record(record)

    def on_StarAttained(self, fact: Fact, data: dict[str, Any]) -> None:
        self.stars[data["scheme_id"]] = data["level"]

    def on_StarWithdrawn(self, fact: Fact, data: dict[str, Any]) -> None:
        self.stars[data["scheme_id"]] = data["level"] - 1

    def on_HonourGranted(self, fact: Fact, data: dict[str, Any]) -> None:
        self.honours[data["honour_id"]] = Honour(
            data["honour_id"], data["honour"], fact.org, data["granted_on"]
        )

    def on_HonourRevoked(self, fact: Fact, data: dict[str, Any]) -> None:
        self.honours[data["honour_id"]].revoked = True


class HoursRecorded(EventData):
    record_id: RecordId
    number: VolunteerNumber
    activity_id: UUIDText
    field: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z-]{2,60}$")]
    minutes: Minutes
    service_date: DateText
    content: LongText
    late: bool
    attendance_session: Annotated[int, Field(ge=1)] | None = Field(
        default=None, exclude_if=lambda value: value is None
    )


class RecordApproved(EventData):
    record_id: RecordId
    number: VolunteerNumber
    approved_minutes: Minutes
    reason: LongText | None = None


class RecordRejected(EventData):
    record_id: RecordId
    number: VolunteerNumber
    reason: LongText


class RecordCorrected(EventData):
    record_id: RecordId
    number: VolunteerNumber
    delta_minutes: Annotated[int, Field(ge=-24 * 60, le=24 * 60)]
    reason: LongText


class RecordVoided(EventData):
    record_id: RecordId
    number: VolunteerNumber
    grounds: LongText


def _account(ctx: CommandPort, draft: Draft, number: str) -> ServiceAccount:
    if draft.aggregate_id != service_account_id(number):
        raise RuleViolationError(
            f"the event's aggregate is not volunteer {number}'s service account"
        )
    ctx.existing(Volunteer, volunteer_aggregate_id(number), f"volunteer {number}")
    account = ctx.state(ServiceAccount, draft.aggregate_id)
    account.number = number
    if account.transferred_to:
        raise RuleViolationError(
            f"volunteer {number} moved to the ledger {account.transferred_to}; their service "
            "here is closed and is recorded there"
        )
    return account


def _record(account: ServiceAccount, record_id: str) -> Record:
    record = account.records.get(record_id)
    if record is None:
        raise NotFoundError(f"record {record_id} is not in this ledger")
    return record


@event_type("HoursRecorded", "service", HoursRecorded)
def check_hours_recorded(ctx: CommandPort, draft: Draft, data: HoursRecorded) -> None:
    account = _account(ctx, draft, data.number)
    if data.record_id != account.next_record_id():
        raise RuleViolationError(
            f"the next record id of {data.number} is {account.next_record_id()}"
        )
    activity = ctx.existing(
        Activity, activity_aggregate_id(data.activity_id), f"activity {data.activity_id}"
    )
    if activity.org != draft.org:
        raise KeyNotAuthorisedError(
            f"activity {data.activity_id} is {activity.org!r}'s; only it records hours for it"
        )
    if activity.cancelled:
        raise RuleViolationError(f"activity {data.activity_id} was cancelled and takes no records")
    if data.field != activity.field:
        raise RuleViolationError(f"the record's field must be the activity's ({activity.field})")
    calendar = ctx.directory.reference.calendar
    occurred = parse_time(draft.occurred_at)
    if occurred < parse_time(activity.starts_at):
        raise RuleViolationError(
            f"activity {data.activity_id} starts at {activity.starts_at}: no hours are recorded "
            f"for it before then (this record is dated {draft.occurred_at})"
        )
    start = calendar.local_date(parse_time(activity.starts_at))
    end = calendar.local_date(parse_time(activity.ends_at))
    served = date.fromisoformat(data.service_date)
    if not start <= served <= end:
        raise RuleViolationError(
            f"service date {served} is outside the activity ({start}..{end}, {calendar.time_zone})"
        )
    recorded_on = calendar.local_date(occurred)
    if served > recorded_on:
        raise RuleViolationError(f"service date {served} is after the record ({recorded_on})")
    if data.minutes > activity.minutes_limit:
        raise RuleViolationError(
            f"{data.minutes} minutes exceed the activity's limit of {activity.minutes_limit} "
            f"per record ({_limit_reason(activity)})"
        )
    limit = ctx.directory.reference.daily_limit_minutes
    if account.minutes_on(data.service_date) + data.minutes > limit:
        raise RuleViolationError(
            f"volunteer {data.number} would have more than {limit} minutes on {data.service_date}"
        )
    if not activity.allow_repeats and account.times_credited(data.activity_id):
        raise RuleViolationError(
            f"volunteer {data.number} is already credited for activity {data.activity_id}"
        )
    if data.attendance_session is not None:
        _check_attendance_session(ctx, account, data)
    if data.late != calendar.is_late(end, recorded_on, ctx.directory.reference.holidays):
        raise RuleViolationError("the late flag must say whether the record is late")


def _limit_reason(activity: Activity) -> str:
    if activity.max_minutes is not None:
        return "its max_minutes"
    return f"its span, {activity.starts_at} to {activity.ends_at}"


def _check_attendance_session(
    ctx: CommandPort, account: ServiceAccount, data: HoursRecorded
) -> None:
    attendance = ctx.state(Attendance, attendance_aggregate_id(data.activity_id, data.number))
    if data.attendance_session != attendance.sessions or attendance.checked_out_at is None:
        raise RuleViolationError("a record from attendance names the last completed check-out")
    if any(
        r.attendance_session == data.attendance_session
        for r in account.records_of_activity(data.activity_id)
    ):
        raise RuleViolationError(
            f"check-in session {data.attendance_session} of volunteer {data.number} at "
            f"{data.activity_id} is already recorded"
        )


def _check_reviewer(ctx: CommandPort, draft: Draft, record: Record) -> None:
    if not ctx.directory.is_at_or_above(draft.org, record.recording_org):
        raise KeyNotAuthorisedError(
            f"record {record.record_id} is reviewed by {record.recording_org!r} "
            "or an organisation above it"
        )


BALANCE_CHANGES = ("RecordApproved", "RecordCorrected", "RecordVoided")
"""The events that change a volunteer's credited minutes (stars and credit react to them)."""


@event_type("RecordApproved", "service", RecordApproved)
def check_record_approved(ctx: CommandPort, draft: Draft, data: RecordApproved) -> None:
    record = _record(_account(ctx, draft, data.number), data.record_id)
    _check_reviewer(ctx, draft, record)
    if record.status != "recorded":
        raise RuleViolationError(f"record {data.record_id} is {record.status}, not awaiting review")
    if data.approved_minutes > record.minutes:
        raise RuleViolationError(f"cannot approve more than the {record.minutes} minutes recorded")
    if data.approved_minutes < record.minutes and data.reason is None:
        raise RuleViolationError("approving fewer minutes than recorded needs a reason")


@event_type("RecordRejected", "service", RecordRejected)
def check_record_rejected(ctx: CommandPort, draft: Draft, data: RecordRejected) -> None:
    record = _record(_account(ctx, draft, data.number), data.record_id)
    _check_reviewer(ctx, draft, record)
    if record.status != "recorded":
        raise RuleViolationError(f"record {data.record_id} is {record.status}, not awaiting review")


@event_type("RecordCorrected", "service", RecordCorrected)
def check_record_corrected(ctx: CommandPort, draft: Draft, data: RecordCorrected) -> None:
    account = _account(ctx, draft, data.number)
    record = _record(account, data.record_id)
    _check_reviewer(ctx, draft, record)
    if record.status != "approved":
        raise RuleViolationError(
            f"only approved records are corrected; {data.record_id} is {record.status}"
        )
    if data.delta_minutes == 0:
        raise InvalidInputError("a correction changes the minutes: delta_minutes is not 0")
    corrected = record.credited_minutes + data.delta_minutes
    if corrected < 0:
        raise RuleViolationError(f"the correction would leave the record at {corrected} minutes")
    activity = ctx.state(Activity, activity_aggregate_id(record.activity_id))
    if activity.exists and corrected > activity.minutes_limit:
        raise RuleViolationError(
            f"the correction would give {corrected} minutes, over the activity's limit of "
            f"{activity.minutes_limit} ({_limit_reason(activity)})"
        )
    limit = ctx.directory.reference.daily_limit_minutes
    day = account.minutes_on(record.service_date) - record.day_minutes + corrected
    if day > limit:
        raise RuleViolationError(
            f"the correction would give volunteer {data.number} {day} minutes on "
            f"{record.service_date}, over the daily limit of {limit}"
        )


@event_type("RecordVoided", "service", RecordVoided)
def check_record_voided(ctx: CommandPort, draft: Draft, data: RecordVoided) -> None:
    record = _record(_account(ctx, draft, data.number), data.record_id)
    if draft.org == record.recording_org or not ctx.directory.is_at_or_above(
        draft.org, record.recording_org
    ):
        raise KeyNotAuthorisedError(
            f"only an authority above {record.recording_org!r} voids its records"
        )
    if record.status == "voided":
        raise RuleViolationError(f"record {data.record_id} is already voided")
