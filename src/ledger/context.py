"""A command's view of the ledger: the aggregates it reads, and the events it decides on.

Every event passes :meth:`Context.emit`, which validates the data against the event type's
schema, runs the type's rules against current state (including events staged earlier in the same
command) and stages it. Nothing is stored until the whole command has passed.

With a :class:`~ledger.state_cache.VerifiedStateCache`, states come from the cache fast-forwarded
by the events stored since (each verified), and go back to it once the command's events are
stored (:meth:`Context.keep`); without one, every state is rebuilt from the aggregate's first
event.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from typing import Any, TypeVar
from uuid import UUID

from .envelope import SignedEvent
from .errors import InvalidInputError, NotFoundError
from .model.aggregates import AGGREGATE_KINDS, AggregateState
from .model.policies import react
from .model.registry import Draft, EventData, data_of, spec_for
from .state_cache import NO_SNAPSHOT, CachedState, TailReader, VerifiedStateCache, leaf_hash_of
from .trust import TrustDirectory

S = TypeVar("S", bound=AggregateState)
EventReader = Callable[[UUID], Sequence[SignedEvent]]
ManyReader = Callable[[dict[UUID, tuple[int, bytes | None]]], dict[UUID, list[SignedEvent] | None]]


class Context:
    def __init__(
        self,
        read_events: EventReader,
        directory: TrustDirectory,
        org: str,
        occurred_at: str,
        *,
        cache: VerifiedStateCache | None = None,
        read_tail: TailReader | None = None,
        read_many: ManyReader | None = None,
    ) -> None:
        self._read_events = read_events
        self.directory = directory
        self.org = org
        self.occurred_at = occurred_at
        self.drafts: list[Draft] = []
        self._states: MutableMapping[UUID, AggregateState] = {}
        self._finalisers: dict[object, Callable[[Context], None]] = {}
        self._cache = cache
        self._read_tail = read_tail
        self._read_many = read_many
        self._last_leaf: dict[UUID, bytes] = {}
        # Each loaded state's newest known snapshot (version, bytes), for the cache to keep.
        self._snapshot: dict[UUID, tuple[int, int]] = {}
        self._taken: set[UUID] = set()  # entries this command took out of the cache

    def state(self, cls: type[S], aggregate_id: UUID) -> S:
        """The aggregate's current state, including events staged by this command."""
        cached = self._states.get(aggregate_id)
        if cached is None:
            cached = self._load(cls, aggregate_id)
            self._states[aggregate_id] = cached
        if not isinstance(cached, cls):
            raise InvalidInputError(f"{aggregate_id} is a {cached.kind}, not a {cls.kind}")
        return cached

    def fresh(self, cls: type[S], aggregate_id: UUID) -> S:
        """A new aggregate whose id the command has just drawn at random: its empty state,
        without reading the store. Were the id taken after all, the insert would break the
        store's one-event-per-version constraint and the command would decide again."""
        if aggregate_id not in self._states:
            self._states[aggregate_id] = cls(aggregate_id=aggregate_id)
        return self.state(cls, aggregate_id)

    def prefetch(self, cls: type[S], aggregate_ids: Sequence[UUID]) -> None:
        """Load the states of many aggregates of one kind with one read of the store (the
        volunteers of a roster, say), each as :meth:`state` would."""
        wanted = [i for i in dict.fromkeys(aggregate_ids) if i not in self._states]
        if self._read_many is None or self._cache is None or len(wanted) < 2:
            return
        entries = {}
        for aggregate_id in wanted:
            entry = self._take(aggregate_id)
            if entry is not None and type(entry.state) is cls:
                entries[aggregate_id] = entry
        tails = self._read_many(
            {
                i: (entries[i].state.version, entries[i].last_leaf_hash)
                if i in entries
                else (0, None)
                for i in wanted
            }
        )
        for aggregate_id in wanted:
            entry, tail = entries.get(aggregate_id), tails.get(aggregate_id)
            if entry is not None and tail is not None:
                self._last_leaf[aggregate_id] = entry.last_leaf_hash
                self._snapshot[aggregate_id] = entry.snapshot
                state = self._apply_all(entry.state, tail)
            elif entry is None and tail is not None:
                state = self._apply_all(cls(aggregate_id=aggregate_id), tail)
            else:
                state = self._apply_all(
                    cls(aggregate_id=aggregate_id), self._read_events(aggregate_id)
                )
            self._states[aggregate_id] = state

    def _load(self, cls: type[S], aggregate_id: UUID) -> S:
        """The stored state: the cached one fast-forwarded, or rebuilt from the first event."""
        if self._cache is not None and self._read_tail is not None:
            entry = self._take(aggregate_id)
            if entry is not None and type(entry.state) is cls:
                tail = self._read_tail(aggregate_id, entry.state.version, entry.last_leaf_hash)
                if tail is not None:
                    self._last_leaf[aggregate_id] = entry.last_leaf_hash
                    self._snapshot[aggregate_id] = entry.snapshot
                    return self._apply_all(entry.state, tail)
        return self._apply_all(cls(aggregate_id=aggregate_id), self._read_events(aggregate_id))

    def _take(self, aggregate_id: UUID) -> CachedState | None:
        """The cached entry, taken out (noted, so that it is released if not put back), or the
        authenticated snapshot's state."""
        assert self._cache is not None
        entry = self._cache.take(aggregate_id)
        if entry is not None:
            self._taken.add(aggregate_id)
            return entry
        return self._cache.from_snapshot(aggregate_id)

    def _release(self) -> None:
        """Release the entries taken out and not put back (releasing one put back, or taken
        since by another thread, changes nothing)."""
        assert self._cache is not None
        for aggregate_id in self._taken:
            self._cache.release(aggregate_id)
        self._taken = set()

    def _apply_all(self, state: S, events: Sequence[SignedEvent]) -> S:
        for event in events:
            state.apply(event, event.data)
        if events:
            self._last_leaf[state.aggregate_id] = leaf_hash_of(events[-1].envelope)
        return state

    def keep(self, stored: Sequence[SignedEvent]) -> None:
        """The command's events were stored: its states are current; cache them."""
        if self._cache is None:
            return
        for event in stored:
            self._last_leaf[event.originator_id] = leaf_hash_of(event.envelope)
        for aggregate_id, state in self._states.items():
            leaf = self._last_leaf.get(aggregate_id)
            if leaf is not None:
                snapshot = self._snapshot.get(aggregate_id, NO_SNAPSHOT)
                snapshot = self._cache.persist_if_due(state, leaf, snapshot)
                self._cache.put(state, leaf, snapshot)
        self._states = {}
        self._release()

    def discard(self) -> None:
        """Nothing was stored: cache only the states no draft touched."""
        if self._cache is None:
            return
        drafted = {d.aggregate_id for d in self.drafts}
        for aggregate_id, state in self._states.items():
            leaf = self._last_leaf.get(aggregate_id)
            if leaf is not None and aggregate_id not in drafted:
                self._cache.put(state, leaf, self._snapshot.get(aggregate_id, NO_SNAPSHOT))
        self._states = {}
        self._release()

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
        if type(data) is spec.schema:  # validated when it was made (models are frozen)
            model = data
        else:
            model = spec.parse(data.model_dump() if isinstance(data, EventData) else data)
        state = self.state(AGGREGATE_KINDS[spec.aggregate], aggregate_id)
        draft = Draft(
            type=event_type,
            org=as_org or self.org,
            aggregate_id=aggregate_id,
            version=state.version + 1,
            data=data_of(model),
            occurred_at=self.occurred_at,
        )
        spec.check(self, draft, model)
        state.apply(draft, draft.data)
        self.drafts.append(draft)
        react(self, draft, model)
        return draft
