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
from .findings import Finding

Job = tuple[bytes, bytes, bytes]  # public key, signature, canonical body
Tag = tuple[int, str | None]  # leaf index, event
CHUNK = 512


def verify_chunk(jobs: Sequence[Job]) -> list[int]:
    """Verify many signatures; the positions of those that do not verify (few or none, so
    that the answer costs the main process nothing per valid signature)."""
    keys: dict[bytes, Ed25519PublicKey] = {}
    invalid = []
    for position, (raw_key, signature, body) in enumerate(jobs):
        key = keys.get(raw_key)
        if key is None:
            key = keys[raw_key] = Ed25519PublicKey.from_public_bytes(raw_key)
        try:
            key.verify(signature, SIGNING_CONTEXT + body)
        except InvalidSignature:
            invalid.append(position)
    return invalid


class SignatureChecker:
    """Submit jobs in order; collect the failures in the same order, a chunk at a time."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool = ProcessPoolExecutor(self.workers) if self.workers > 1 else None
        self._pending: deque[tuple[list[Tag], Future[list[int]] | list[int]]] = deque()
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

    def failed(self, *, wait: bool = False) -> Iterator[Tag]:
        """The tags of the signatures that did not verify, from the chunks that are done (all
        of them with ``wait``)."""
        if wait:
            self._flush()
        while self._pending:
            tags, work = self._pending[0]
            if isinstance(work, Future):
                if not wait and not work.done() and len(self._pending) < 4 * self.workers:
                    return
                invalid = work.result()
            else:
                invalid = work
            self._pending.popleft()
            for position in invalid:
                yield tags[position]

    def collect(self, findings: list[Finding], *, wait: bool) -> None:
        """A finding for each signature that did not verify, in log order."""
        for leaf_index, where in self.failed(wait=wait):
            findings.append(
                Finding(
                    "signature-invalid",
                    "the signature does not verify with the key the event names",
                    leaf_index,
                    where,
                )
            )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
