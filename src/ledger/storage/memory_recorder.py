"""The in-memory recorder: eventsourcing's POPO recorder, plus the Merkle log and idempotency
claims, updated under the same lock as the events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory

from .guard import guard_storage_errors
from .records import (
    FENCE_MOVED,
    SIDE_ROW_TAKEN,
    IdempotencyClaim,
    InsertReceipt,
    LoggedEvent,
    ReadsToNewestInTwo,
    extend_log,
    stamp_recorded_at,
    taken_side_row,
)


@guard_storage_errors
class LedgerRecorder(ReadsToNewestInTwo, POPOApplicationRecorder):
    def __init__(self) -> None:
        super().__init__()
        self._leaves: list[int] = []  # leaf index -> notification id
        self._leaf_of: dict[int, int] = {}  # notification id -> leaf index
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._claims: dict[tuple[str, str], IdempotencyClaim] = {}
        self._side: dict[str, dict[str, bytes]] = {}
        self._newest_of_topic: dict[str, int] = {}  # topic -> its newest notification id

    def _insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self._database_lock:
            claim: IdempotencyClaim | None = kwargs.get("claim")
            if claim is not None and (claim.scope, claim.key) in self._claims:
                raise IntegrityError(f"idempotency key {claim.key!r} already claimed")
            self._assert_uniqueness(stored_events)
            fence = kwargs.get("fence")
            if fence is not None and any(
                self._newest_of_topic.get(topic, 0) > fence for topic in kwargs["fence_topics"]
            ):
                raise IntegrityError(FENCE_MOVED)
            side_rows = kwargs.get("side_rows", ())
            if taken_side_row(side_rows, lambda n, k: self._side.get(n, {}).get(k)):
                raise IntegrityError(SIDE_ROW_TAKEN)
            receipt: InsertReceipt | None = kwargs.get("receipt")
            clock = kwargs.get("stamp_clock")
            if clock is not None:
                last = self._stored_events[self._leaves[-1] - 1].state if self._leaves else None
                stored_events, recorded_at = stamp_recorded_at(stored_events, last, clock)
                if receipt is not None:
                    receipt.recorded_at = recorded_at
            size = len(self._leaves)
            rows, _ = extend_log(size, self.read_nodes, [s.state for s in stored_events])
            ids = list(self._update_table(stored_events) or [])
            for nid, stored in zip(ids, stored_events, strict=True):
                self._leaf_of[nid] = len(self._leaves)
                self._leaves.append(nid)
                self._newest_of_topic[stored.topic] = nid
            self._nodes.update({(level, index): digest for level, index, digest in rows})
            if claim is not None:
                self._claims[(claim.scope, claim.key)] = claim
            for row in side_rows:
                self._side.setdefault(row.namespace, {})[row.key] = row.value
            if receipt is not None:
                receipt.notification_ids = ids
                receipt.leaf_indexes = [size + i for i in range(len(ids))]
            return ids

    def _logged(self, nid: int, stored: StoredEvent) -> LoggedEvent:
        leaf = self._leaf_of.get(nid)
        return LoggedEvent(
            id=nid,
            originator_id=stored.originator_id,
            originator_version=stored.originator_version,
            topic=stored.topic,
            state=stored.state,
            leaf_index=leaf,
            leaf_hash=None if leaf is None else self._nodes.get((0, leaf)),
        )

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        with self._database_lock:
            index = self._stored_events_index[str(originator_id)]
            versions = sorted(index, reverse=desc)
            chosen = [v for v in versions if (gt is None or v > gt) and (lte is None or v <= lte)][
                :limit
            ]
            return [self._logged(index[v] + 1, self._stored_events[index[v]]) for v in chosen]

    def select_events_from(
        self, starts: Sequence[tuple[UUID, int]]
    ) -> dict[UUID, list[StoredEvent]]:
        """The events of many aggregates, each from a version on (inclusive)."""
        found: dict[UUID, list[StoredEvent]] = {}
        for aggregate_id, version in starts:
            events = self.select_events(aggregate_id, gt=version - 1)
            if events:
                found[aggregate_id] = list(events)
        return found

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[LoggedEvent]:
        with self._database_lock:
            found = super().select_notifications(
                start, limit, stop, topics, inclusive_of_start=inclusive_of_start
            )
            return [self._logged(n.id, n) for n in found]

    def log_size(self) -> int:
        with self._database_lock:
            return len(self._leaves)

    def read_nodes(self, coordinates: Sequence[tuple[int, int]]) -> list[bytes]:
        with self._database_lock:
            try:
                return [self._nodes[pair] for pair in coordinates]
            except KeyError as missing:
                raise IntegrityError(f"Merkle node {missing} is missing from the log") from None

    def select_leaves(self, start: int, limit: int) -> list[LoggedEvent]:
        with self._database_lock:
            return [
                self._logged(nid, self._stored_events[nid - 1])
                for nid in self._leaves[start : start + limit]
            ]

    def select_leaf_and_nodes(
        self, leaf_index: int, coordinates: Sequence[tuple[int, int]]
    ) -> tuple[LoggedEvent | None, dict[tuple[int, int], bytes]]:
        with self._database_lock:
            found = self.select_leaves(leaf_index, 1) if leaf_index >= 0 else []
            nodes = {pair: self._nodes[pair] for pair in coordinates if pair in self._nodes}
        return (found[0] if found and found[0].leaf_index == leaf_index else None), nodes

    def unlogged_notification_ids(self) -> list[int]:
        with self._database_lock:
            return [
                nid for nid in range(1, len(self._stored_events) + 1) if nid not in self._leaf_of
            ]

    def find_claim(self, scope: str, key: str) -> IdempotencyClaim | None:
        with self._database_lock:
            return self._claims.get((scope, key))

    def side_put(self, namespace: str, key: str, value: bytes) -> None:
        with self._database_lock:
            self._side.setdefault(namespace, {})[key] = value

    def side_put_many(self, namespace: str, items: Sequence[tuple[str, bytes]]) -> None:
        with self._database_lock:
            self._side.setdefault(namespace, {}).update(items)

    def side_get(self, namespace: str, key: str) -> bytes | None:
        with self._database_lock:
            return self._side.get(namespace, {}).get(key)

    def side_delete(self, namespace: str, key: str) -> None:
        with self._database_lock:
            self._side.get(namespace, {}).pop(key, None)

    def side_last(self, namespace: str) -> tuple[str, bytes] | None:
        items = self.side_items(namespace)
        return items[-1] if items else None

    def side_items(self, namespace: str) -> list[tuple[str, bytes]]:
        with self._database_lock:
            return sorted(self._side.get(namespace, {}).items())

    def side_increment(self, namespace: str, key: str) -> int:
        with self._database_lock:
            rows = self._side.setdefault(namespace, {})
            count = int(rows.get(key, b"0")) + 1
            rows[key] = str(count).encode("ascii")
            return count

    def side_delete_before(self, namespace: str, key: str) -> None:
        with self._database_lock:
            rows = self._side.get(namespace, {})
            for old in [k for k in rows if k < key]:
                del rows[old]

    def select_leaf_rows(self, start: int, limit: int) -> list[tuple[Any, ...]]:
        """As :meth:`select_leaves`, as plain tuples."""
        with self._database_lock:
            rows = []
            for leaf, nid in enumerate(self._leaves[start : start + limit], start):
                stored = self._stored_events[nid - 1]
                rows.append(
                    (
                        leaf,
                        nid,
                        stored.originator_id,
                        stored.originator_version,
                        stored.topic,
                        stored.state,
                        self._nodes.get((0, leaf)),
                    )
                )
            return rows


class LedgerMemoryFactory(POPOFactory):
    """eventsourcing's in-memory factory, constructing the ledger's recorder."""

    def application_recorder(self) -> ApplicationRecorder:
        return LedgerRecorder()
