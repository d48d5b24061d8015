"""Ledger-wide settings, as events of the root authority: daily limit, holidays, fields."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from ..errors import KeyNotAuthorisedError, RuleViolationError
from .aggregates import AggregateState, register_aggregate
from .ids import url_uuid
from .port import CommandPort
from .registry import Draft, EventData, event_type
from .signing_authority import is_root

SETTINGS_AGGREGATE_ID = url_uuid("/settings")
DateText = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z-]{2,60}$")]


@register_aggregate
class Settings(AggregateState):
    kind = "settings"


class LedgerSettingsChanged(EventData):
    daily_limit_minutes: Annotated[int, Field(ge=1, le=24 * 60)]


class HolidaysDeclared(EventData):
    dates: Annotated[list[DateText], Field(min_length=1, max_length=400)]


class ServiceFieldAdded(EventData):
    field: FieldName


def _root_only(ctx: CommandPort, draft: Draft) -> None:
    ctx.directory.require_ledger()
    if not is_root(ctx.directory, draft.org):
        raise KeyNotAuthorisedError("only the root authority changes ledger-wide settings")
    if draft.aggregate_id != SETTINGS_AGGREGATE_ID:
        raise RuleViolationError("settings events belong to the settings aggregate")


@event_type("LedgerSettingsChanged", "settings", LedgerSettingsChanged)
def check_settings(ctx: CommandPort, draft: Draft, data: LedgerSettingsChanged) -> None:
    _root_only(ctx, draft)


@event_type("HolidaysDeclared", "settings", HolidaysDeclared)
def check_holidays(ctx: CommandPort, draft: Draft, data: HolidaysDeclared) -> None:
    _root_only(ctx, draft)


@event_type("ServiceFieldAdded", "settings", ServiceFieldAdded)
def check_field(ctx: CommandPort, draft: Draft, data: ServiceFieldAdded) -> None:
    _root_only(ctx, draft)
    if data.field in ctx.directory.reference.service_fields:
        raise RuleViolationError(f"service field {data.field!r} already exists")
