"""What every group of commands needs from the ledger."""

from __future__ import annotations

import contextlib
import contextvars
import copy
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from ..context import Context
from ..drafting import Drafted, drafting_key_id
from ..envelope import SignedEvent, event_topic
from ..keystore import Keystore
from ..model.aggregates import AggregateState
from ..personal_data import PersonalDataStore
from ..results import NoValue, ResultValue
from ..signing import Signer
from ..trust import TrustDirectory
from ..writer import CommandResult, SideRows, Writer

R = TypeVar("R", bound=ResultValue)
S = TypeVar("S", bound=AggregateState)
# Events of a scan verified together (their signatures on several cores), a few at a time so
# that a reader stopping early has not verified much more than it read.
VERIFIED_TOGETHER = 64

_running_as: contextvars.ContextVar[tuple[Signer | None, datetime | None]] = contextvars.ContextVar(
    "running_as", default=(None, None)
)


def run_as(signer: Signer | None, occurred_at: datetime | None) -> contextvars.Token[Any]:
    """Commands run in this context sign with ``signer`` and happen at ``occurred_at`` unless
    they are given their own (how :meth:`Ledger.run` gives every command both)."""
    return _running_as.set((signer, occurred_at))


def stop_running_as(token: contextvars.Token[Any]) -> None:
    _running_as.reset(token)


class CommandHost:
    _writer: Writer
    _directory: TrustDirectory
    keystore: Keystore
    personal_data: PersonalDataStore
    clock: Callable[[], datetime]

    def signer_for(
        self,
        org: str,
        signer: Signer | None = None,
        purpose: str = "signing",
        *,
        excluding: str | None = None,
    ) -> Signer:
        raise NotImplementedError

    def events(self, aggregate_id: UUID | str) -> list[SignedEvent]:
        raise NotImplementedError

    def event(self, aggregate_id: UUID | str, version: int) -> SignedEvent:
        raise NotImplementedError

    def _command(
        self,
        org: str,
        command: str,
        params: dict[str, Any],
        decide: Callable[[Context], dict[str, Any] | None],
        *,
        result: type[R],
        idempotency_key: str,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
        purpose: str = "signing",
        side_rows: SideRows | None = None,
    ) -> CommandResult[R]:
        """Run ``decide`` through the writer; the value it returns comes back as a ``result``."""

        def decision(ctx: Context) -> dict[str, Any]:
            return decide(ctx) or {}

        given_signer, given_time = _running_as.get()
        signer = signer if signer is not None else given_signer
        occurred_at = occurred_at if occurred_at is not None else given_time

        drafting = drafting_key_id()
        if drafting is not None:
            raise Drafted(
                self._writer.draft(
                    org=org,
                    key_id=drafting,
                    idempotency_key=idempotency_key,
                    decide=decision,
                    occurred_at=occurred_at,
                )
            )
        stored = self._writer.run(
            org=org,
            signer=lambda: self.signer_for(org, signer, purpose),
            idempotency_key=idempotency_key,
            command=command,
            params=params,
            decide=decision,
            result_type=result,
            occurred_at=occurred_at,
            other_signers=lambda other, key_purpose: self.signer_for(other, None, key_purpose),
            side_rows=side_rows,
        )
        self._after_write()
        return stored

    def _after_write(self) -> None:
        """Called after every stored command (the ledger signs scheduled checkpoints here)."""

    def _emit_one(
        self,
        org: str,
        event_type: str,
        aggregate_id: UUID,
        data: dict[str, Any],
        *,
        idempotency_key: str,
        signer: Signer | None = None,
        occurred_at: datetime | None = None,
    ) -> CommandResult[NoValue]:
        """A command that is exactly one event."""
        return self._command(
            org,
            event_type,
            {"aggregate_id": str(aggregate_id), "data": data},
            lambda ctx: _emit_only(ctx, event_type, aggregate_id, data),
            result=NoValue,
            idempotency_key=idempotency_key,
            signer=signer,
            occurred_at=occurred_at,
        )

    def events_of_types(self, *types: str) -> Iterator[SignedEvent]:
        """Every event of these types, in log order, verified."""
        topics = [event_topic(t) for t in types]
        start = 1
        while True:
            batch = self._writer.recorder.select_notifications(start, 1000, None, topics)
            for part in range(0, len(batch), VERIFIED_TOGETHER):
                yield from self._writer.mapper.verify_many(batch[part : part + VERIFIED_TOGETHER])
            if len(batch) < 1000:
                return
            start = batch[-1].id + 1

    @contextlib.contextmanager
    def _reading(self, cls: type[S], aggregate_id: UUID) -> Iterator[S]:
        """The aggregate's current state as a command reads it: from this process's cache of
        verified states, brought up to date with the events stored since (each verified), or
        from its snapshot, or rebuilt from its first event. The caller reads it inside the block
        (another thread wanting the same aggregate meanwhile waits for it, see
        :meth:`~ledger.state_cache.VerifiedStateCache.take`); afterwards it goes back to the
        cache unchanged."""
        ctx = self._writer.context("", "")  # reads only: no event is staged
        try:
            yield ctx.state(cls, aggregate_id)
        finally:
            ctx.discard()

    def _state(self, cls: type[S], aggregate_id: UUID) -> S:
        """A copy of the aggregate's current verified state (see :meth:`_reading`), the
        caller's to keep."""
        with self._reading(cls, aggregate_id) as state:
            return copy.deepcopy(state)


def _emit_only(ctx: Context, event_type: str, aggregate_id: UUID, data: dict[str, Any]) -> None:
    ctx.emit(event_type, aggregate_id, data)
