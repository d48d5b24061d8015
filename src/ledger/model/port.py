"""What a rule may ask of the command it checks: the narrow port the model depends on.

The rules in this package read aggregate states, the organisations and keys of the ledger and its
signed reference data, and stage events, through these two protocols only. The service layer's
:class:`ledger.context.Context` (and the audit's replay) implement them; a rule's unit test can
pass any small object that does. At run time the model imports nothing above it: the types named
here from :mod:`ledger.trust` are for the type checker alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from uuid import UUID

if TYPE_CHECKING:
    from ..trust import KeyInfo, LedgerInfo, OrganisationInfo, ReferenceData
    from .aggregates import AggregateState
    from .registry import Draft, EventData

    S = TypeVar("S", bound=AggregateState)
else:
    S = TypeVar("S")


class Directory(Protocol):
    """The ledger's organisations, keys and reference data, as the rules read them."""

    @property
    def ledger(self) -> LedgerInfo | None: ...

    @property
    def keys(self) -> dict[str, KeyInfo]: ...

    @property
    def reference(self) -> ReferenceData: ...

    def require_ledger(self) -> LedgerInfo: ...

    def organisation(self, org_id: str) -> OrganisationInfo: ...

    def ancestors(self, org_id: str) -> list[str]: ...

    def is_at_or_above(self, upper: str, org_id: str) -> bool: ...

    def active_keys(self, org_id: str, purpose: str = "signing") -> list[KeyInfo]: ...


class CommandPort(Protocol):
    """One command in progress: who acts, when, the states it sees, and the events it stages."""

    @property
    def org(self) -> str: ...

    @property
    def occurred_at(self) -> str: ...

    @property
    def drafts(self) -> list[Draft]: ...

    @property
    def directory(self) -> Directory: ...

    def state(self, cls: type[S], aggregate_id: UUID) -> S: ...

    def existing(self, cls: type[S], aggregate_id: UUID, what: str) -> S: ...

    def after(self, key: object, finaliser: Callable[[CommandPort], None]) -> None: ...

    def emit(
        self,
        event_type: str,
        aggregate_id: UUID,
        data: EventData | dict[str, Any],
        *,
        as_org: str | None = None,
    ) -> Draft: ...
