"""The audit's signature checker: worker processes fed through pipes, the main process verifying
a chunk itself whenever every worker holds enough. Whatever process verifies a chunk, and
whenever its answers are read, every signature that does not verify is reported once, in the
order submitted, and nothing else is; a worker that dies is an error, never a clean audit."""

from __future__ import annotations

import os
import signal
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.audit import signatures
from ledger.audit.findings import Finding
from ledger.audit.signatures import SignatureChecker, SignatureWorkerError
from ledger.audit.sources import Leaf
from ledger.envelope import SIGNING_CONTEXT
from ledger.signing import SigningKey

KEYS = [SigningKey.generate() for _ in range(2)]


def job(index: int, *, valid: bool) -> tuple[bytes, bytes, bytes]:
    """A job for body ``index``, signed by one of two keys; an invalid one names the other key
    (a signature that verifies, but not with the key the event names)."""
    body = b'{"n":%d}' % index
    signer = KEYS[index % 2]
    signature = signer.sign(SIGNING_CONTEXT + body)
    named = signer if valid else KEYS[(index + 1) % 2]
    return named.public_key.raw, signature, body


def tag(index: int) -> Leaf:
    return Leaf(index, None, f"aggregate-{index}", 1, None, None, None)


def run(checker: SignatureChecker, valid: list[bool], looks: set[int]) -> list[int]:
    """Submit every job, looking for answers (without waiting) after each index in ``looks``;
    the leaf indexes reported, in the order they came."""
    reported = []
    for index, ok in enumerate(valid):
        checker.submit(job(index, valid=ok), tag(index))
        if index in looks:
            reported += [leaf.index for leaf in checker.failed(wait=False)]
    reported += [leaf.index for leaf in checker.failed(wait=True)]
    return reported


@settings(max_examples=30, deadline=None)
@given(
    valid=st.lists(st.booleans(), max_size=60),
    workers=st.integers(1, 3),
    chunk=st.integers(1, 7),
    outstanding=st.integers(1, 3),
    looks=st.sets(st.integers(0, 60)),
)
def test_every_invalid_signature_is_reported_once_in_order(
    valid: list[bool], workers: int, chunk: int, outstanding: int, looks: set[int]
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(signatures, "CHUNK", chunk)
        patch.setattr(signatures, "OUTSTANDING", outstanding)
        checker = SignatureChecker(workers)
        try:
            reported = run(checker, valid, looks)
        finally:
            checker.close()
    assert reported == [index for index, ok in enumerate(valid) if not ok]


def _slow_in_workers(parent: int) -> object:
    verify = signatures.verify_chunk

    def slow(*chunk: object) -> list[int]:
        if os.getpid() != parent:  # in a (forked) worker: it holds its chunks a while
            time.sleep(0.05)
        return verify(*chunk)  # type: ignore[arg-type]

    return slow


def test_the_main_process_verifies_when_every_worker_holds_enough(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One worker, slowed, holding one chunk at most: the main process verifies chunks itself,
    and the findings still come once each, in log order."""
    monkeypatch.setattr(signatures, "CHUNK", 4)
    monkeypatch.setattr(signatures, "OUTSTANDING", 1)
    monkeypatch.setattr(signatures, "verify_chunk", _slow_in_workers(os.getpid()))
    valid = [i % 5 != 3 for i in range(40)]
    jobs = [job(i, valid=ok) for i, ok in enumerate(valid)]
    findings: list[Finding] = []
    checker = SignatureChecker(2)
    try:
        for index, one in enumerate(jobs):
            checker.submit(one, tag(index))
        by_worker = [chunk.worker for chunk in checker._pending]
        checker.collect(findings, wait=True)
    finally:
        checker.close()
    assert by_worker.count(-1) >= 5, by_worker  # ten chunks, the worker held one at a time
    assert 0 in by_worker
    assert [f.leaf_index for f in findings] == [i for i, ok in enumerate(valid) if not ok]
    assert {f.kind for f in findings} == {"signature-invalid"}
    assert [f.event for f in findings] == [f"aggregate-{f.leaf_index} v1" for f in findings]


def test_a_worker_that_dies_is_an_error_not_a_clean_audit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(signatures, "CHUNK", 8)
    checker = SignatureChecker(2)
    try:
        (worker,) = checker._processes
        os.kill(worker.pid, signal.SIGKILL)
        worker.join(timeout=10)
        with pytest.raises(SignatureWorkerError, match="signature worker 0 stopped"):
            for index in range(64):
                checker.submit(job(index, valid=False), tag(index))
            list(checker.failed(wait=True))
    finally:
        checker.close()
    assert not worker.is_alive()


def test_close_stops_workers_at_once_even_with_chunks_unanswered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(signatures, "CHUNK", 256)
    monkeypatch.setattr(signatures, "OUTSTANDING", 3)
    checker = SignatureChecker(3)
    processes = list(checker._processes)
    for index in range(256 * 6):  # three chunks to each worker, none read back
        checker.submit(job(index, valid=True), tag(index))
    started = time.monotonic()
    checker.close()
    assert time.monotonic() - started < 3
    assert not any(process.is_alive() for process in processes)


def test_close_after_every_answer_lets_the_workers_exit() -> None:
    checker = SignatureChecker(2)
    processes = list(checker._processes)
    checker.submit(job(1, valid=False), tag(1))
    assert [leaf.index for leaf in checker.failed(wait=True)] == [1]
    checker.close()
    assert all(process.exitcode == 0 for process in processes)


HOLDER = """
import sys, time
from ledger.audit.signatures import SignatureChecker
checker = SignatureChecker(3)
print(" ".join(str(p.pid) for p in checker._processes), flush=True)
time.sleep(60)
"""


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie nobody reaped has: it runs nothing)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_workers_exit_when_the_main_process_is_killed() -> None:
    """SIGKILL leaves the main process no moment to stop its workers: each sees its pipe
    close and exits, rather than waiting for chunks forever."""
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    workers = [int(pid) for pid in holder.stdout.readline().split()]
    assert len(workers) == 2 and not any(_gone(pid) for pid in workers)
    holder.kill()
    holder.wait(timeout=10)
    deadline = time.monotonic() + 10
    while not all(_gone(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(pid) for pid in workers), "a worker outlived its main process"
