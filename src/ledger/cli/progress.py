"""Progress on stderr for long commands that run in stages (``demo``, ``serve --demo``)."""

from __future__ import annotations

from ..audit.progress import Progress


class StageProgress:
    """Told (stage, done, total); shows one progress line per stage, closed when it ends.

    On a terminal the line is redrawn twice a second; in a log, a line every ten seconds and
    one at the end of each stage, so a silent minute never looks like a hang.
    """

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._stage: str | None = None
        self._bar: Progress | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self.close()
            self._stage, self._bar = stage, Progress(total, stage, enabled=self.enabled)
        assert self._bar is not None
        self._bar.total = total
        self._bar.advance(done - self._bar.done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._stage, self._bar = None, None
