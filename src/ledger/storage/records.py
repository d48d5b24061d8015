"""What the ledger's recorders store beside the events, and what they hand back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from ..envelope import format_time, parse_time, recorded_at_of, restamp_envelope
from ..errors import InvalidInputError
from ..log.merkle import TreeBuilder, frontier_nodes, leaf_hash

NodeRows = list[tuple[int, int, bytes]]
FENCE_MOVED = "keys or organisations changed while the command was decided; decide again"


@dataclass(frozen=True)
class LoggedEvent(Notification):
    """A stored event with its place in the notification log and in the Merkle log.

    Read by leaf, a leaf whose event was deleted behind the ledger's back comes back with
    ``originator_id``, ``originator_version``, ``topic`` and ``state`` set to None.
    """

    leaf_index: int | None = None
    leaf_hash: bytes | None = None


@dataclass(frozen=True)
class IdempotencyClaim:
    """Stored in the same transaction as a command's events, so a retry finds its result."""

    scope: str
    key: str
    request_hash: str
    result: bytes


@dataclass(frozen=True)
class SideRow:
    """A row of a side table written in the same transaction as a command's events (kwarg
    ``side_rows`` of ``insert_events``), so a crash cannot leave the event without it.

    An ``exclusive`` row may be written only where its key is absent or already holds this
    value: the store checks that under its write lock, and otherwise stores nothing of the
    command (an ``IntegrityError``, :data:`SIDE_ROW_TAKEN`), so that two writers racing for one
    key cannot both take it. Any other row replaces what its key held."""

    namespace: str
    key: str
    value: bytes
    exclusive: bool = False


SIDE_ROW_TAKEN = "a side row's key holds another value; decide again"


def taken_side_row(
    rows: Sequence[SideRow], stored: Callable[[str, str], bytes | None]
) -> SideRow | None:
    """The first exclusive row whose key ``stored(namespace, key)`` holds another value."""
    for row in rows:
        if row.exclusive:
            value = stored(row.namespace, row.key)
            if value is not None and bytes(value) != row.value:
                return row
    return None


@dataclass
class InsertReceipt:
    """Filled in by the recorder inside the insert transaction."""

    notification_ids: list[int] = field(default_factory=list)
    leaf_indexes: list[int] = field(default_factory=list)
    recorded_at: list[str] = field(default_factory=list)


class SharedCounters(Protocol):
    """Counters in the store's side table, shared by every process on the store."""

    def side_get(self, namespace: str, key: str) -> bytes | None: ...

    def side_increment(self, namespace: str, key: str) -> int: ...

    def side_delete_before(self, namespace: str, key: str) -> None: ...


class LedgerRecorderProtocol(Protocol):
    """What the ledger needs from a recorder, on every kind of store."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any: ...

    def select_events(
        self,
        originator_id: Any,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]: ...

    def select_events_from(
        self, starts: Sequence[tuple[UUID, int]]
    ) -> dict[UUID, list[StoredEvent]]: ...

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]: ...

    def max_notification_id(self) -> int | None: ...

    def select_notifications_to_newest(
        self, after: int, limit: int, topics: Sequence[str]
    ) -> tuple[int | None, Sequence[Notification]]: ...

    def log_size(self) -> int: ...

    def read_nodes(self, coordinates: Sequence[tuple[int, int]]) -> list[bytes]: ...

    def select_leaves(self, start: int, limit: int) -> list[LoggedEvent]: ...

    def select_leaf_and_nodes(
        self, leaf_index: int, coordinates: Sequence[tuple[int, int]]
    ) -> tuple[LoggedEvent | None, dict[tuple[int, int], bytes]]:
        """The leaf at ``leaf_index`` (None if it has no row) and those of the Merkle nodes at
        ``coordinates`` that are stored, read together (one statement on PostgreSQL)."""
        ...

    def find_claim(self, scope: str, key: str) -> IdempotencyClaim | None: ...

    def unlogged_notification_ids(self) -> list[int]: ...

    def side_put(self, namespace: str, key: str, value: bytes) -> None: ...

    def side_put_many(self, namespace: str, items: Sequence[tuple[str, bytes]]) -> None: ...

    def side_get(self, namespace: str, key: str) -> bytes | None: ...

    def side_delete(self, namespace: str, key: str) -> None: ...

    def side_items(self, namespace: str) -> list[tuple[str, bytes]]: ...

    def side_last(self, namespace: str) -> tuple[str, bytes] | None: ...

    def side_increment(self, namespace: str, key: str) -> int:
        """Add one to the count kept at ``key`` (0 when absent), atomically across processes;
        return the new count."""
        ...

    def side_delete_before(self, namespace: str, key: str) -> None:
        """Delete the rows of ``namespace`` whose key sorts before ``key``."""
        ...

    def select_leaf_rows(self, start: int, limit: int) -> list[tuple[Any, ...]]:
        """The leaves from ``start`` on, at most ``limit``, in order, as plain rows for a reader
        of the whole log (the audit): ``(leaf_index, notification_id, originator_id,
        originator_version, topic, state, leaf_hash)``, the originator id as the store holds it
        (no ``UUID`` built) and the event's columns None when its event is gone."""
        ...


Clock = Callable[[], datetime]
_TICK = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def microseconds_since_epoch(moment: datetime) -> int:
    """An aware time as whole microseconds since 1970-01-01T00:00:00Z, exactly."""
    return (moment - _EPOCH) // _TICK


class ReadsToNewestInTwo:
    """For a local store (SQLite, memory), where two reads cost no round trip."""

    def select_notifications_to_newest(
        self: LedgerRecorderProtocol, after: int, limit: int, topics: Sequence[str]
    ) -> tuple[int | None, Sequence[Notification]]:
        """The newest notification id, and the first ``limit`` notifications of ``topics``
        after ``after`` up to it."""
        top = self.max_notification_id()
        return top, self.select_notifications(after + 1, limit, top, topics)


def stamp_recorded_at(
    stored_events: Sequence[StoredEvent], last_state: bytes | None, clock: Clock
) -> tuple[list[StoredEvent], list[str]]:
    """The events with ``recorded_at`` set to the time of the insert, strictly increasing in
    log order; returns them and their times.

    Called by a recorder while it holds the store's write lock, with the state of the last leaf:
    the first time is the later of the clock and one microsecond after that leaf's
    ``recorded_at``, and each next event's one microsecond later. Times never go back along the
    log however writers interleave, so the audit's back-dating check stays quiet for honest
    writers (several processes or hosts, a clock stepped back) and loud for anyone who inserts
    or moves an event behind the ledger's back.
    """
    moment = clock()
    last = None if last_state is None else recorded_at_of(last_state)
    # A malformed last leaf is the audit's finding, not a reason to stop writing.
    with suppress(InvalidInputError):
        moment = moment if last is None else max(moment, parse_time(last) + _TICK)
    times = [format_time(moment + _TICK * i) for i in range(len(stored_events))]
    stamped = [  # built directly: ``dataclasses.replace`` costs microseconds per event
        StoredEvent(s.originator_id, s.originator_version, s.topic, restamp_envelope(s.state, t))
        for s, t in zip(stored_events, times, strict=True)
    ]
    return stamped, times


def extend_log(
    size: int,
    read_nodes: Callable[[Sequence[tuple[int, int]]], list[bytes]],
    states: Sequence[bytes],
) -> tuple[NodeRows, NodeRows]:
    """The node rows (level, index, hash) that appending ``states`` as leaves creates, and the
    right frontier of the tree they make.

    Reads only the O(log n) right frontier of the tree of ``size`` leaves.
    """
    builder = TreeBuilder.from_frontier(size, read_nodes)
    rows: NodeRows = []
    for state in states:
        rows.extend(builder.append(leaf_hash(state)))
    return rows, builder.frontier


__all__ = [
    "IdempotencyClaim",
    "InsertReceipt",
    "LedgerRecorderProtocol",
    "LoggedEvent",
    "NodeRows",
    "ReadsToNewestInTwo",
    "SideRow",
    "extend_log",
    "frontier_nodes",
    "stamp_recorded_at",
]
