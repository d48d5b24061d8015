"""Reading state from the events: balances, record status, organisation figures.

These answers replay events directly; the projections give the same figures from SQL views,
kept up to date, for dashboards and leaderboards.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..balances import VolunteerBalance, star_standing, volunteer_balance_of
from ..errors import NotFoundError
from ..model.aggregates import Volunteer
from ..model.awards import scheme_minutes
from ..model.ids import volunteer_aggregate_id
from ..model.service import ServiceAccount, number_of_record, service_account_id
from .base import CommandHost

RECORD_TYPES = (
    "HoursRecorded",
    "RecordApproved",
    "RecordRejected",
    "RecordCorrected",
    "RecordVoided",
)


class QueryCommands(CommandHost):
    def service_account(self, number: str) -> ServiceAccount:
        """The volunteer's service records, replayed from the signed events; an unregistered
        number is not found."""
        state = self._state(ServiceAccount, service_account_id(number))
        assert isinstance(state, ServiceAccount)
        if state.version == 0 and not self._state(Volunteer, volunteer_aggregate_id(number)).exists:
            raise NotFoundError(f"volunteer {number} is not registered in this ledger")
        return state

    def volunteer_balance(self, number: str) -> VolunteerBalance:
        """Approved minutes in total, by service field, by year and by recording organisation;
        record counts; star standing under each scheme; honours (see
        :class:`ledger.balances.VolunteerBalance`). An unregistered number is not found, as
        for every other read of a volunteer."""
        if not self._state(Volunteer, volunteer_aggregate_id(number)).exists:
            raise NotFoundError(f"volunteer {number} is not registered in this ledger")
        account = self.service_account(number)
        self._directory.refresh()
        by_field: dict[str, int] = defaultdict(int)
        by_year: dict[str, int] = defaultdict(int)
        by_org: dict[str, int] = defaultdict(int)
        for record in account.records.values():
            minutes = record.credited_minutes
            if minutes:
                by_field[record.service_field] += minutes
                by_year[record.service_date[:4]] += minutes
                by_org[record.recording_org] += minutes
        records = account.records.values()
        return volunteer_balance_of(
            number,
            approved_minutes=account.approved_minutes,
            approved_records=sum(1 for r in records if r.status == "approved"),
            records=len(account.records),
            late_records=sum(1 for r in records if r.late),
            by_field=by_field,
            by_year=by_year,
            by_recording_org=by_org,
            stars={
                scheme_id: star_standing(
                    account.stars.get(scheme_id, 0),
                    scheme_minutes(self._directory, account, scheme.owner),
                    scheme.thresholds_hours,
                    scheme.version,
                )
                for scheme_id, scheme in self._directory.reference.star_schemes.items()
            },
            honours=[
                {
                    "honour_id": h.honour_id,
                    "honour": h.honour,
                    "granted_by": h.granted_by,
                    "granted_on": h.granted_on,
                    "revoked": h.revoked,
                }
                for h in account.honours.values()
            ],
        )

    def record_status(self, record_id: str) -> dict[str, Any]:
        """A record's status and the events that made it so."""
        number = number_of_record(record_id)
        account = ServiceAccount(aggregate_id=service_account_id(number))
        history = self.events(account.aggregate_id)  # read and verified once, for both uses
        events = [
            e for e in history if e.data.get("record_id") == record_id and e.type in RECORD_TYPES
        ]
        if not events:
            raise NotFoundError(f"record {record_id} is not in this ledger")
        for event in history:
            account.apply(event, event.data)
        record = account.records[record_id]
        return {
            "record_id": record_id,
            "number": number,
            "status": "corrected"
            if record.corrections and record.status == "approved"
            else record.status,
            "minutes": record.minutes,
            "credited_minutes": record.credited_minutes,
            "recording_org": record.recording_org,
            "activity_id": record.activity_id,
            "field": record.service_field,
            "service_date": record.service_date,
            "late": record.late,
            "events": [
                {
                    "type": e.type,
                    "org": e.org,
                    "occurred_at": e.occurred_at,
                    "aggregate_id": str(e.originator_id),
                    "version": e.originator_version,
                    "leaf_index": e.leaf_index,
                    "data": e.data,
                }
                for e in events
            ],
        }

    def organisation_figures(self, org_id: str) -> dict[str, Any]:
        """Recorded and approved minutes of records made by ``org_id``, and its members now."""
        self._directory.organisation(org_id)
        accounts: dict[str, ServiceAccount] = {}
        recorded = 0
        for event in self.events_of_types("HoursRecorded"):
            if event.org == org_id:
                recorded += event.data["minutes"]
                accounts.setdefault(event.data["number"], ServiceAccount(event.originator_id))
        approved = 0
        for number in accounts:
            account = self.service_account(number)
            approved += sum(
                r.credited_minutes for r in account.records.values() if r.recording_org == org_id
            )
        members: set[str] = set()
        for event in self.events_of_types("VolunteerRegistered"):
            number = event.data["number"]
            volunteer = self._state(Volunteer, volunteer_aggregate_id(number))
            if org_id in getattr(volunteer, "members_of", set()):
                members.add(number)
        return {
            "org_id": org_id,
            "recorded_minutes": recorded,
            "approved_minutes": approved,
            "members": sorted(members),
        }
