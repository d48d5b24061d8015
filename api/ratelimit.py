"""Fixed-window request counting.

Failed authentications per client address are counted in the store (:class:`SharedWindowLimiter`),
so every worker of ``ledger serve --workers N`` sees the same count and the limit holds for the
server as a whole. Requests per API key, when the key names a rate, are counted in the process
(:class:`WindowLimiter`): each worker counts for itself, so with N workers a key gets up to N
times its rate.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

WINDOW_SECONDS = 60.0


class WindowLimiter:
    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self._window = window
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def retry_after(self, who: str, limit: int) -> int | None:
        """Seconds to wait if ``who`` already used ``limit`` in the current window, else None."""
        with self._lock:
            started, count = self._counts.get(who, (0.0, 0))
            left = started + self._window - time.monotonic()
            if left > 0 and count >= limit:
                return max(1, math.ceil(left))
            return None

    def count(self, who: str) -> None:
        """One more in ``who``'s current window (a new window when the old one ended)."""
        now = time.monotonic()
        with self._lock:
            started, count = self._counts.get(who, (0.0, 0))
            if now - started >= self._window:
                started, count = now, 0
            self._counts[who] = (started, count + 1)
            if len(self._counts) > 100_000:
                self._forget_old(now)

    def _forget_old(self, now: float) -> None:
        for who in [w for w, (s, _) in self._counts.items() if now - s >= self._window]:
            del self._counts[who]


class SideCounter(Protocol):
    def side_get(self, namespace: str, key: str) -> bytes | None: ...

    def side_increment(self, namespace: str, key: str) -> int: ...

    def side_delete_before(self, namespace: str, key: str) -> None: ...


class SharedWindowLimiter:
    """Counts per client in the store's side table, in windows aligned to the clock (minute
    N runs from N * window to (N + 1) * window seconds since the epoch), one atomic increment
    per counted event; a window's rows are deleted once a newer window starts."""

    NAMESPACE = "auth-failures"

    def __init__(
        self, window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self._window = window
        self._clock = clock

    def _key(self, index: int, who: str) -> str:
        return f"{index:012d}:{who}"

    def retry_after(self, store: SideCounter, who: str, limit: int) -> int | None:
        """Seconds to the window's end if ``who`` already used ``limit`` in it, else None."""
        now = self._clock()
        index = int(now // self._window)
        stored = store.side_get(self.NAMESPACE, self._key(index, who))
        if stored is None or int(stored) < limit:
            return None
        return max(1, math.ceil((index + 1) * self._window - now))

    def count(self, store: SideCounter, who: str) -> int:
        """One more for ``who`` in the current window, seen by every process; the new count."""
        index = int(self._clock() // self._window)
        counted = store.side_increment(self.NAMESPACE, self._key(index, who))
        if counted == 1:  # the first of a window: forget the windows before the last one
            store.side_delete_before(self.NAMESPACE, self._key(index - 1, ""))
        return counted
