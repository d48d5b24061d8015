"""The figures of the public city dashboard (``/stats``), read from the views.

Every figure here is a sum over signed events that the views keep and the audit recomputes
(``ledger audit`` replays the events and compares each view's digest), so a figure on the
dashboard is as good as the signed records it sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .database import ViewDatabase
from .queries import ViewQueries

TOP = 10


@dataclass(frozen=True)
class Bar:
    key: str  # what the bar is (a month, a field, an organisation id, a star level)
    label: str  # how it is named to a person (an organisation's name; else the key)
    value: int


@dataclass(frozen=True)
class Dashboard:
    approved_minutes: int
    registered_volunteers: int
    activities: int
    people_served: int
    by_month: list[Bar]
    by_field: list[Bar]
    by_district: list[Bar]
    stars: dict[str, list[Bar]]  # scheme id -> volunteers at each level (1..5)
    top_organisations: list[Bar]


def city_dashboard(database: ViewDatabase) -> Dashboard:
    queries = ViewQueries(database)
    city = queries.city_statistics()
    return Dashboard(
        approved_minutes=int(city["approved_minutes"]),
        registered_volunteers=int(city["registered_volunteers"]),
        activities=int(city["activities"]),
        people_served=int(city["people_served"]),
        by_month=[Bar(m, m, v) for m, v in city["minutes_by_month"].items()],
        by_field=sorted(
            (Bar(f, f, v) for f, v in city["minutes_by_field"].items()),
            key=lambda bar: (-bar.value, bar.key),
        ),
        by_district=_districts(database),
        stars=_stars(database),
        top_organisations=_top_organisations(database),
    )


def _names(database: ViewDatabase) -> dict[str, tuple[str, str | None]]:
    rows = database.query("SELECT org_id, name, parent FROM view_organisations")
    return {org: (name, parent) for org, name, parent in rows}


def _rolled_up_minutes(database: ViewDatabase) -> dict[str, int]:
    rows = database.query(
        "SELECT t.ancestor_id, SUM(o.approved_minutes) FROM view_org_tree t "
        "JOIN view_organisations o ON o.org_id = t.org_id GROUP BY t.ancestor_id"
    )
    return {org: int(minutes or 0) for org, minutes in rows}


def _districts(database: ViewDatabase) -> list[Bar]:
    """The organisations directly under the root authority (a city's districts and counties),
    each with the minutes of its whole subtree."""
    names, minutes = _names(database), _rolled_up_minutes(database)
    roots = {org for org, (_, parent) in names.items() if parent is None}
    bars = [
        Bar(org, name, minutes.get(org, 0))
        for org, (name, parent) in names.items()
        if parent in roots
    ]
    return sorted(bars, key=lambda bar: (-bar.value, bar.key))


def _top_organisations(database: ViewDatabase) -> list[Bar]:
    """Stations and teams (the units that record hours) by their own approved minutes."""
    rows = database.query(
        "SELECT org_id, name, approved_minutes FROM view_organisations "
        "WHERE kind IN ('station', 'team') AND approved_minutes > 0 "
        "ORDER BY approved_minutes DESC, org_id ASC LIMIT ?",
        [TOP],
    )
    return [Bar(org, name, int(minutes)) for org, name, minutes in rows]


def _stars(database: ViewDatabase) -> dict[str, list[Bar]]:
    rows = database.query(
        "SELECT scheme_id, level, COUNT(*) FROM view_volunteer_stars WHERE level > 0 "
        "GROUP BY scheme_id, level ORDER BY scheme_id, level"
    )
    schemes: dict[str, dict[int, int]] = {}
    for scheme, level, count in rows:
        schemes.setdefault(scheme, {})[int(level)] = int(count)
    return {
        scheme: [Bar(str(level), str(level), levels.get(level, 0)) for level in range(1, 6)]
        for scheme, levels in schemes.items()
    }


def as_json(dashboard: Dashboard) -> dict[str, Any]:
    def bars(items: list[Bar]) -> list[dict[str, Any]]:
        return [{"key": b.key, "label": b.label, "value": b.value} for b in items]

    return {
        "approved_minutes": dashboard.approved_minutes,
        "registered_volunteers": dashboard.registered_volunteers,
        "activities": dashboard.activities,
        "people_served": dashboard.people_served,
        "by_month": bars(dashboard.by_month),
        "by_field": bars(dashboard.by_field),
        "by_district": bars(dashboard.by_district),
        "stars": {scheme: bars(levels) for scheme, levels in dashboard.stars.items()},
        "top_organisations": bars(dashboard.top_organisations),
    }
