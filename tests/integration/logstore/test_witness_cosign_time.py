"""A witness timestamps its cosignature inside the step that stores the checkpoint it cosigns.
c2sp.org/tlog-cosignature: a cosignature says that, as of its time, the largest consistent tree
the cosigner has observed has that root. The timestamp was taken after the new state was
committed, so a request for a smaller checkpoint that committed first could be cosigned with a
later time than a larger checkpoint cosigned in between: the witness stated a stale view as
newer. The clock below is monotonic; it pauses the first request after its commit (before,
between its commit and its timestamp) to make the interleaving repeatable."""

from __future__ import annotations

import threading
from pathlib import Path

from ledger.log import (
    AddCheckpointRequest,
    Checkpoint,
    NoteSigner,
    WitnessService,
    WitnessStore,
    sign_checkpoint,
)
from ledger.log.cosignature import Cosignature
from ledger.log.merkle import TreeBuilder, consistency_proof, leaf_hash, root_hash
from ledger.log.note import parse_signature_line
from ledger.signing import SigningKey

ORIGIN = "log.example/review"


def _tree(count: int) -> tuple[dict[tuple[int, int], bytes], TreeBuilder]:
    nodes: dict[tuple[int, int], bytes] = {}
    builder = TreeBuilder()
    for i in range(count):
        for level, index, value in builder.append(leaf_hash(bytes([i]))):
            nodes[(level, index)] = value
    return nodes, builder


def _timestamp(line: str) -> int:
    return Cosignature.from_note_signature(parse_signature_line(line.rstrip("\n"))).timestamp


def test_a_smaller_checkpoint_is_never_cosigned_later_than_a_larger_one(tmp_path: Path) -> None:
    log = NoteSigner(ORIGIN, SigningKey.generate())
    nodes, _ = _tree(8)

    def read(wanted: object) -> list[bytes]:
        return [nodes[n] for n in wanted]  # type: ignore[attr-defined]

    small, large = 4, 8
    note_small = sign_checkpoint(Checkpoint(ORIGIN, small, root_hash(small, read)), [log])
    note_large = sign_checkpoint(Checkpoint(ORIGIN, large, root_hash(large, read)), [log])
    proof = tuple(consistency_proof(small, large, read))

    entered, release = threading.Event(), threading.Event()
    ticks = iter(range(1_800_000_000, 1_800_001_000))
    tick_lock = threading.Lock()
    first = [True]

    def clock() -> float:
        with tick_lock:
            is_first = first[0]
            first[0] = False
        if is_first:  # request A: pause it right where it asks for the time
            entered.set()
            release.wait(5)
        with tick_lock:
            return float(next(ticks))

    store = WitnessStore(tmp_path / "witness.db")
    service = WitnessService(
        "witness.example/w", SigningKey.generate(), [log.verifier], store, clock
    )
    lines: dict[int, str] = {}

    def send(size: int, body: str) -> None:
        lines[size] = service.add_checkpoint(body)

    a = threading.Thread(
        target=send, args=(small, AddCheckpointRequest(0, (), note_small).to_text())
    )
    a.start()
    assert entered.wait(5)
    b = threading.Thread(
        target=send, args=(large, AddCheckpointRequest(small, proof, note_large).to_text())
    )
    b.start()
    b.join(2)  # with the cosignature inside the atomic step, B waits for A instead
    release.set()
    a.join(5)
    b.join(5)
    store.close()
    assert set(lines) == {small, large}
    assert _timestamp(lines[small]) <= _timestamp(lines[large]), (
        f"size {small} cosigned at {_timestamp(lines[small])}, "
        f"after size {large} was cosigned at {_timestamp(lines[large])}"
    )
