"""Fixed-window request counting in the process: failed authentications per client address,
and requests per API key when the key names a rate. Each worker counts for itself, so with N
workers a client gets up to N times the limit; the point is that guessing keys becomes slow."""

from __future__ import annotations

import math
import threading
import time

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
