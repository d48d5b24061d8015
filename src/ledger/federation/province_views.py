"""The figures a city publishes about itself, recomputed from its verified entries.

The entries feed the city's own views (:mod:`ledger.projections`), in an in-memory database,
with the same handlers the city's server runs; the figures are then read with the same queries
as its ``/stats/dashboard`` and ``/stats/city``. So a correction, a void or a cancelled activity
counts here exactly as it counts there. The views' rows are kept in the state file as JSON so
that the next run continues from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import StorageError
from ..projections.base import ProjectedEvent
from ..projections.dashboard import as_json, city_dashboard
from ..projections.database import ViewDatabase
from ..projections.queries import ViewQueries
from ..projections.runner import VIEWS, apply_events
from ..storage.url import StoreURL

# The views the dashboard and the city statistics read (stars, organisations, statistics).
FIGURE_VIEWS = ("statistics", "organisations", "volunteers")
BATCH = 1000
SCALARS = (
    "registered_volunteers",
    "organisations",
    "records_approved",
    "approved_minutes",
    "activities",
    "people_served",
)
MAPS = (
    "organisations_by_kind",
    "minutes_by_field",
    "approved_records_by_field",
    "minutes_by_month",
    "stars",
)


class CityViews:
    """A city's figure views in memory, fed verified events, saved and restored as JSON."""

    def __init__(self, saved: Mapping[str, list[list[Any]]] | None = None) -> None:
        self.database = ViewDatabase(StoreURL(kind="memory", url="memory://"))
        self._batch: list[ProjectedEvent] = []
        with self.database.transaction() as cursor:
            for name in FIGURE_VIEWS:
                VIEWS[name].create(cursor, if_not_exists=False)
            for table, rows in (saved or {}).items():
                if table not in self.tables():
                    raise StorageError(f"the saved views hold an unknown table {table!r}")
                for row in rows:
                    marks = ", ".join("?" * len(row))
                    cursor.execute(f"INSERT INTO {table} VALUES ({marks})", list(row))

    @staticmethod
    def tables() -> dict[str, str]:
        """Each table of the figure views, with the order its rows are saved in."""
        return {t: order for name in FIGURE_VIEWS for t, order in VIEWS[name].keys.items()}

    def __call__(self, event: Any) -> None:
        """Take one event (the audit replay's view sink calls this in log order)."""
        self._batch.append(
            ProjectedEvent(event.type, event.org, event.data, event.occurred_at, event.position)
        )
        if len(self._batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self._batch:
            with self.database.transaction() as cursor:
                apply_events(cursor, self._batch, FIGURE_VIEWS)
            self._batch = []

    def rows(self) -> dict[str, list[list[Any]]]:
        """Every row of the figure views, in a stable order (for the state file)."""
        self.flush()
        return {
            table: [list(row) for row in self.database.query(f"SELECT * FROM {table} ORDER BY {o}")]
            for table, o in self.tables().items()
        }

    def figures(self) -> dict[str, Any]:
        """The city's figures, read as the city's own dashboard and statistics read them."""
        self.flush()
        dashboard = as_json(city_dashboard(self.database))
        city = ViewQueries(self.database).city_statistics()
        return {
            "registered_volunteers": dashboard["registered_volunteers"],
            "organisations": sum(city["organisations_by_kind"].values()),
            "records_approved": sum(city["approved_records_by_field"].values()),
            "approved_minutes": dashboard["approved_minutes"],
            "activities": dashboard["activities"],
            "people_served": dashboard["people_served"],
            "organisations_by_kind": city["organisations_by_kind"],
            "minutes_by_field": {b["key"]: b["value"] for b in dashboard["by_field"]},
            "approved_records_by_field": city["approved_records_by_field"],
            "minutes_by_month": {b["key"]: b["value"] for b in dashboard["by_month"]},
            "stars": {
                scheme: {b["key"]: b["value"] for b in bars}
                for scheme, bars in dashboard["stars"].items()
            },
        }

    def close(self) -> None:
        self.database.close()


def sum_figures(figures: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The province's figures: each city's figures added, key by key."""
    total: dict[str, Any] = {name: 0 for name in SCALARS}
    total.update({name: {} for name in MAPS})
    for city in figures:
        for name in SCALARS:
            total[name] += int(city[name])
        for name in MAPS:
            _add_into(total[name], city[name])
    return total


def _add_into(into: dict[str, Any], more: Mapping[str, Any]) -> None:
    for key, value in more.items():
        if isinstance(value, Mapping):
            _add_into(into.setdefault(key, {}), value)
        else:
            into[key] = into.get(key, 0) + int(value)
    for key in sorted(into):  # a stable order, whatever the cities' order
        into[key] = into.pop(key)
