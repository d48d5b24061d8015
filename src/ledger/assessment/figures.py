"""Indicator figures from the signed records, in log order.

:class:`IndicatorAccumulator` takes events one at a time (type, signer, data, occurred_at), as
the write path reads them from the store and the audit replays them from the log or a bundle,
and keeps only what the catalogue's formulas need for one period. :func:`unit_values` then
derives every unit's values for a scheme. The same two functions serve ``assess`` and the
audit, so a published result and its recomputation cannot drift apart by code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from ..model import organisation_facts as facts
from .catalogue import ORGANISATION_KINDS

MEMBERSHIP = {
    "VolunteerRegistered",
    "MembershipJoined",
    "MembershipLeft",
    "TransferRequested",
    "TransferAccepted",
}
RELEVANT_TYPES = frozenset(
    {
        "LedgerCreated",
        "OrganisationRegistered",
        *MEMBERSHIP,
        "ActivityPublished",
        "ActivityCancelled",
        "HoursRecorded",
        "RecordApproved",
        "RecordRejected",
        "RecordCorrected",
        "RecordVoided",
        "ProjectRegistered",
        "ProjectActivityLinked",
        "StationItemAttested",
        "StationItemWithdrawn",
    }
)
# A record: [recording org, volunteer number, ISO week, credited minutes, status, late, activity]
ORG, NUMBER, WEEK, MINUTES, STATUS, LATE, ACTIVITY = range(7)


class IndicatorAccumulator:
    """What one period's indicators need, from events fed in log order."""

    def __init__(self, period: str) -> None:
        self.period = period
        self.start, self.end = f"{period}-01-01", f"{period}-12-31"
        self.parents: dict[str, str | None] = {}
        self.kinds: dict[str, str] = {}
        self.members_start: dict[str, set[str]] = defaultdict(set)
        self.members_end: dict[str, set[str]] = defaultdict(set)
        self.transfers: dict[str, tuple[str, str]] = {}
        self.records: dict[str, list[Any]] = {}
        # activity id -> [org, in period, cancelled, people served, station or None]
        self.activities: dict[str, list[Any]] = {}
        self.project_owner: dict[str, str] = {}
        self.activity_projects: dict[str, set[str]] = defaultdict(set)
        self.station_items: dict[tuple[str, str], set[str]] = defaultdict(set)

    def add(self, kind: str, org: str, data: dict[str, Any], occurred_at: str) -> None:
        if kind not in RELEVANT_TYPES:
            return
        if kind in MEMBERSHIP:
            self._membership(kind, org, data, occurred_at[:10])
        elif kind in ("LedgerCreated", "OrganisationRegistered"):
            registered = (
                facts.root_organisation(data)
                if kind == "LedgerCreated"
                else facts.organisation_registered(data)
            )
            self.parents[registered.org_id] = registered.parent
            self.kinds[registered.org_id] = registered.kind
        else:
            self._service(kind, org, data)

    def _membership(self, kind: str, org: str, data: dict[str, Any], day: str) -> None:
        if kind == "TransferRequested":
            self.transfers[data["transfer_id"]] = (data["from_org"], data["to_org"])
            return
        if day > self.end:
            return  # after the period: counts for neither snapshot
        maps = [self.members_end] if day >= self.start else [self.members_start, self.members_end]
        number = data["number"]
        for members in maps:
            orgs = members[number]
            if kind == "VolunteerRegistered":
                orgs.add(org)
            elif kind == "MembershipJoined":
                orgs.add(data["org_id"])
            elif kind == "MembershipLeft":
                orgs.discard(data["org_id"])
            elif kind == "TransferAccepted" and data["transfer_id"] in self.transfers:
                source, target = self.transfers[data["transfer_id"]]
                orgs.discard(source)
                orgs.add(target)

    def _service(self, kind: str, org: str, data: dict[str, Any]) -> None:
        if kind == "HoursRecorded":
            day = data["service_date"]
            if self.start <= day <= self.end:
                week = date.fromisoformat(day).isocalendar()[1]
                self.records[data["record_id"]] = [
                    org,
                    data["number"],
                    week,
                    0,
                    "recorded",
                    data["late"],
                    data["activity_id"],
                ]
        elif kind in ("RecordApproved", "RecordRejected", "RecordCorrected", "RecordVoided"):
            record = self.records.get(data["record_id"])
            if record is None:
                return
            if kind == "RecordApproved":
                record[STATUS], record[MINUTES] = "approved", data["approved_minutes"]
            elif kind == "RecordCorrected":
                record[MINUTES] += data["delta_minutes"]
            else:
                record[STATUS] = "voided" if kind == "RecordVoided" else "rejected"
        elif kind == "ActivityPublished":
            in_period = self.start <= data["starts_at"][:10] <= self.end
            served = data.get("people_served") or 0
            station = data.get("station")
            self.activities[data["activity_id"]] = [org, in_period, False, served, station]
        elif kind == "ActivityCancelled" and data["activity_id"] in self.activities:
            self.activities[data["activity_id"]][2] = True
        elif kind == "ProjectRegistered":
            self.project_owner[data["project_id"]] = org
        elif kind == "ProjectActivityLinked":
            self.activity_projects[data["activity_id"]].add(data["project_id"])
        elif kind == "StationItemAttested":
            self.station_items[(data["station"], data["scheme_id"])].add(data["item"])
        elif kind == "StationItemWithdrawn":
            self.station_items[(data["station"], data["scheme_id"])].discard(data["item"])

    def is_at_or_above(self, upper: str, org: str) -> bool:
        current: str | None = org
        while current is not None:
            if current == upper:
                return True
            current = self.parents.get(current)
        return False


def credited(record: list[Any]) -> int:
    return int(record[MINUTES]) if record[STATUS] == "approved" else 0


def unit_values(
    acc: IndicatorAccumulator, scheme_id: str, scheme: dict[str, Any], owner: str
) -> dict[str, dict[str, int]]:
    """Every unit's value of every indicator the scheme weighs, by unit id (sorted)."""
    wanted = [e["indicator"] for e in scheme["indicators"]]
    if scheme["unit_kind"] == "project":
        table = project_values(acc, owner)
    else:
        checklist = {c["item"] for c in scheme.get("checklist", [])}
        table = _organisation_values(acc, scheme_id, scheme["unit_kind"], owner, checklist)
    return {unit: {i: table[unit][i] for i in wanted} for unit in sorted(table)}


class _Tally:
    def __init__(self) -> None:
        self.members_start = 0
        self.members_end = 0
        self.active = 0
        self.minutes = 0
        self.weeks: set[int] = set()
        self.records = 0
        self.late = 0
        self.activities = 0
        self.stations = 0
        self.items_met = 0


def _organisation_values(
    acc: IndicatorAccumulator, scheme_id: str, kind: str, owner: str, checklist: set[str]
) -> dict[str, dict[str, int]]:
    assert kind in ORGANISATION_KINDS
    units = {
        org
        for org, org_kind in acc.kinds.items()
        if org_kind == kind and org != owner and acc.is_at_or_above(owner, org)
    }
    tallies = {unit: _Tally() for unit in units}
    cache: dict[str, tuple[str, ...]] = {}

    def units_of(org: str) -> tuple[str, ...]:
        found = cache.get(org)
        if found is None:
            found = tuple(u for u in _chain(acc, org) if u in units)
            cache[org] = found
        return found

    def member_units(orgs: Iterable[str]) -> set[str]:
        return {u for org in orgs for u in units_of(org)}

    for orgs in acc.members_start.values():
        for unit in member_units(orgs):
            tallies[unit].members_start += 1
    active: dict[str, set[str]] = defaultdict(set)
    for record in acc.records.values():
        if record[STATUS] in ("voided", "rejected"):
            continue
        minutes = credited(record)
        for unit in units_of(_place(acc, record)):
            tally = tallies[unit]
            tally.records += 1
            tally.late += 1 if record[LATE] else 0
            if minutes > 0:
                tally.minutes += minutes
                tally.weeks.add(record[WEEK])
                active[record[NUMBER]].add(unit)
    for number, orgs in acc.members_end.items():
        mine = member_units(orgs)
        for unit in mine:
            tallies[unit].members_end += 1
        for unit in active.get(number, set()) & mine:
            tallies[unit].active += 1
    for org, in_period, cancelled, _served, station in acc.activities.values():
        if in_period and not cancelled:
            for unit in units_of(station or org):
                tallies[unit].activities += 1
    for org, org_kind in acc.kinds.items():
        if org_kind == "station":
            met = len(acc.station_items.get((org, scheme_id), set()) & checklist)
            for unit in units_of(org):
                tallies[unit].stations += 1
                tallies[unit].items_met += met
    return {unit: _organisation_row(t, len(checklist)) for unit, t in tallies.items()}


def _organisation_row(t: _Tally, items: int) -> dict[str, int]:
    members = max(t.members_end, 1)
    return {
        "registered-volunteers": t.members_end,
        "volunteer-growth": (t.members_end - t.members_start) * 1000 // max(t.members_start, 1),
        "active-member-share": t.active * 1000 // members,
        "activities-held": t.activities,
        "approved-minutes-per-member": t.minutes // members,
        "weeks-with-service": len(t.weeks),
        "late-recording-rate": t.late * 1000 // max(t.records, 1),
        "station-checklist-met": t.items_met * 1000 // max(t.stations * items, 1),
    }


def project_values(acc: IndicatorAccumulator, owner: str) -> dict[str, dict[str, int]]:
    projects = {p for p, o in acc.project_owner.items() if acc.is_at_or_above(owner, o)}
    minutes: dict[str, int] = defaultdict(int)
    volunteers: dict[str, set[str]] = defaultdict(set)
    weeks: dict[str, set[int]] = defaultdict(set)
    activities: dict[str, int] = defaultdict(int)
    served: dict[str, int] = defaultdict(int)
    for record in acc.records.values():
        credit = credited(record)
        if credit <= 0:
            continue
        for project in acc.activity_projects.get(record[ACTIVITY], set()) & projects:
            minutes[project] += credit
            volunteers[project].add(record[NUMBER])
            weeks[project].add(record[WEEK])
    for activity_id, (_org, in_period, cancelled, people, _station) in acc.activities.items():
        if in_period and not cancelled:
            for project in acc.activity_projects.get(activity_id, set()) & projects:
                activities[project] += 1
                served[project] += people
    return {
        p: {
            "project-approved-minutes": minutes[p],
            "project-volunteers": len(volunteers[p]),
            "weeks-with-service": len(weeks[p]),
            "activities-held": activities[p],
            "people-served": served[p],
        }
        for p in projects
    }


def _place(acc: IndicatorAccumulator, record: list[Any]) -> str:
    """Where a record counts: the station its activity was held at, when the recording
    organisation is at or above that station; else the recording organisation."""
    activity = acc.activities.get(record[ACTIVITY])
    station = activity[4] if activity is not None else None
    if station is not None and acc.is_at_or_above(record[ORG], station):
        return str(station)
    return str(record[ORG])


def _chain(acc: IndicatorAccumulator, org: str) -> list[str]:
    chain: list[str] = []
    current: str | None = org
    while current is not None and current not in chain:
        chain.append(current)
        current = acc.parents.get(current)
    return chain
