"""A progress line on stderr: done, rate, time left."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, what: str, *, enabled: bool = True) -> None:
        self.total, self.what, self.enabled = total, what, enabled
        self.started = self._last = time.monotonic()
        self.done = 0
        self._tty = sys.stderr.isatty()

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and now - self._last >= (0.5 if self._tty else 10.0):
            self._last = now
            self._show(now)

    def _show(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else 0.0
        share = self.done / self.total if self.total else 1.0
        bar = "#" * int(share * 30)
        line = f"{self.what} [{bar:<30}] {self.done}/{self.total} {rate:,.0f}/s, {left:,.0f} s left"
        sys.stderr.write(("\r" + line) if self._tty else line + "\n")
        sys.stderr.flush()

    def close(self) -> float:
        elapsed = time.monotonic() - self.started
        if self.enabled:
            self._show(time.monotonic())
            if self._tty:
                sys.stderr.write("\n")
        return elapsed
