"""The eventsourcing application that gives the ledger its store, mapper and notification log."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import Environment, EnvType

from .mapper import SignedEventMapper
from .storage.guard import storage_errors
from .storage.records import LedgerRecorderProtocol
from .storage.url import StoreURL


class LedgerEvents(Application[UUID]):
    """Persistence only: the ledger's own classes decide, sign and read the events."""

    name = "ledger"

    def __init__(self, store: StoreURL) -> None:
        with storage_errors():  # a store that cannot be opened: the ledger's error, not a driver's
            super().__init__(env=store.eventsourcing_env())

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Only the settings the store URL gives, never ``os.environ``.

        eventsourcing reads ``os.environ`` first, and ``LEDGER_*`` before the unprefixed names
        (this application is named ``ledger``): ``LEDGER_SQLITE_DBNAME`` or ``LEDGER_MAPPER_TOPIC``
        in a process's environment would silently redirect the store or replace the mapper.
        The ledger's own environment variables are read by its settings, not here.
        """
        return Environment(name, {**type(self).env, **(env or {})})

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
