"""Asking witnesses for cosignatures in the background, so that no write waits for a witness.

The log signs a checkpoint under its signing lock and hands the size to :class:`Cosigning`,
which keeps one worker thread per witness. Each worker asks its witness for the checkpoints in
the order they were signed (a witness needs a consistency proof from the last size it cosigned,
so none is skipped) and keeps what verifies. A slow or unreachable witness delays only its own
cosignatures: writes, other witnesses and readers that do not wait go on.

Readers that want the cosignatures (``/log/checkpoint``, receipts, ``ledger log checkpoint``)
call :meth:`Cosigning.wait` with a bound; what has not arrived by then is simply not on the
note yet, and arrives later.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from .log.witness_client import WitnessEndpoint

logger = logging.getLogger(__name__)

Ask = Callable[[WitnessEndpoint, int], None]
"""Ask one witness to cosign the kept checkpoint of a size, and keep its cosignature; raise
if it does not cosign."""

_STOP = -1


class Cosigning:
    """One background worker per witness, asking for cosignatures in signing order."""

    def __init__(self, witnesses: Sequence[WitnessEndpoint], ask: Ask) -> None:
        self._witnesses = tuple(witnesses)
        self._ask = ask
        self._queues: dict[str, queue.Queue[int]] = {}
        self._threads: list[threading.Thread] = []
        self._pending: dict[int, set[str]] = {}  # size -> witnesses still to answer
        self._changed = threading.Condition()
        self._started = False
        self._closed = False

    def submit(self, size: int) -> None:
        """Have every witness asked to cosign the checkpoint of ``size``; return at once."""
        if not self._witnesses:
            return
        with self._changed:
            if self._closed:
                return
            self._start()
            self._pending[size] = {w.url for w in self._witnesses}
        for endpoint in self._witnesses:
            self._queues[endpoint.url].put(size)

    def pending(self, size: int) -> bool:
        """Whether some witness has not yet answered (or failed) for ``size``."""
        with self._changed:
            return size in self._pending

    def wait(self, size: int, timeout: float) -> bool:
        """Wait until every witness answered or failed for ``size``; False if time ran out."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while size in self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def close(self, timeout: float = 1.0) -> None:
        """Stop the workers; a request under way finishes within its own timeout."""
        with self._changed:
            if self._closed:
                return
            self._closed = True
            started = self._started
        if not started:
            return
        for endpoint in self._witnesses:
            self._queues[endpoint.url].put(_STOP)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        for endpoint in self._witnesses:
            self._queues[endpoint.url] = queue.Queue()
            thread = threading.Thread(
                target=self._work, args=(endpoint,), name=f"cosign {endpoint.url}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _work(self, endpoint: WitnessEndpoint) -> None:
        sizes = self._queues[endpoint.url]
        while True:
            size = sizes.get()
            if size == _STOP:
                return
            try:
                self._ask(endpoint, size)
            except Exception as error:  # a witness's failure must never stop the worker
                logger.warning("witness %s did not cosign size %d: %s", endpoint.url, size, error)
            finally:
                self._answered(endpoint, size)

    def _answered(self, endpoint: WitnessEndpoint, size: int) -> None:
        with self._changed:
            waiting = self._pending.get(size)
            if waiting is not None:
                waiting.discard(endpoint.url)
                if not waiting:
                    del self._pending[size]
            self._changed.notify_all()
