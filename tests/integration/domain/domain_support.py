"""Helpers for the [domain] integration tests (imported by name; not a test module).

``Town.build`` grows the conftest ``city`` (root ``city``; ``org-a`` and ``org-b`` under it; one
volunteer of ``org-a``) into what the domain workflows need: the root's automatic-awards key,
a station under ``org-a``, a second volunteer of ``org-a`` and a volunteer of ``org-b``.
Activities are published in the past (March 2025), so records made the day after are on time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from ledger_testing import create_city

from ledger import CommandResult, Ledger
from ledger.log.merkle import verify_inclusion
from ledger.model.service import service_account_id

__all__ = [
    "FIELD",
    "FRIDAY",
    "Town",
    "create_city",
    "event_data",
    "notification_count",
    "proven_in_log",
    "refused",
    "result_types",
]

# Activities start on Friday 7 March 2025, 09:00 UTC, and end the same day.
FRIDAY = datetime(2025, 3, 7, 9, 0, 0, tzinfo=UTC)
FIELD = "legal-aid"


def notification_count(ledger: Ledger) -> int:
    """How many events are stored, whether or not they have a leaf yet."""
    return len(ledger._recorder.select_notifications(1, 10**9))


@contextmanager
def refused(
    ledger: Ledger,
    error: type[BaseException] | tuple[type[BaseException], ...],
    match: str | None = None,
) -> Iterator[pytest.ExceptionInfo[BaseException]]:
    """Expect ``error`` and that nothing at all was stored (log and event store unchanged)."""
    size, count = ledger.log_size(), notification_count(ledger)
    with pytest.raises(error, match=match) as caught:
        yield caught
    assert ledger.log_size() == size, "a refused command grew the log"
    assert notification_count(ledger) == count, "a refused command stored an event"


def result_types(result: CommandResult) -> list[str]:
    return [e.type for e in result.events]


def event_data(ledger: Ledger, result: CommandResult, event_type: str) -> list[dict[str, Any]]:
    """The data of the result's events of one type, read back (and verified) from the store."""
    return [
        ledger.event(e.aggregate_id, e.version).data for e in result.events if e.type == event_type
    ]


def proven_in_log(ledger: Ledger, leaf_index: int) -> bool:
    """The event at ``leaf_index`` reads back verified and is provably in the current tree."""
    event = ledger.event_at(leaf_index)
    size = ledger.log_size()
    verify_inclusion(
        event.leaf_hash,
        leaf_index,
        size,
        ledger.log.inclusion_proof(leaf_index, size),
        ledger.log.root(size),
    )
    return True


@dataclass
class Town:
    ledger: Ledger
    number: str  # a volunteer of org-a
    other: str  # a second volunteer of org-a
    stranger: str  # a volunteer of org-b
    _keys: Iterator[int] = field(default_factory=itertools.count)

    @classmethod
    def build(cls, ledger: Ledger, info: dict[str, str]) -> Town:
        ledger.new_key(
            "city", for_org="city", idempotency_key="city-auto", purpose="automatic-awards"
        )
        ledger.register_organisation(
            "org-a",
            org_id="station-a1",
            name="Station A1",
            kind="station",
            region="140402001",
            idempotency_key="station-a1",
        )
        ledger.new_key("org-a", for_org="station-a1", idempotency_key="station-a1-key")
        other = ledger.register_volunteer("org-a", idempotency_key="vol-2").value.number
        stranger = ledger.register_volunteer("org-b", idempotency_key="vol-b").value.number
        return cls(ledger, info["number"], str(other), str(stranger))

    def key(self, what: str) -> str:
        return f"{what}-{next(self._keys)}"

    def activity(
        self,
        org: str = "org-a",
        *,
        start: datetime = FRIDAY,
        hours: int = 8,
        field: str = FIELD,
        **options: Any,
    ) -> str:
        """Publish an activity of ``org`` from ``start`` for ``hours``; its id.

        Unless told otherwise it allows a whole day per record (``max_minutes``), so the
        daily-limit tests can record more than its 8-hour span.
        """
        options.setdefault("max_minutes", 24 * 60)
        result = self.ledger.publish_activity(
            org,
            title="Legal aid desk",
            field=field,
            place="Community centre",
            starts_at=start,
            ends_at=start + timedelta(hours=hours),
            leader="desk-lead",
            content="Answering residents' legal questions",
            idempotency_key=self.key("activity"),
            **options,
        )
        return str(result.value.activity_id)

    def record(
        self,
        activity_id: str,
        minutes: int,
        *,
        number: str | None = None,
        org: str = "org-a",
        occurred_at: datetime | None = None,
        service_date: date | None = None,
    ) -> str:
        """Record minutes (the day after the activity unless told); the record id."""
        result = self.ledger.record_hours(
            org,
            activity_id=activity_id,
            number=number or self.number,
            minutes=minutes,
            service_date=service_date,
            occurred_at=occurred_at or FRIDAY + timedelta(days=1),
            idempotency_key=self.key("record"),
        )
        return str(result.value.record_id)

    def approve(self, record_id: str, org: str = "org-a", **options: Any) -> CommandResult:
        return self.ledger.approve_record(
            org, record_id=record_id, idempotency_key=self.key("approve"), **options
        )

    def approved(
        self, minutes: int, *, number: str | None = None, org: str = "org-a", **options: Any
    ) -> str:
        """A fresh activity of ``org`` with an approved record of ``minutes``; the record id."""
        record_id = self.record(self.activity(org, **options), minutes, number=number, org=org)
        self.approve(record_id, org)
        return record_id

    def correct(self, record_id: str, delta: int, org: str = "org-a") -> CommandResult:
        return self.ledger.correct_record(
            org,
            record_id=record_id,
            delta_minutes=delta,
            reason="volunteer reported an error",
            idempotency_key=self.key("correct"),
        )

    def void(self, record_id: str, org: str = "city") -> CommandResult:
        return self.ledger.void_record(
            org,
            record_id=record_id,
            grounds="spot check found no service was given",
            idempotency_key=self.key("void"),
        )

    def approved_minutes(self, number: str | None = None) -> int:
        return int(self.ledger.volunteer_balance(number or self.number)["approved_minutes"])

    def service_events(self, number: str | None = None) -> list[str]:
        return [e.type for e in self.ledger.events(service_account_id(number or self.number))]
