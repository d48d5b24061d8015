"""Signature verification spread over processes, in order, while the main process goes on
reading, hashing and replaying.

With ``workers`` N the main process and N - 1 worker processes verify: the main process hands
each chunk of jobs to the worker holding the fewest, and verifies it itself when every worker
already holds ``OUTSTANDING`` (so that as many processes run as there are cores, and none waits
for one). Each worker has a pipe of its own: a chunk goes as three lists (keys, signatures,
bodies) in one message, and the answer is the positions that did not verify. The main process
runs no thread: a process pool's feeder and manager threads pickled every job and competed with
the replay for the interpreter."""

from __future__ import annotations

import contextlib
import fcntl
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..envelope import SIGNING_CONTEXT
from .findings import Finding
from .sources import Leaf

CHUNK = 512
# Chunks a worker may hold unanswered; with pipes of PIPE_BYTES the main process never waits to
# hand over a chunk of ordinary events, only for answers once every worker holds this many.
OUTSTANDING = 3
PIPE_BYTES = 1 << 20
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Linux


class SignatureWorkerError(RuntimeError):
    """A worker process stopped before it answered for every chunk handed to it."""


def verify_chunk(
    keys: Sequence[bytes], signatures: Sequence[bytes], bodies: Sequence[bytes]
) -> list[int]:
    """Verify ``signatures[i]`` of ``bodies[i]`` with the raw public key ``keys[i]``; the
    positions of those that do not verify (few or none, so that the answer costs the main
    process nothing per valid signature)."""
    loaded: dict[bytes, Ed25519PublicKey] = {}
    invalid = []
    for position, (raw_key, signature, body) in enumerate(
        zip(keys, signatures, bodies, strict=True)
    ):
        key = loaded.get(raw_key)
        if key is None:
            key = loaded[raw_key] = Ed25519PublicKey.from_public_bytes(raw_key)
        try:
            key.verify(signature, SIGNING_CONTEXT + body)
        except InvalidSignature:
            invalid.append(position)
    return invalid


def _serve(jobs: Connection, answers: Connection, inherited: Sequence[int] = ()) -> None:
    """A worker: verify each chunk received and answer with its invalid positions, until the
    main process says it is done or is gone. ``inherited`` are the main process's own ends of
    this worker's pipes, which a forked worker holds copies of: closed first, so that the pipe
    reads as closed once the main process dies, however it dies."""
    for descriptor in inherited:
        with contextlib.suppress(OSError):
            os.close(descriptor)
    while True:
        try:
            chunk = jobs.recv()
        except (EOFError, OSError):
            return
        if chunk is None:  # the main process is done
            return
        try:
            answers.send(verify_chunk(*chunk))
        except OSError:
            return


def _widen(connection: Connection) -> None:
    """Ask for a pipe that holds several chunks (best effort: the default one only makes the
    sender wait sooner)."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(connection.fileno(), _F_SETPIPE_SZ, PIPE_BYTES)


@dataclass
class _Chunk:
    leaves: list[Leaf]
    worker: int  # -1: verified in this process
    invalid: list[int] | None = None


class SignatureChecker:
    """Submit jobs in order; collect the failures in the same order, a chunk at a time."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._jobs: list[Connection] = []  # to each worker
        self._answers: list[Connection] = []  # from each worker
        self._processes: list[Any] = []
        self._outstanding: list[int] = []
        self._flushes = self._polled_at = 0
        if self.workers > 1:
            context = multiprocessing.get_context()
            for _ in range(self.workers - 1):  # the main process verifies too
                their_jobs, jobs = context.Pipe(duplex=False)
                answers, their_answers = context.Pipe(duplex=False)
                _widen(jobs)
                # A forked worker inherits every descriptor; a spawned one only those passed.
                ours = (jobs.fileno(), answers.fileno())
                inherited = ours if context.get_start_method() == "fork" else ()
                process = context.Process(
                    target=_serve, args=(their_jobs, their_answers, inherited), daemon=True
                )
                process.start()
                their_jobs.close()
                their_answers.close()
                self._jobs.append(jobs)
                self._answers.append(answers)
                self._processes.append(process)
                self._outstanding.append(0)
        self._pending: deque[_Chunk] = deque()
        self._keys: list[bytes] = []
        self._signatures: list[bytes] = []
        self._bodies: list[bytes] = []
        self._leaves: list[Leaf] = []

    def submit(self, job: tuple[bytes, bytes, bytes], leaf: Leaf) -> None:
        """Queue the job (public key, signature, canonical body) of ``leaf``'s event."""
        self._keys.append(job[0])
        self._signatures.append(job[1])
        self._bodies.append(job[2])
        self._leaves.append(leaf)
        if len(self._leaves) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        if not self._leaves:
            return
        chunk = (self._keys, self._signatures, self._bodies)
        leaves = self._leaves
        self._keys, self._signatures, self._bodies, self._leaves = [], [], [], []
        self._flushes += 1
        worker = self._least_held()
        if worker is None:  # no workers, or every one has work queued: verify here
            self._pending.append(_Chunk(leaves, -1, verify_chunk(*chunk)))
            return
        try:
            self._jobs[worker].send(chunk)
        except OSError as error:
            raise SignatureWorkerError(f"signature worker {worker} stopped: {error}") from None
        self._outstanding[worker] += 1
        self._pending.append(_Chunk(leaves, worker))

    def _least_held(self) -> int | None:
        """The worker holding the fewest chunks, once the answers already sent are read; None
        when there is no worker or each holds ``OUTSTANDING``."""
        if not self._jobs:
            return None
        self._drain()
        worker = min(range(len(self._jobs)), key=self._outstanding.__getitem__)
        return worker if self._outstanding[worker] < OUTSTANDING else None

    def _drain(self) -> None:
        """Read every answer already sent, so that each worker's count of chunks held is
        current."""
        waiting = set()
        for chunk in self._pending:
            if chunk.invalid is None and chunk.worker not in waiting:
                if self._answers[chunk.worker].poll():
                    self._answer(chunk)
                else:
                    waiting.add(chunk.worker)

    def _answer(self, oldest: _Chunk) -> None:
        """Read the answer to ``oldest``, the oldest unanswered chunk of its worker (a worker
        answers its chunks in the order it got them)."""
        try:
            oldest.invalid = self._answers[oldest.worker].recv()
        except (EOFError, OSError) as error:
            raise SignatureWorkerError(
                f"signature worker {oldest.worker} stopped: {str(error) or 'its pipe closed'}"
            ) from None
        self._outstanding[oldest.worker] -= 1

    def failed(self, *, wait: bool = False) -> Iterator[Leaf]:
        """The leaves of the signatures that did not verify, from the chunks that are answered
        (all of them with ``wait``), in the order they were submitted."""
        if wait:
            self._flush()
        while self._pending:
            chunk = self._pending[0]
            if chunk.invalid is None:
                if not wait and not self._ready(chunk.worker):
                    return
                self._answer(chunk)
            self._pending.popleft()
            assert chunk.invalid is not None
            for position in chunk.invalid:
                yield chunk.leaves[position]

    def collect(self, findings: list[Finding], *, wait: bool) -> None:
        """A finding for each signature that did not verify, in log order."""
        for leaf in self.failed(wait=wait):
            findings.append(
                Finding(
                    "signature-invalid",
                    "the signature does not verify with the key the event names",
                    leaf.index,
                    leaf.where(),
                )
            )

    def _ready(self, worker: int) -> bool:
        """Whether ``worker`` has answered, asked of its pipe at most once per chunk handed
        out (a caller may ask after every event)."""
        if self._polled_at == self._flushes:
            return False
        if self._answers[worker].poll():
            return True
        self._polled_at = self._flushes
        return False

    def close(self) -> None:
        """Stop the workers: each is told it is done; one still holding chunks nobody will
        read is stopped at once."""
        for jobs, process, outstanding in zip(
            self._jobs, self._processes, self._outstanding, strict=True
        ):
            if outstanding:
                process.terminate()
            else:
                with contextlib.suppress(OSError):
                    jobs.send(None)
        for connection in (*self._jobs, *self._answers):
            connection.close()
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
        self._jobs, self._answers, self._processes, self._outstanding = [], [], [], []
