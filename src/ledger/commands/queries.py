"""Reading state from the events: balances, record status, organisation figures.

These answers are read from the verified states commands decide on (this process's cache,
brought up to date with the events stored since, each verified), so a volunteer's read costs the
same however long their history; the projections give the same figures from SQL views, kept up
to date, for dashboards and leaderboards.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from ..balances import VolunteerBalance, star_standing, volunteer_balance_of
from ..envelope import SignedEvent
from ..errors import NotFoundError, VerificationError
from ..model.aggregates import Volunteer
from ..model.awards import scheme_minutes
from ..model.ids import volunteer_aggregate_id
from ..model.service import Record, ServiceAccount, number_of_record, service_account_id
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
        """The volunteer's service records as their verified state holds them (a copy); an
        unregistered number is not found."""
        with self._service_account(number) as state:
            return copy.deepcopy(state)

    @contextlib.contextmanager
    def _service_account(self, number: str) -> Iterator[ServiceAccount]:
        """The volunteer's verified service account, to read inside the block."""
        with self._reading(ServiceAccount, service_account_id(number)) as state:
            if (
                state.version == 0
                and not self._state(Volunteer, volunteer_aggregate_id(number)).exists
            ):
                raise NotFoundError(f"volunteer {number} is not registered in this ledger")
            yield state

    def volunteer_balance(self, number: str) -> VolunteerBalance:
        """Approved minutes in total, by service field, by year and by recording organisation;
        record counts; star standing under each scheme; honours (see
        :class:`ledger.balances.VolunteerBalance`). An unregistered number is not found, as
        for every other read of a volunteer."""
        if not self._state(Volunteer, volunteer_aggregate_id(number)).exists:
            raise NotFoundError(f"volunteer {number} is not registered in this ledger")
        self._directory.refresh()
        with self._service_account(number) as account:
            return self._balance_of(number, account)

    def _balance_of(self, number: str, account: ServiceAccount) -> VolunteerBalance:
        """The balance from the figures the account keeps as its events apply, so that it costs
        the same for 2,000 records as for 10."""
        figures = account.balance_figures()
        return volunteer_balance_of(
            number,
            approved_minutes=account.approved_minutes,
            approved_records=figures.approved_records,
            records=len(account.records),
            late_records=figures.late_records,
            by_field=figures.by_field,
            by_year=figures.by_year,
            by_recording_org=account.credited_by_org,
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
        """A record's status and the events that made it so: the record as the volunteer's
        verified state holds it, and its events read by the versions that state noted (each
        verified), so the answer costs the same however long the volunteer's history."""
        number = number_of_record(record_id)
        aggregate_id = service_account_id(number)
        with self._reading(ServiceAccount, aggregate_id) as account:
            found = account.records.get(record_id)
            record = None if found is None else copy.deepcopy(found)
        if record is None:
            raise NotFoundError(f"record {record_id} is not in this ledger")
        events = [e for e in self._events_of(record, aggregate_id) if e.type in RECORD_TYPES]
        if not events:
            raise NotFoundError(f"record {record_id} is not in this ledger")
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

    def _events_of(self, record: Record, aggregate_id: UUID) -> list[SignedEvent]:
        """The verified events about ``record``, read by the versions its state noted; a state
        saved before records noted them finds them in the account's events."""
        if record.versions is None:
            history = self.events(aggregate_id)
            return [e for e in history if e.data.get("record_id") == record.record_id]
        try:
            about = [self.event(aggregate_id, version) for version in record.versions]
        except NotFoundError as missing:
            raise VerificationError(
                f"an event of record {record.record_id} is gone from the store: {missing}"
            ) from missing
        if any(e.data.get("record_id") != record.record_id for e in about):
            raise VerificationError(
                f"the stored events of record {record.record_id} are not the ones its verified "
                "state was built from"
            )
        return about

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
            with self._service_account(number) as account:
                approved += sum(
                    r.credited_minutes
                    for r in account.records.values()
                    if r.recording_org == org_id
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
