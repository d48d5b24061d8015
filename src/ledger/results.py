"""What commands return: one frozen dataclass per kind of result value.

``ledger.register_volunteer(...)`` returns a :class:`~ledger.CommandResult` whose ``value`` is a
:class:`VolunteerRef`, so ``result.value.number`` is a ``str`` a type checker knows. Each command
class of :mod:`ledger.commands.typed` declares its value type (``RegisterVolunteer`` is a
``Command[VolunteerRef]``), and :meth:`Ledger.run <ledger.Ledger.run>` returns a
``CommandResult`` of that type.

The store keeps a command's value as JSON with its idempotency claim (``to_json``); a retry
answered from the claim reads it back with ``from_json`` into the same type, so a first run and
its replay give equal values. The JSON is what the HTTP API returns as ``value``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, TypeVar

__all__ = [
    "ActivityRef",
    "AgreementRef",
    "Assessed",
    "CertificateRef",
    "Collected",
    "HonourRef",
    "KeyRef",
    "NoValue",
    "RecordRef",
    "RecordsRef",
    "ResultValue",
    "TransferRef",
    "TransferredIn",
    "TransferredOut",
    "UnitAssessment",
    "VolunteerRef",
]

R = TypeVar("R", bound="ResultValue")


@dataclass(frozen=True)
class ResultValue:
    """A command's result value; subclasses name its fields."""

    def to_json(self) -> dict[str, Any]:
        """The value as JSON, as stored with the idempotency claim and served over HTTP."""
        return {f.name: _json(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls: type[R], data: dict[str, Any]) -> R:
        """The value from its JSON; exactly the fields of the type, or ``TypeError``."""
        return cls(**data)


def _json(value: Any) -> Any:
    if isinstance(value, ResultValue):
        return value.to_json()
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class NoValue(ResultValue):
    """A command that makes nothing to name: its events say what it did."""


@dataclass(frozen=True)
class VolunteerRef(ResultValue):
    """The registered volunteer's pseudonymous number."""

    number: str


@dataclass(frozen=True)
class ActivityRef(ResultValue):
    """The published activity's id."""

    activity_id: str


@dataclass(frozen=True)
class RecordRef(ResultValue):
    """The id of the one record made (from attendance)."""

    record_id: str


@dataclass(frozen=True)
class RecordsRef(ResultValue):
    """The ids of the records made, in entry order; ``record_id`` is the first."""

    record_ids: tuple[str, ...]
    record_id: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RecordsRef:
        return cls(record_ids=tuple(data["record_ids"]), record_id=data["record_id"])


@dataclass(frozen=True)
class TransferRef(ResultValue):
    """The id of a transfer: of a volunteer between organisations, or of time-bank credit."""

    transfer_id: str


@dataclass(frozen=True)
class TransferredOut(ResultValue):
    """A volunteer's move to a peer ledger: the transfer's id (for its package) and the approved
    minutes its summary proves."""

    transfer_id: str
    approved_minutes: int


@dataclass(frozen=True)
class TransferredIn(ResultValue):
    """A volunteer received from a peer ledger: the carried record (None when no minutes were
    carried), the minutes and records proven, and where the peer's log proves them."""

    record_id: str | None
    minutes: int
    records: int
    peer_origin: str
    transfer_out_leaf: int
    checkpoint_size: int


@dataclass(frozen=True)
class AgreementRef(ResultValue):
    """The id of the requested agreement."""

    agreement_id: str


@dataclass(frozen=True)
class HonourRef(ResultValue):
    """The id of the granted honour."""

    honour_id: str


@dataclass(frozen=True)
class CertificateRef(ResultValue):
    """The issued certificate's number."""

    certificate_number: str


@dataclass(frozen=True)
class KeyRef(ResultValue):
    """The id of the key made and registered (its private half is in the keystore)."""

    key_id: str


@dataclass(frozen=True)
class Collected(ResultValue):
    """Each volunteer number whose surplus holding held credit, and the amount moved."""

    collected: dict[str, int]


@dataclass(frozen=True)
class UnitAssessment(ResultValue):
    """One unit's published score (0 to 1000) and rating."""

    score: int
    rating: str


@dataclass(frozen=True)
class Assessed(ResultValue):
    """The log size the results were computed at, and each unit's score and rating."""

    log_size: int
    units: dict[str, UnitAssessment]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Assessed:
        return cls(
            log_size=data["log_size"],
            units={u: UnitAssessment.from_json(r) for u, r in data["units"].items()},
        )
