"""Read replicas: the same ledger read from a PostgreSQL hot standby.

A replica answers reads only. Every write, checkpoints included, goes to the primary: when a
read on the replica needs a signed checkpoint it does not have yet, the primary signs one and
the replica waits (a bounded time) until streaming replication has brought it over, so what it
serves is always checked against a checkpoint the log key signed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .errors import StoreUnavailableError
from .ledger import Ledger
from .log.checkpoint import Checkpoint
from .log.note import parse_note
from .storage.guard import refuse_writes
from .storage.url import parse_store_url
from .transparency import TransparencyLog

DEFAULT_WAIT = 2.0  # seconds a read waits for a replica to replay what it needs
POLL = 0.01


class ReplicaLog(TransparencyLog):
    """The replica's Merkle log: read here, checkpoints signed by the primary's log."""

    primary: TransparencyLog
    wait: float

    def can_sign(self) -> bool:
        return self.primary.can_sign()

    def sign_checkpoint(self) -> str:
        size = Checkpoint.parse(parse_note(self.primary.sign_checkpoint())[0]).size
        if not wait_until(lambda: self.latest_size() >= size, self.wait):
            raise StoreUnavailableError(
                f"the read replica has not replayed the checkpoint of size {size} "
                f"within {self.wait:g} s; retry"
            )
        return self.checkpoint_at(size)

    def maybe_checkpoint(self) -> str | None:
        return None  # the primary keeps the schedule


def open_replica(url: str, primary: Ledger, *, wait: float = DEFAULT_WAIT) -> Ledger:
    """A read-only Ledger on the standby at ``url``, for the same ledger as ``primary``
    (its keystore, so personal data it reads decrypts the same; its log signs checkpoints)."""
    replica = Ledger(parse_store_url(url).as_read_only(), keystore=primary.keystore)
    refuse_writes(replica._recorder)
    replica.log.close()
    log = ReplicaLog(replica._recorder, replica._directory, replica.keystore)
    log.primary, log.wait = primary.log, wait
    replica.log = log
    return replica


def caught_up(replica: Ledger, log_size: int, wait: float) -> bool:
    """Whether the replica holds at least ``log_size`` leaves, waiting at most ``wait`` s."""
    return wait_until(lambda: replica.log_size() >= log_size, wait)


def wait_until(ready: Callable[[], bool], seconds: float) -> bool:
    """Poll ``ready`` until it holds or ``seconds`` have passed; whether it held."""
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)
    return True
