"""Signature verification spread over worker processes, in order, while the main process goes
on reading, hashing and replaying."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..envelope import SIGNING_CONTEXT

Job = tuple[bytes, bytes, bytes]  # public key, signature, canonical body
Tag = tuple[int, str | None]  # leaf index, event
CHUNK = 512


def verify_chunk(jobs: Sequence[Job]) -> list[bool]:
    """Verify many signatures; True where valid."""
    keys: dict[bytes, Ed25519PublicKey] = {}
    results = []
    for raw_key, signature, body in jobs:
        key = keys.get(raw_key)
        if key is None:
            key = keys[raw_key] = Ed25519PublicKey.from_public_bytes(raw_key)
        try:
            key.verify(signature, SIGNING_CONTEXT + body)
            results.append(True)
        except InvalidSignature:
            results.append(False)
    return results


class SignatureChecker:
    """Submit jobs in order; collect results in the same order, a chunk at a time."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool = ProcessPoolExecutor(self.workers) if self.workers > 1 else None
        self._pending: deque[tuple[list[Tag], Future[list[bool]] | list[bool]]] = deque()
        self._jobs: list[Job] = []
        self._tags: list[Tag] = []

    def submit(self, job: Job, tag: Tag) -> None:
        self._jobs.append(job)
        self._tags.append(tag)
        if len(self._jobs) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        if not self._jobs:
            return
        jobs, tags = self._jobs, self._tags
        self._jobs, self._tags = [], []
        work = self._pool.submit(verify_chunk, jobs) if self._pool else verify_chunk(jobs)
        self._pending.append((tags, work))

    def ready(self, *, wait: bool = False) -> Iterator[tuple[Tag, bool]]:
        """Results whose chunk is done (all of them with ``wait``)."""
        if wait:
            self._flush()
        while self._pending:
            tags, work = self._pending[0]
            if isinstance(work, Future):
                if not wait and not work.done() and len(self._pending) < 4 * self.workers:
                    return
                results = work.result()
            else:
                results = work
            self._pending.popleft()
            yield from zip(tags, results, strict=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
