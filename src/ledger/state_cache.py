"""Verified aggregate states kept between commands, so a command's cost does not grow with history.

A command needs the current state of each aggregate it touches. Rebuilding it means reading and
verifying every event of the aggregate, which for a volunteer with 2,000 records is thousands of
signature checks. This process already verified those events once: the cache keeps the state it
built, with the version it reached and the leaf hash of the last event applied, and a command
fast-forwards it by reading only the events stored after that version (each verified, as any
read is).

An entry lives in this process's memory and was built only from events that passed verification
here (or from an authenticated snapshot, see :mod:`ledger.snapshots`), so a changed database row
cannot become an entry. A row changed
*after* it was read is not re-read by later commands, except the last one, whose bytes are
compared with the leaf hash the entry remembers (a rolled-back or rewritten tail drops the entry
and the state is rebuilt from the first event). Older rows are the audit's to check: it replays
everything from the log.

Entries are taken out while a command works on them and put back only when its events were
stored, so a failed or concurrent command never sees a state with drafts that were not stored.
Another thread that wants an entry while it is out waits for it, for about as long as rebuilding
the state would take (a few microseconds per event of it, at most a quarter of a second), rather
than rebuilding a long history from its snapshot; past that it rebuilds the state itself.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from .envelope import SignedEvent
from .model.aggregates import AggregateState
from .snapshots import SNAPSHOT_BYTES_PER_EVENT, SNAPSHOT_INTERVAL, SnapshotStore

DEFAULT_CAPACITY = 50_000
# How long a thread waits for an entry another thread has taken out: per event of its state
# (rebuilding from a snapshot costs some tens of microseconds per event), and at most.
WAIT_PER_EVENT = 0.000025
MAX_WAIT = 0.25
log = logging.getLogger(__name__)
TailReader = Callable[[UUID, int, bytes], Sequence[SignedEvent] | None]
NO_SNAPSHOT = (0, 0)  # (version, bytes) of a state's newest known snapshot: none known


def leaf_hash_of(envelope: bytes) -> bytes:
    """The RFC 6962 leaf hash of a stored event's bytes."""
    return hashlib.sha256(b"\x00" + envelope).digest()


@dataclass(slots=True)
class CachedState:
    """A state built from verified events up to ``state.version``, whose last event's stored
    bytes hash to ``last_leaf_hash``; ``snapshot`` is the version and size in bytes of its
    newest snapshot this process knows of (``NO_SNAPSHOT``: none)."""

    state: AggregateState
    last_leaf_hash: bytes
    snapshot: tuple[int, int] = NO_SNAPSHOT


class VerifiedStateCache:
    """A bounded, thread-safe map from aggregate id to its verified state (least recently used
    entries are dropped first)."""

    def __init__(
        self, capacity: int = DEFAULT_CAPACITY, snapshots: SnapshotStore | None = None
    ) -> None:
        self.capacity = capacity
        self.snapshots = snapshots
        self._entries: OrderedDict[UUID, CachedState] = OrderedDict()
        self._lock = threading.Lock()
        self._returned = threading.Condition(self._lock)
        # entries taken out: the taking thread and the version of the state it took
        self._out: dict[UUID, tuple[int, int]] = {}
        self.wait_per_event = WAIT_PER_EVENT
        self.max_wait = MAX_WAIT
        self.hits = 0
        self.misses = 0
        self.waits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, aggregate_id: UUID) -> CachedState | None:
        """Remove and return the entry: the caller owns the state until it puts it back (or,
        having dropped it, calls :meth:`release`). While another thread has it out, wait for it
        as long as rebuilding it would take, about; then answer None."""
        me = threading.get_ident()
        with self._lock:
            entry = self._entries.pop(aggregate_id, None)
            holder = self._out.get(aggregate_id)
            if entry is None and holder is not None and holder[0] != me:
                self.waits += 1
                self._returned.wait_for(
                    lambda: aggregate_id in self._entries or aggregate_id not in self._out,
                    timeout=min(self.max_wait, holder[1] * self.wait_per_event),
                )
                entry = self._entries.pop(aggregate_id, None)
            if entry is None:
                self.misses += 1
            else:
                self.hits += 1
                self._out[aggregate_id] = (me, entry.state.version)
            return entry

    def release(self, aggregate_id: UUID) -> None:
        """The entry this thread took out will not be put back (its state held drafts that
        were not stored): a thread waiting for it stops waiting."""
        with self._lock:
            holder = self._out.get(aggregate_id)
            if holder is not None and holder[0] == threading.get_ident():
                del self._out[aggregate_id]
                self._returned.notify_all()

    def from_snapshot(self, aggregate_id: UUID) -> CachedState | None:
        """An authenticated snapshot's state, when one is stored (the caller fast-forwards it)."""
        if self.snapshots is None:
            return None
        found = self.snapshots.load(aggregate_id)
        if found is None:
            return None
        state, leaf_hash, size = found
        return CachedState(state, leaf_hash, (state.version, size))

    def persist_if_due(
        self, state: AggregateState, last_leaf_hash: bytes, snapshot: tuple[int, int]
    ) -> tuple[int, int]:
        """Snapshot ``state`` when it has gained enough events since ``snapshot``, its newest
        known snapshot's (version, bytes): at least ``SNAPSHOT_INTERVAL``, and one per
        ``SNAPSHOT_BYTES_PER_EVENT`` bytes of that snapshot, so that rewriting a large state
        costs each event no more than rewriting a small one. With none known (a state rebuilt
        from the first event, or new in this process) one is due from ``SNAPSHOT_INTERVAL``
        events. Return the newest known snapshot's (version, bytes) after this."""
        if self.snapshots is None or state.version < SNAPSHOT_INTERVAL:
            return snapshot
        version, size = snapshot
        if version and state.version - version < max(
            SNAPSHOT_INTERVAL, -(-size // SNAPSHOT_BYTES_PER_EVENT)
        ):
            return snapshot
        try:
            saved = self.snapshots.save(state, last_leaf_hash)
        except Exception as error:  # the command is stored; a snapshot is only a shortcut
            log.warning("state snapshot of %s not saved: %s", state.aggregate_id, error)
            return snapshot
        return snapshot if saved is None else (state.version, saved)

    def put(
        self,
        state: AggregateState,
        last_leaf_hash: bytes,
        snapshot: tuple[int, int] = NO_SNAPSHOT,
    ) -> None:
        """Keep ``state`` (with its newest known snapshot's version and size), unless a newer
        one was put back meanwhile."""
        if not state.exists:
            return
        with self._lock:
            self._out.pop(state.aggregate_id, None)
            self._returned.notify_all()
            current = self._entries.get(state.aggregate_id)
            if current is not None and current.state.version >= state.version:
                return
            self._entries[state.aggregate_id] = CachedState(state, last_leaf_hash, snapshot)
            self._entries.move_to_end(state.aggregate_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._out.clear()
            self._returned.notify_all()
