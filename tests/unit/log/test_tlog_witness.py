"""A witness cosigns only checkpoints that extend the one it cosigned before."""

from __future__ import annotations

import base64

import pytest
from log_helpers import build
from spec_examples import ADD_CHECKPOINT_BODY, CHECKPOINT_TEXT

from ledger.errors import ConsistencyProofError, NoteError, SplitViewError
from ledger.log.checkpoint import Checkpoint, sign_checkpoint
from ledger.log.merkle import consistency_proof, root_hash
from ledger.log.note import NoteSigner, open_note
from ledger.log.witness import AddCheckpointRequest, Witness
from ledger.signing import SigningKey

ORIGIN = "hours.example/log"
NOW = 1_750_000_000


@pytest.fixture
def log() -> NoteSigner:
    return NoteSigner(ORIGIN, SigningKey.generate())


@pytest.fixture
def witness() -> Witness:
    return Witness("witness.example/w1", SigningKey.generate())


def _checkpoint(leaves: list[bytes], size: int) -> Checkpoint:
    store, _ = build(leaves)
    return Checkpoint(ORIGIN, size, root_hash(size, store.reader))


LEAVES = [f"entry {i}".encode() for i in range(20)]


def test_witness_cosigns_a_consistent_checkpoint(log: NoteSigner, witness: Witness) -> None:
    store, _ = build(LEAVES)
    old, new = _checkpoint(LEAVES, 7), _checkpoint(LEAVES, 20)
    note = sign_checkpoint(new, [log])
    proof = consistency_proof(7, 20, store.reader)
    cosigned = witness.cosign_note(old, note, proof, log.verifier, NOW)
    opened = open_note(cosigned, [log.verifier, witness.verifier])
    assert {key.name for key, _ in opened.verified} == {ORIGIN, "witness.example/w1"}


def test_witness_cosigns_a_first_checkpoint_without_proof(
    log: NoteSigner, witness: Witness
) -> None:
    note = sign_checkpoint(_checkpoint(LEAVES, 5), [log])
    line = witness.cosign(None, note, [], log.verifier, NOW)
    assert line.startswith("\u2014 witness.example/w1 ")
    with pytest.raises(ConsistencyProofError):
        witness.cosign(None, note, [bytes(32)], log.verifier, NOW)


def test_witness_refuses_an_inconsistent_new_checkpoint(log: NoteSigner, witness: Witness) -> None:
    forked = [*LEAVES[:3], b"rewritten", *LEAVES[4:]]
    forked_store, _ = build(forked)
    trusted = _checkpoint(LEAVES, 7)
    note = sign_checkpoint(_checkpoint(forked, 20), [log])
    with pytest.raises(ConsistencyProofError):
        witness.cosign(
            trusted, note, consistency_proof(7, 20, forked_store.reader), log.verifier, NOW
        )


def test_witness_refuses_a_smaller_checkpoint(log: NoteSigner, witness: Witness) -> None:
    note = sign_checkpoint(_checkpoint(LEAVES, 7), [log])
    with pytest.raises(ConsistencyProofError, match="smaller"):
        witness.cosign(_checkpoint(LEAVES, 20), note, [], log.verifier, NOW)


def test_witness_reports_a_second_root_at_the_same_size_as_a_split_view(
    log: NoteSigner, witness: Witness
) -> None:
    forked = [*LEAVES[:6], b"other"]
    note = sign_checkpoint(_checkpoint(forked, 7), [log])
    with pytest.raises(SplitViewError) as caught:
        witness.cosign(_checkpoint(LEAVES, 7), note, [], log.verifier, NOW)
    assert caught.value.new_note == note
    assert caught.value.trusted_note == _checkpoint(LEAVES, 7).to_text()


def test_witness_recosigns_the_same_checkpoint(log: NoteSigner, witness: Witness) -> None:
    checkpoint = _checkpoint(LEAVES, 7)
    note = sign_checkpoint(checkpoint, [log])
    assert witness.cosign(checkpoint, note, [], log.verifier, NOW + 60)


def test_witness_refuses_a_checkpoint_the_log_did_not_sign(witness: Witness) -> None:
    impostor = NoteSigner(ORIGIN, SigningKey.generate())
    real = NoteSigner(ORIGIN, SigningKey.generate())
    note = sign_checkpoint(_checkpoint(LEAVES, 7), [impostor])
    with pytest.raises(NoteError):
        witness.cosign(None, note, [], real.verifier, NOW)


def test_witness_refuses_another_logs_checkpoint(log: NoteSigner, witness: Witness) -> None:
    other = NoteSigner("other.example/log", SigningKey.generate())
    note = sign_checkpoint(Checkpoint("other.example/log", 9, bytes(32)), [other])
    with pytest.raises(ConsistencyProofError):
        witness.cosign(_checkpoint(LEAVES, 7), note, [], other.verifier, NOW)


def test_add_checkpoint_request_parses_the_spec_example() -> None:
    request = AddCheckpointRequest.parse(ADD_CHECKPOINT_BODY)
    assert request.old_size == 20852014
    assert request.proof[0] == base64.b64decode("PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=")
    assert len(request.proof) == 4
    assert request.note.startswith(CHECKPOINT_TEXT + "\n")
    assert request.to_text() == ADD_CHECKPOINT_BODY


@pytest.mark.parametrize(
    "body",
    [
        "old 01\n\nnote",
        "new 1\n\nnote",
        "old 1\nnot-a-hash\n\nnote",
        "old 0\n" + "A" * 43 + "=\n\nn",
    ],
    ids=["leading-zero", "wrong-keyword", "bad-hash", "proof-from-zero"],
)
def test_malformed_add_checkpoint_requests_are_refused(body: str) -> None:
    with pytest.raises(NoteError):
        AddCheckpointRequest.parse(body)
