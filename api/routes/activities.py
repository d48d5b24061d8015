"""Activities, and recording service time for them (single, roster, attendance)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import AwareDatetime, Field

from ledger.commands.typed import (
    CancelActivity,
    CheckIn,
    CheckOut,
    PublishActivity,
    RecordFromAttendance,
    RecordRoster,
)

from ..deps import LedgerDep, RecordingOrg
from ..schemas import CommandOut, IdempotencyKey, Strict, command_out

router = APIRouter(tags=["activities and records"])


class ActivityIn(Strict):
    title: str = Field(min_length=1, max_length=200)
    field: str = Field(pattern=r"^[a-z][a-z-]{2,60}$", examples=["care-for-elderly-and-children"])
    place: str = Field(min_length=1, max_length=200)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    leader: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9:._-]{1,63}$",
        description="a role or pseudonymous id, never a personal name",
    )
    content: str = Field(min_length=1, max_length=2000)
    station: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,63}$")
    max_minutes: int | None = Field(default=None, ge=1, le=44640)
    allow_repeats: bool = False
    people_served: int | None = Field(default=None, ge=0, le=10_000_000)


class CancelIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class RecordIn(Strict):
    number: str = Field(pattern=r"^V[A-Z2-7]{13}$")
    minutes: int = Field(ge=1, le=1440)
    service_date: date | None = None
    content: str | None = Field(default=None, min_length=1, max_length=2000)


class RosterIn(Strict):
    entries: list[RecordIn] = Field(min_length=1, max_length=1000)


class AttendanceIn(Strict):
    number: str = Field(pattern=r"^V[A-Z2-7]{13}$")
    method: Literal["qr", "kiosk", "manual"]
    at: AwareDatetime


class FromAttendanceIn(Strict):
    number: str = Field(pattern=r"^V[A-Z2-7]{13}$")
    content: str | None = Field(default=None, min_length=1, max_length=2000)


@router.post("/activities", status_code=201, response_model=CommandOut)
def publish_activity(
    body: ActivityIn,
    ledger: LedgerDep,
    org: RecordingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Publish an activity; its id is ``value.activity_id``."""
    return command_out(
        ledger.run(PublishActivity(org, **body.model_dump()), idempotency_key=idempotency_key),
        response,
    )


@router.get("/activities/{activity_id}")
def get_activity(activity_id: str, ledger: LedgerDep) -> dict[str, Any]:
    return ledger.activity(activity_id)


@router.post("/activities/{activity_id}/cancel", status_code=201, response_model=CommandOut)
def cancel_activity(
    activity_id: str,
    body: CancelIn,
    ledger: LedgerDep,
    org: RecordingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    return command_out(
        ledger.run(
            CancelActivity(org, activity_id=activity_id, reason=body.reason),
            idempotency_key=idempotency_key,
        ),
        response,
    )


def _entry(item: RecordIn) -> dict[str, Any]:
    return {
        "number": item.number,
        "minutes": item.minutes,
        "content": item.content,
        "service_date": item.service_date.isoformat() if item.service_date else None,
    }


@router.post("/activities/{activity_id}/records", status_code=201, response_model=CommandOut)
def record_hours(
    activity_id: str,
    body: RecordIn,
    ledger: LedgerDep,
    org: RecordingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Record one volunteer's minutes; the new record's id is ``value.record_id``."""
    return command_out(
        ledger.run(
            RecordRoster(org, activity_id=activity_id, entries=[_entry(body)]),
            idempotency_key=idempotency_key,
        ),
        response,
    )


@router.post("/activities/{activity_id}/roster", status_code=201, response_model=CommandOut)
def record_roster(
    activity_id: str,
    body: RosterIn,
    ledger: LedgerDep,
    org: RecordingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    """Record many volunteers at once: all or nothing (``value.record_ids``)."""
    return command_out(
        ledger.run(
            RecordRoster(org, activity_id=activity_id, entries=[_entry(e) for e in body.entries]),
            idempotency_key=idempotency_key,
        ),
        response,
    )


@router.post("/activities/{activity_id}/check-ins", status_code=201, response_model=CommandOut)
def check_in(
    activity_id: str,
    body: AttendanceIn,
    ledger: LedgerDep,
    org: RecordingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    return command_out(
        ledger.run(
            CheckIn(
                org, activity_id=activity_id, number=body.number, method=body.method, at=body.at
            ),
            idempotency_key=idempotency_key,
        ),
        response,
    )


@router.post("/activities/{activity_id}/check-outs", status_code=201, response_model=CommandOut)
def check_out(
    activity_id: str,
    body: AttendanceIn,
    ledger: LedgerDep,
    org: RecordingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    return command_out(
        ledger.run(
            CheckOut(
                org, activity_id=activity_id, number=body.number, method=body.method, at=body.at
            ),
            idempotency_key=idempotency_key,
        ),
        response,
    )


@router.post(
    "/activities/{activity_id}/records-from-attendance", status_code=201, response_model=CommandOut
)
def record_from_attendance(
    activity_id: str,
    body: FromAttendanceIn,
    ledger: LedgerDep,
    org: RecordingOrg,
    idempotency_key: IdempotencyKey,
    response: Response,
) -> CommandOut:
    return command_out(
        ledger.run(
            RecordFromAttendance(
                org, activity_id=activity_id, number=body.number, content=body.content
            ),
            idempotency_key=idempotency_key,
        ),
        response,
    )
