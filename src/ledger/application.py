"""The eventsourcing application that gives the ledger its store, mapper and notification log."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from eventsourcing.application import Application

from .mapper import SignedEventMapper
from .storage.records import LedgerRecorderProtocol
from .storage.url import StoreURL


class LedgerEvents(Application[UUID]):
    """Persistence only: the ledger's own classes decide, sign and read the events."""

    name = "ledger"

    def __init__(self, store: StoreURL) -> None:
        super().__init__(env=store.eventsourcing_env())

    @property
    def ledger_recorder(self) -> LedgerRecorderProtocol:
        return cast(LedgerRecorderProtocol, self.recorder)

    @property
    def signed_mapper(self) -> SignedEventMapper:
        assert isinstance(self.mapper, SignedEventMapper)
        return self.mapper

    def close(self) -> None:
        closer: Any = getattr(self.factory, "close", None)
        if callable(closer):
            closer()
