"""Recording service time and the life of a record: review, correction, void; attendance."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from ..context import Context
from ..envelope import format_time, parse_time
from ..errors import InvalidInputError, NotFoundError
from ..model.activities import Activity, activity_aggregate_id
from ..model.aggregates import Volunteer
from ..model.attendance import Attendance, attendance_aggregate_id
from ..model.ids import volunteer_aggregate_id
from ..model.service import ServiceAccount, number_of_record, service_account_id
from ..model.timebank import (
    Account,
    account_aggregate_id,
    bank_for_org,
    surplus_holding,
    volunteer_account,
)
from ..results import NoValue, RecordRef, RecordsRef
from ..writer import CommandResult
from .base import CommandHost


def _record_data(
    ctx: Context, activity: Activity, number: str, minutes: int, served: str, content: str
) -> dict[str, Any]:
    account = ctx.state(ServiceAccount, service_account_id(number))
    account.number = number
    calendar = ctx.directory.reference.calendar
    end = calendar.local_date(parse_time(activity.ends_at)) if activity.ends_at else date.min
    recorded_on = calendar.local_date(parse_time(ctx.occurred_at))
    return {
        "record_id": account.next_record_id(),
        "number": number,
        "activity_id": activity.activity_id,
        "field": activity.field,
        "minutes": minutes,
        "service_date": served,
        "content": content,
        "late": calendar.is_late(end, recorded_on, ctx.directory.reference.holidays),
    }


def _start_date(ctx: Context, activity: Activity) -> str:
    """The day the activity starts, in the ledger's time zone (the default service date)."""
    if not activity.starts_at:
        return ""
    return ctx.directory.reference.calendar.local_date(parse_time(activity.starts_at)).isoformat()


def _stage_record(ctx: Context, activity_id: str, entry: dict[str, Any]) -> str:
    activity = ctx.existing(Activity, activity_aggregate_id(activity_id), f"activity {activity_id}")
    number = entry.get("number")
    if not isinstance(number, str):
        raise InvalidInputError("each roster entry names a volunteer number")
    served = entry.get("service_date") or _start_date(ctx, activity)
    data = _record_data(
        ctx,
        activity,
        number,
        entry.get("minutes"),  # type: ignore[arg-type]
        str(served),
        entry.get("content") or activity.title,
    )
    if entry.get("attendance_session") is not None:
        data["attendance_session"] = entry["attendance_session"]
    ctx.emit("HoursRecorded", service_account_id(number), data)
    return str(data["record_id"])


def _prefetch_volunteers(ctx: Context, numbers: Sequence[object]) -> list[str]:
    """Read the volunteers and service accounts a roster touches in two reads of the store."""
    chosen = [n for n in dict.fromkeys(numbers) if isinstance(n, str)]
    ctx.prefetch(Volunteer, [volunteer_aggregate_id(n) for n in chosen])
    ctx.prefetch(ServiceAccount, [service_account_id(n) for n in chosen])
    return chosen


def _prefetch_credit_accounts(ctx: Context, record_ids: Sequence[str]) -> None:
    """Read the time-bank accounts (and surplus holdings) approvals will credit, at once."""
    accounts = []
    for record_id in record_ids:
        number = number_of_record(record_id)
        record = ctx.state(ServiceAccount, service_account_id(number)).records.get(record_id)
        bank = None if record is None else bank_for_org(ctx, record.recording_org)
        if bank is not None:
            accounts.append(volunteer_account(bank.bank_id, number))
            if bank.surplus_account:
                accounts.append(surplus_holding(bank.bank_id, number))
    ctx.prefetch(Account, [account_aggregate_id(a) for a in accounts])


class ServiceCommands(CommandHost):
    def record_hours(
        self,
        org: str,
        *,
        activity_id: str,
        number: str,
        minutes: int,
        idempotency_key: str,
        service_date: date | None = None,
        content: str | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[RecordsRef]:
        """Record one volunteer's minutes for an activity; ``result.value.record_id``."""
        return self.record_roster(
            org,
            activity_id=activity_id,
            idempotency_key=idempotency_key,
            occurred_at=occurred_at,
            entries=[
                {
                    "number": number,
                    "minutes": minutes,
                    "content": content,
                    "service_date": service_date.isoformat() if service_date else None,
                }
            ],
        )

    def record_roster(
        self,
        org: str,
        *,
        activity_id: str,
        entries: Sequence[dict[str, Any]],
        idempotency_key: str,
        occurred_at: datetime | None = None,
    ) -> CommandResult[RecordsRef]:
        """Record many volunteers for one activity, all or nothing, each checked by the rules.

        Each entry: ``number``, ``minutes``, optional ``service_date`` and ``content``.
        ``result.value.record_ids`` lists the new records in entry order.
        """
        if not entries or len(entries) > 1000:
            raise InvalidInputError("a roster holds 1 to 1000 entries")
        clean = [dict(e) for e in entries]

        def decide(ctx: Context) -> dict[str, Any]:
            _prefetch_volunteers(ctx, [e.get("number") for e in clean])
            ids = [_stage_record(ctx, activity_id, entry) for entry in clean]
            return {"record_ids": ids, "record_id": ids[0]}

        return self._command(
            org,
            "HoursRecorded",
            {"activity_id": activity_id, "entries": clean},
            decide,
            result=RecordsRef,
            idempotency_key=idempotency_key,
            occurred_at=occurred_at,
        )

    def _record_event(
        self, org: str, event_type: str, record_id: str, data: dict[str, Any], key: str
    ) -> CommandResult[NoValue]:
        number = number_of_record(record_id)
        return self._emit_one(
            org,
            event_type,
            service_account_id(number),
            {"record_id": record_id, "number": number, **data},
            idempotency_key=key,
        )

    def approve_record(
        self,
        org: str,
        *,
        record_id: str,
        idempotency_key: str,
        approved_minutes: int | None = None,
        reason: str | None = None,
    ) -> CommandResult[NoValue]:
        """Approve a record (fewer minutes than recorded need a reason); stars and credit follow."""
        return self.approve_records(
            org,
            idempotency_key=idempotency_key,
            approvals=[
                {"record_id": record_id, "approved_minutes": approved_minutes, "reason": reason}
            ],
        )

    def approve_records(
        self, org: str, *, approvals: Sequence[dict[str, Any]], idempotency_key: str
    ) -> CommandResult[NoValue]:
        """Approve many records at once, all or nothing."""
        clean = [dict(a) for a in approvals]

        def decide(ctx: Context) -> dict[str, Any]:
            record_ids = [str(item["record_id"]) for item in clean]
            _prefetch_volunteers(ctx, [number_of_record(r) for r in record_ids])
            _prefetch_credit_accounts(ctx, record_ids)
            for item in clean:
                record_id = str(item["record_id"])
                number = number_of_record(record_id)
                account = ctx.state(ServiceAccount, service_account_id(number))
                record = account.records.get(record_id)
                if record is None:
                    raise NotFoundError(f"record {record_id} is not in this ledger")
                ctx.emit(
                    "RecordApproved",
                    service_account_id(number),
                    {
                        "record_id": record_id,
                        "number": number,
                        "approved_minutes": record.minutes
                        if item.get("approved_minutes") is None
                        else item["approved_minutes"],
                        "reason": item.get("reason"),
                    },
                )
            return {}

        return self._command(
            org,
            "RecordApproved",
            {"approvals": clean},
            decide,
            result=NoValue,
            idempotency_key=idempotency_key,
        )

    def reject_record(
        self, org: str, *, record_id: str, reason: str, idempotency_key: str
    ) -> CommandResult[NoValue]:
        return self._record_event(
            org, "RecordRejected", record_id, {"reason": reason}, idempotency_key
        )

    def correct_record(
        self, org: str, *, record_id: str, delta_minutes: int, reason: str, idempotency_key: str
    ) -> CommandResult[NoValue]:
        """Amend an approved record by a signed minute delta; the original stays as it was."""
        return self._record_event(
            org,
            "RecordCorrected",
            record_id,
            {"delta_minutes": delta_minutes, "reason": reason},
            idempotency_key,
        )

    def void_record(
        self, org: str, *, record_id: str, grounds: str, idempotency_key: str
    ) -> CommandResult[NoValue]:
        """An authority above the recording organisation voids a record, with grounds."""
        return self._record_event(
            org, "RecordVoided", record_id, {"grounds": grounds}, idempotency_key
        )

    def check_in(
        self,
        org: str,
        *,
        activity_id: str,
        number: str,
        method: str,
        at: datetime,
        idempotency_key: str,
    ) -> CommandResult[NoValue]:
        """A volunteer checks in at an activity (method: qr, kiosk or manual)."""
        return self._attendance(org, "CheckedIn", activity_id, number, method, at, idempotency_key)

    def check_out(
        self,
        org: str,
        *,
        activity_id: str,
        number: str,
        method: str,
        at: datetime,
        idempotency_key: str,
    ) -> CommandResult[NoValue]:
        """The volunteer checks out; the session's minutes can then become a record."""
        return self._attendance(org, "CheckedOut", activity_id, number, method, at, idempotency_key)

    def _attendance(
        self,
        org: str,
        event_type: str,
        activity_id: str,
        number: str,
        method: str,
        at: datetime,
        idempotency_key: str,
    ) -> CommandResult[NoValue]:
        return self._emit_one(
            org,
            event_type,
            attendance_aggregate_id(activity_id, number),
            {
                "activity_id": activity_id,
                "number": number,
                "method": method,
                "at": format_time(at.replace(microsecond=0)),
            },
            idempotency_key=idempotency_key,
        )

    def record_from_attendance(
        self,
        org: str,
        *,
        activity_id: str,
        number: str,
        idempotency_key: str,
        content: str | None = None,
    ) -> CommandResult[RecordRef]:
        """Record the minutes between the volunteer's last check-in and check-out."""

        def decide(ctx: Context) -> dict[str, Any]:
            attendance = ctx.state(Attendance, attendance_aggregate_id(activity_id, number))
            minutes = attendance.open_minutes()
            if minutes <= 0:
                raise InvalidInputError(f"volunteer {number} has no completed check-in/out here")
            entry = {
                "number": number,
                "minutes": minutes,
                "content": content,
                "service_date": (attendance.checked_in_at or "")[:10],
                "attendance_session": attendance.sessions,
            }
            return {"record_id": _stage_record(ctx, activity_id, entry)}

        return self._command(
            org,
            "HoursRecorded",
            {"activity_id": activity_id, "number": number, "from": "attendance"},
            decide,
            result=RecordRef,
            idempotency_key=idempotency_key,
        )

    def attendance(self, activity_id: str, number: str) -> dict[str, Any]:
        """The volunteer's last check-in and check-out at the activity (None before any); an
        unknown activity or an unregistered volunteer is not found."""
        state = self._state(Attendance, attendance_aggregate_id(activity_id, number))
        assert isinstance(state, Attendance)
        if state.version == 0:
            if not self._state(Activity, activity_aggregate_id(activity_id)).exists:
                raise NotFoundError(f"activity {activity_id} is not in this ledger")
            if not self._state(Volunteer, volunteer_aggregate_id(number)).exists:
                raise NotFoundError(f"volunteer {number} is not registered in this ledger")
        return {
            "checked_in_at": state.checked_in_at,
            "checked_out_at": state.checked_out_at,
            "overdue": state.overdue(self.clock()),
        }
