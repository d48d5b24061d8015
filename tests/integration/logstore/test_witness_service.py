"""A witness following a real ledger's log (c2sp.org/tlog-witness): it cosigns what extends the
checkpoint it last cosigned, and refuses, with the reason the spec names, everything else:
a stale old size, a proof that does not link, a second root at a size it cosigned, an unknown
log, a signature from a key it does not trust. A refusal changes nothing it stored."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from logstore_support import ledger, register_many, service

from ledger import Ledger, SigningKey
from ledger.errors import WitnessRefusedError
from ledger.log import (
    AddCheckpointRequest,
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    Policy,
    WitnessService,
    WitnessStore,
    parse_note,
    parse_verifier_key,
    sign_checkpoint,
)

__all__ = ["ledger", "service"]  # fixtures used here


def submit(service: WitnessService, ledger: Ledger, note: str, old: int) -> str:
    size = Checkpoint.parse(parse_note(note)[0]).size
    proof = tuple(ledger.log.consistency_proof(old, size)) if old else ()
    return service.add_checkpoint(AddCheckpointRequest(old, proof, note).to_text())


def refusal(call: Callable[[], object]) -> WitnessRefusedError:
    with pytest.raises(WitnessRefusedError) as caught:
        call()
    return caught.value


def cosigned_policy(service: WitnessService, ledger: Ledger) -> Policy:
    logs = [parse_verifier_key(v) for v in ledger.log.verifier_keys()]
    return Policy(logs, [service.witness.verifier], quorum=1)


def test_the_witness_cosigns_a_first_checkpoint_and_then_only_its_extensions(
    service: WitnessService, ledger: Ledger
) -> None:
    first = ledger.log.sign_checkpoint()
    line = submit(service, ledger, first, 0)
    assert cosigned_policy(service, ledger).verify(first + line).origin == ledger.log.origin
    register_many(ledger, 7, "grow")
    second = ledger.log.sign_checkpoint()
    old = Checkpoint.parse(parse_note(first)[0]).size
    line = submit(service, ledger, second, old)
    assert cosigned_policy(service, ledger).verify(second + line).size == old + 7
    assert service.store.latest(ledger.log.origin) == (old + 7, parse_note(second)[0])


def test_a_stale_old_size_is_refused_with_the_size_the_witness_holds(
    service: WitnessService, ledger: Ledger
) -> None:
    first = ledger.log.sign_checkpoint()
    submit(service, ledger, first, 0)
    register_many(ledger, 3, "grow")
    second = ledger.log.sign_checkpoint()
    error = refusal(lambda: submit(service, ledger, second, 0))
    assert error.reason == "old-size-mismatch"
    assert error.latest_size == Checkpoint.parse(parse_note(first)[0]).size


def test_a_second_root_at_a_cosigned_size_is_refused_and_kept_as_evidence(
    service: WitnessService, ledger: Ledger
) -> None:
    honest = ledger.log.sign_checkpoint()
    submit(service, ledger, honest, 0)
    checkpoint = Checkpoint.parse(parse_note(honest)[0])
    forged = Checkpoint(checkpoint.origin, checkpoint.size, hashlib.sha256(b"other").digest())
    operator_note = sign_checkpoint(forged, ledger.log.signers())
    error = refusal(lambda: submit(service, ledger, operator_note, checkpoint.size))
    assert error.reason == "conflict"
    assert service.store.latest(checkpoint.origin) == (checkpoint.size, checkpoint.to_text())
    assert service.store.refused(checkpoint.origin)[0][0] == operator_note


def test_a_proof_that_does_not_link_the_checkpoints_is_refused(
    service: WitnessService, ledger: Ledger
) -> None:
    first = ledger.log.sign_checkpoint()
    submit(service, ledger, first, 0)
    old = Checkpoint.parse(parse_note(first)[0]).size
    register_many(ledger, 5, "grow")
    second = ledger.log.sign_checkpoint()
    wrong = tuple(ledger.log.consistency_proof(old - 1, old + 5))
    body = AddCheckpointRequest(old, wrong, second).to_text()
    assert refusal(lambda: service.add_checkpoint(body)).reason == "inconsistent"
    assert service.store.latest(ledger.log.origin) == (old, parse_note(first)[0])


def test_unknown_logs_foreign_keys_and_garbage_are_refused(
    service: WitnessService, ledger: Ledger
) -> None:
    note = ledger.log.sign_checkpoint()
    checkpoint = Checkpoint.parse(parse_note(note)[0])
    stranger = NoteSigner("other.example/log", SigningKey.generate())
    other_log = sign_checkpoint(Checkpoint("other.example/log", 1, bytes(32)), [stranger])
    assert refusal(lambda: submit(service, ledger, other_log, 0)).reason == "unknown-log"
    impostor = NoteSigner(checkpoint.origin, SigningKey.generate())
    forged = sign_checkpoint(checkpoint, [impostor])
    assert refusal(lambda: submit(service, ledger, forged, 0)).reason == "bad-signature"
    for body in ("", "old 1\n", "old 01\n\n" + note, "old 0\nAAAA\n\n" + note):
        assert refusal(lambda body=body: service.add_checkpoint(body)).reason == "malformed"
    too_old = AddCheckpointRequest(checkpoint.size + 1, (), note).to_text()
    assert refusal(lambda: service.add_checkpoint(too_old)).reason == "malformed"
    assert service.store.latest(checkpoint.origin) is None, "a refusal stored something"


def test_concurrent_requests_never_roll_the_witness_back(
    service: WitnessService, ledger: Ledger
) -> None:
    """Of many requests from one old size, at most one per new size wins; the rest conflict."""
    first = ledger.log.sign_checkpoint()
    submit(service, ledger, first, 0)
    old = Checkpoint.parse(parse_note(first)[0]).size
    notes = []
    for step in range(4):
        register_many(ledger, 1, f"grow-{step}")
        notes.append(ledger.log.sign_checkpoint())
    outcomes: list[str] = []

    def send(note: str) -> None:
        try:
            submit(service, ledger, note, old)
            outcomes.append("cosigned")
        except WitnessRefusedError as error:
            outcomes.append(error.reason)

    threads = [threading.Thread(target=send, args=(n,)) for n in notes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("cosigned") == 1
    assert outcomes.count("old-size-mismatch") == 3
    size, _ = service.store.latest(ledger.log.origin) or (0, "")
    assert size > old


def test_a_log_key_must_not_be_a_cosigner_key(tmp_path: Path) -> None:
    cosigner = NoteVerifier.for_key(
        "log.example", SigningKey.generate().public_key, cosignature=True
    )
    with pytest.raises(ValueError):
        WitnessService("w", SigningKey.generate(), [cosigner], WitnessStore(tmp_path / "w.db"))
