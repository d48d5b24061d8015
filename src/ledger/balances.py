"""A volunteer's balance: the one shape that both balance reads return.

``Ledger.volunteer_balance`` replays it from the signed events; ``ViewQueries.volunteer`` reads
it from the SQL views. Both build it with :func:`volunteer_balance_of` and
:func:`star_standing`, so the same figures give equal balances, key for key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from typing_extensions import TypedDict  # pydantic reads this TypedDict on Python 3.11

from .model.awards import star_level


class StarStanding(TypedDict):
    """A volunteer's standing under one star scheme."""

    level: int  # the level the ledger's star events have issued
    due_level: int  # the level the minutes the scheme counts reach under its current thresholds
    scheme_version: int  # the scheme's current version


class HonourStanding(TypedDict):
    """An honour granted to the volunteer, revoked or not."""

    honour_id: str
    honour: str
    granted_by: str
    granted_on: str
    revoked: bool


class VolunteerBalance(TypedDict):
    """Approved minutes in total, by service field, by year and by recording organisation;
    record counts; star standing under every scheme of the ledger; honours."""

    number: str
    approved_minutes: int
    approved_records: int
    records: int
    late_records: int
    by_field: dict[str, int]
    by_year: dict[str, int]
    by_recording_org: dict[str, int]
    stars: dict[str, StarStanding]
    honours: list[HonourStanding]


def star_standing(
    level: int, counted_minutes: int, thresholds_hours: Sequence[int], scheme_version: int
) -> StarStanding:
    """The standing under a scheme: the level issued, and the level ``counted_minutes`` (the
    approved minutes of records made by the scheme's owner or below it) reach."""
    return {
        "level": level,
        "due_level": star_level(counted_minutes, list(thresholds_hours)),
        "scheme_version": scheme_version,
    }


def _grant_order(honour: HonourStanding) -> tuple[int, str]:
    """Honour ids end in ``-H<n>``, n counting the recipient's honours from 1."""
    _, _, count = honour["honour_id"].rpartition("-H")
    return (int(count) if count.isdigit() else 0, honour["honour_id"])


def _figures(minutes: Mapping[str, int]) -> dict[str, int]:
    return {key: value for key, value in sorted(minutes.items()) if value}


def volunteer_balance_of(
    number: str,
    *,
    approved_minutes: int,
    approved_records: int,
    records: int,
    late_records: int,
    by_field: Mapping[str, int],
    by_year: Mapping[str, int],
    by_recording_org: Mapping[str, int],
    stars: Mapping[str, StarStanding],
    honours: Iterable[HonourStanding],
) -> VolunteerBalance:
    """The balance in its one shape: minutes by key in key order, without keys at zero; stars
    by scheme id; honours in the order they were granted."""
    return {
        "number": number,
        "approved_minutes": approved_minutes,
        "approved_records": approved_records,
        "records": records,
        "late_records": late_records,
        "by_field": _figures(by_field),
        "by_year": _figures(by_year),
        "by_recording_org": _figures(by_recording_org),
        "stars": dict(sorted(stars.items())),
        "honours": sorted(honours, key=_grant_order),
    }


__all__ = [
    "HonourStanding",
    "StarStanding",
    "VolunteerBalance",
    "star_standing",
    "volunteer_balance_of",
]
