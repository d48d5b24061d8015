"""A command's view of the ledger: the aggregates it reads, and the events it decides on.

Every event passes :meth:`Context.emit`, which validates the data against the event type's
schema, runs the type's rules against current state (including events staged earlier in the same
command) and stages it. Nothing is stored until the whole command has passed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from .envelope import SignedEvent
from .errors import InvalidInputError, NotFoundError
from .model.aggregates import AGGREGATE_KINDS, AggregateState
from .model.registry import Draft, EventData, spec_for
from .trust import TrustDirectory

S = TypeVar("S", bound=AggregateState)
EventReader = Callable[[UUID], Sequence[SignedEvent]]


class Context:
    def __init__(
        self, read_events: EventReader, directory: TrustDirectory, org: str, occurred_at: str
    ) -> None:
        self._read_events = read_events
        self.directory = directory
        self.org = org
        self.occurred_at = occurred_at
        self.drafts: list[Draft] = []
        self._states: dict[UUID, AggregateState] = {}
        self._finalisers: dict[object, Callable[[Context], None]] = {}

    def state(self, cls: type[S], aggregate_id: UUID) -> S:
        """The aggregate's current state, including events staged by this command."""
        cached = self._states.get(aggregate_id)
        if cached is None:
            cached = cls(aggregate_id=aggregate_id)
            for event in self._read_events(aggregate_id):
                cached.apply(event, event.data)
            self._states[aggregate_id] = cached
        if not isinstance(cached, cls):
            raise InvalidInputError(f"{aggregate_id} is a {cached.kind}, not a {cls.kind}")
        return cached

    def existing(self, cls: type[S], aggregate_id: UUID, what: str) -> S:
        state = self.state(cls, aggregate_id)
        if not state.exists:
            raise NotFoundError(f"{what} is not in this ledger")
        return state

    def after(self, key: object, finaliser: Callable[[Context], None]) -> None:
        """Run ``finaliser`` once, after the command's own events (derived events: stars...)."""
        self._finalisers.setdefault(key, finaliser)

    def finish(self) -> None:
        while self._finalisers:
            key = next(iter(self._finalisers))
            self._finalisers.pop(key)(self)

    def emit(
        self,
        event_type: str,
        aggregate_id: UUID,
        data: EventData | dict[str, Any],
        *,
        as_org: str | None = None,
    ) -> Draft:
        """Validate, check and stage one event for ``aggregate_id``.

        ``as_org`` stages an event signed by another organisation's automatic key (a star
        attained when the command's approval crosses a threshold, say).
        """
        spec = spec_for(event_type)
        model = spec.parse(data.model_dump() if isinstance(data, EventData) else data)
        state = self.state(AGGREGATE_KINDS[spec.aggregate], aggregate_id)
        draft = Draft(
            type=event_type,
            org=as_org or self.org,
            aggregate_id=aggregate_id,
            version=state.version + 1,
            data=model.model_dump(mode="json"),
            occurred_at=self.occurred_at,
        )
        spec.check(self, draft, model)
        state.apply(draft, draft.data)
        self.drafts.append(draft)
        return draft
