"""Witnesses over a real ledger's checkpoints: a witness cosigns what extends what it saw, the log
keeps the cosignature on its kept note, a policy with a quorum accepts it, and two different
notes at one size (a forked store) are caught with both notes as evidence."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from logstore_support import ORIGIN, create_city, register_many

from ledger import Ledger, MemoryKeystore, SigningKey
from ledger.errors import ConsistencyProofError, NoteError, SplitViewError
from ledger.log import (
    AddCheckpointRequest,
    Checkpoint,
    Policy,
    TrustedState,
    Witness,
    open_checkpoint,
    parse_note,
    parse_receipt,
    parse_verifier_key,
    verify_receipt,
)
from ledger.log.note import NoteVerifier

City = tuple[Ledger, dict[str, str]]
NOW = 1_772_668_800  # 2026-03-05, Volunteer Day


def log_verifiers(ledger: Ledger) -> list[NoteVerifier]:
    """The log keys as a relying party holds them: parsed from the published vkey strings."""
    return [parse_verifier_key(v) for v in ledger.log.verifier_keys()]


def text_of(note: str) -> Checkpoint:
    return Checkpoint.parse(parse_note(note)[0])


def test_a_witness_cosigns_a_consistent_checkpoint_and_the_log_keeps_it(city: City) -> None:
    ledger, _ = city
    witness = Witness("witness.example/w1", SigningKey.generate())
    logs = log_verifiers(ledger)

    first = ledger.log.sign_checkpoint()
    line = witness.cosign(None, first, [], logs, NOW)
    kept_first = ledger.log.add_cosignature(text_of(first).size, line, [witness.verifier])
    assert kept_first == first + line
    assert ledger.log.checkpoint_at(text_of(first).size) == kept_first

    register_many(ledger, 9, "grow")
    second = ledger.log.sign_checkpoint()
    old, new = text_of(first).size, text_of(second).size
    request = AddCheckpointRequest.parse(
        AddCheckpointRequest(old, tuple(ledger.log.consistency_proof(old, new)), second).to_text()
    )
    line = witness.cosign(
        open_checkpoint(kept_first, logs), request.note, request.proof, logs, NOW + 60
    )
    kept = ledger.log.add_cosignature(new, line, [witness.verifier])
    assert ledger.log.checkpoints() == [kept_first, kept]
    assert ledger.log.latest() == kept
    _, signatures = parse_note(kept)
    assert [s.name for s in signatures] == ["ledger.test.example/log", "witness.example/w1"]

    policy = Policy(logs, [witness.verifier], quorum=1)
    assert policy.verify(kept) == text_of(second)
    assert open_checkpoint(kept, policy) == text_of(second)
    with pytest.raises(NoteError):
        policy.verify(second)  # the same checkpoint without its cosignature
    # A receipt made now carries the cosigned note, so the policy accepts it offline.
    receipt = ledger.log.receipt(4)
    assert parse_receipt(receipt).checkpoint_note == kept
    verify_receipt(receipt, ledger.log.entry(4), policy)


def test_a_policy_needs_its_quorum_of_witnesses(city: City) -> None:
    ledger, _ = city
    logs = log_verifiers(ledger)
    w1 = Witness("witness.example/w1", SigningKey.generate())
    w2 = Witness("witness.example/w2", SigningKey.generate())
    note = ledger.log.sign_checkpoint()
    size = text_of(note).size
    ledger.log.add_cosignature(size, w1.cosign(None, note, [], logs, NOW), [w1.verifier])
    once = ledger.log.checkpoint_at(size)
    both = Policy(logs, [w1.verifier, w2.verifier], quorum=2)
    with pytest.raises(NoteError):
        both.verify(once)
    assert Policy(logs, [w1.verifier, w2.verifier], quorum=1).verify(once).size == size
    twice = ledger.log.add_cosignature(
        size, w2.cosign(None, note, [], logs, NOW), [w1.verifier, w2.verifier]
    )
    assert both.verify(twice).size == size


def test_re_signing_at_the_same_size_keeps_the_witness_cosignatures(city: City) -> None:
    ledger, _ = city
    logs = log_verifiers(ledger)
    witness = Witness("witness.example/w1", SigningKey.generate())
    note = ledger.log.sign_checkpoint()
    size = text_of(note).size
    line = witness.cosign(None, note, [], logs, NOW)
    cosigned = ledger.log.add_cosignature(size, line, [witness.verifier])
    ledger.log.sign_checkpoint()  # nothing new was stored: the same checkpoint again
    assert ledger.log.checkpoint_at(size) == cosigned, "a kept cosignature was discarded"
    assert Policy(logs, [witness.verifier], quorum=1).verify(ledger.log.latest() or "").size == size


def test_the_log_keeps_no_cosignature_it_cannot_verify(city: City) -> None:
    ledger, _ = city
    logs = log_verifiers(ledger)
    witness = Witness("witness.example/w1", SigningKey.generate())
    stranger = Witness("witness.example/w1", SigningKey.generate())  # same name, other key
    first = ledger.log.sign_checkpoint()
    size = text_of(first).size
    register_many(ledger, 2, "grow")
    second = ledger.log.sign_checkpoint()
    with pytest.raises(NoteError, match="not a configured witness"):
        ledger.log.add_cosignature(size, stranger.cosign(None, first, [], logs, NOW))
    with pytest.raises(NoteError, match="not a configured witness"):  # none configured
        ledger.log.add_cosignature(size, witness.cosign(None, first, [], logs, NOW))
    other_checkpoint = witness.cosign(None, second, [], logs, NOW)
    with pytest.raises(NoteError, match="invalid cosignature"):
        ledger.log.add_cosignature(size, other_checkpoint, [witness.verifier])
    assert ledger.log.checkpoint_at(size) == first, "a refused cosignature changed the note"
    newer = witness.cosign(None, first, [], logs, NOW + 5)
    ledger.log.add_cosignature(size, witness.cosign(None, first, [], logs, NOW), [witness.verifier])
    kept = ledger.log.add_cosignature(size, newer, [witness.verifier])
    assert kept == first + newer, "a newer cosignature from one key replaces the older"


def test_a_witness_refuses_a_proof_that_does_not_link_the_checkpoints(city: City) -> None:
    ledger, _ = city
    logs = log_verifiers(ledger)
    witness = Witness("witness.example/w1", SigningKey.generate())
    first = ledger.log.sign_checkpoint()
    register_many(ledger, 5, "grow")
    second = ledger.log.sign_checkpoint()
    old, new = text_of(first).size, text_of(second).size
    wrong = ledger.log.consistency_proof(old - 1, new)
    with pytest.raises(ConsistencyProofError):
        witness.cosign(text_of(first), second, wrong, logs, NOW)
    with pytest.raises(ConsistencyProofError):
        witness.cosign(text_of(second), first, [], logs, NOW)  # the log went backwards
    impostor = NoteVerifier.for_key(ORIGIN, SigningKey.generate().public_key)
    with pytest.raises(NoteError):
        witness.cosign(None, second, [], [impostor], NOW)  # not signed by the key it trusts


def fork(url: str, path: Path, keystore: MemoryKeystore) -> tuple[str, str]:
    """Two histories of one log: the store copied, then a different event stored in each."""
    copy = path.with_name("fork.db")
    with sqlite3.connect(path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    notes = []
    for which, store in (("a", url), ("b", f"sqlite:///{copy}")):
        with Ledger(store, keystore=keystore) as ledger:
            ledger.register_volunteer("org-a", idempotency_key=f"fork-{which}")
            notes.append(ledger.log.sign_checkpoint())
    return notes[0], notes[1]


@pytest.fixture
def forked(tmp_path: Path) -> tuple[str, str, str, list[NoteVerifier], Callable[..., list[bytes]]]:
    """A trusted checkpoint, then two signed notes of the same size with different roots."""
    path = tmp_path / "ledger.db"
    url = f"sqlite:///{path}"
    keystore = MemoryKeystore()
    with Ledger(url, keystore=keystore) as ledger:
        create_city(ledger)
        trusted = ledger.log.sign_checkpoint()
        logs = log_verifiers(ledger)
    view_a, view_b = fork(url, path, keystore)

    def proof_in_a(old: int, new: int) -> list[bytes]:
        with Ledger(url, keystore=keystore) as ledger:
            return ledger.log.consistency_proof(old, new)

    return trusted, view_a, view_b, logs, proof_in_a


def test_a_forked_store_signs_two_notes_at_one_size(
    forked: tuple[str, str, str, list[NoteVerifier], Callable[..., list[bytes]]],
) -> None:
    trusted, view_a, view_b, logs, _ = forked
    a, b = open_checkpoint(view_a, logs), open_checkpoint(view_b, logs)
    assert a.size == b.size == text_of(trusted).size + 1
    assert a.root_hash != b.root_hash


def test_trusted_state_reports_a_split_view_with_both_notes(
    tmp_path: Path,
    forked: tuple[str, str, str, list[NoteVerifier], Callable[..., list[bytes]]],
) -> None:
    trusted, view_a, view_b, logs, proof_in_a = forked
    state_file = tmp_path / "verifier" / "state.json"
    state = TrustedState.load(state_file, logs)
    state.check(trusted, [])
    assert state.check(view_a, proof_in_a).size == text_of(view_a).size
    state = TrustedState.load(state_file, logs)  # a later run reads what it trusted
    assert state.note == view_a
    with pytest.raises(SplitViewError) as caught:
        state.check(view_b, [])
    assert caught.value.trusted_note == view_a
    assert caught.value.new_note == view_b
    assert TrustedState.load(state_file, logs).note == view_a, "the split view was not trusted"


def test_a_witness_that_saw_one_view_refuses_the_other(
    forked: tuple[str, str, str, list[NoteVerifier], Callable[..., list[bytes]]],
) -> None:
    trusted, view_a, view_b, logs, proof_in_a = forked
    witness = Witness("witness.example/w1", SigningKey.generate())
    witness.cosign(None, trusted, [], logs, NOW)
    size_a = text_of(view_a).size
    witness.cosign(text_of(trusted), view_a, proof_in_a(text_of(trusted).size, size_a), logs, NOW)
    with pytest.raises(SplitViewError) as caught:
        witness.cosign(text_of(view_a), view_b, [], logs, NOW + 1)
    assert caught.value.new_note == view_b
    assert caught.value.trusted_note == text_of(view_a).to_text()
