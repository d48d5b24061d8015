"""Feeding an :class:`IndicatorAccumulator` from a ledger's own store, leaf by leaf."""

from __future__ import annotations

from typing import Any

from ..envelope import TOPIC_PREFIX, open_envelope
from .figures import RELEVANT_TYPES, IndicatorAccumulator

BATCH = 2000
RELEVANT_TOPICS = frozenset(TOPIC_PREFIX + t for t in RELEVANT_TYPES)


def feed_from_store(ledger: Any, acc: IndicatorAccumulator, size: int, *, verify: bool) -> None:
    """Feed the events at leaves ``0 .. size - 1``.

    With ``verify`` each relevant event's signature, key and leaf hash are checked on the way
    (the ledger's mapper raises on a tampered one); without, the store is trusted as read.
    """
    start = 0
    while start < size:
        batch = ledger._recorder.select_leaves(start, min(BATCH, size - start))
        if not batch:
            return
        rows = [r for r in batch if r.leaf_index < size and r.topic in RELEVANT_TOPICS]
        if verify:  # the batch's signatures checked together, on all cores
            for event in ledger._app.signed_mapper.verify_many(rows):
                acc.add(event.type, event.org, event.data, event.occurred_at)
        else:
            for row in rows:
                body = open_envelope(row.state)[0]
                acc.add(body["type"], body["org"], body["data"], body["occurred_at"])
        start = batch[-1].leaf_index + 1
