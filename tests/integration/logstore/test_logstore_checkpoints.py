"""Signed checkpoints: C2SP text byte for byte, verifiable with the published verifier key, all
kept, signed on a schedule, never two that contradict each other, and signed by every current
log key while keys rotate."""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from logstore_support import (
    ORIGIN,
    SQL_STORES,
    add_log_key,
    create_city,
    from_scratch,
    leaf_states,
    register_many,
    retire_log_key,
    sql_execute,
)

from ledger import Ledger, MemoryKeystore, SigningKey, VerificationError
from ledger.errors import NoteError
from ledger.keystore import LOG_KEY_OWNER
from ledger.log import (
    Checkpoint,
    Witness,
    open_checkpoint,
    parse_note,
    parse_verifier_key,
    verify_consistency,
)
from ledger.transparency import CheckpointSchedule, TransparencyLog

City = tuple[Ledger, dict[str, str]]
EM_DASH = "\u2014"


def log_signing_key(ledger: Ledger) -> SigningKey:
    (key_id,) = ledger.trust_anchors()["log_keys"]
    key = ledger.keystore.get(LOG_KEY_OWNER, key_id)
    assert isinstance(key, SigningKey)
    return key


def c2sp_key_id(name: str, public_key: bytes) -> bytes:
    """c2sp.org/signed-note: SHA-256(name || 0x0A || 0x01 || key)[:4], computed here by hand."""
    return hashlib.sha256(name.encode() + b"\n" + b"\x01" + public_key).digest()[:4]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def vkey_of(name: str, public_key: bytes) -> str:
    """c2sp.org/signed-note verifier key: name+hex(key id)+base64(0x01 || key)."""
    return f"{name}+{c2sp_key_id(name, public_key).hex()}+{b64(bytes([1]) + public_key)}"


def test_a_checkpoint_note_is_c2sp_text_byte_for_byte(city: City) -> None:
    ledger, _ = city
    register_many(ledger, 5, "fill")
    note = ledger.log.sign_checkpoint()

    size = ledger.log.size()
    root = from_scratch(leaf_states(ledger))[0].root()
    key = log_signing_key(ledger)
    public = key.public_key.raw
    text = f"{ORIGIN}\n{size}\n{b64(root)}\n"
    signature = key.sign(text.encode())  # Ed25519 is deterministic: the one valid signature
    expected = f"{text}\n{EM_DASH} {ORIGIN} {b64(c2sp_key_id(ORIGIN, public) + signature)}\n"
    assert note == expected
    assert note.encode("utf-8").count(b"\xe2\x80\x94") == 1  # U+2014, the em dash, in UTF-8
    Ed25519PublicKey.from_public_bytes(public).verify(signature, text.encode())


def test_the_published_verifier_key_is_the_c2sp_vkey_and_opens_the_checkpoint(
    city: City,
) -> None:
    ledger, _ = city
    note = ledger.log.sign_checkpoint()
    public = log_signing_key(ledger).public_key.raw
    vkey = vkey_of(ORIGIN, public)
    assert ledger.log.verifier_keys() == [vkey]

    checkpoint = open_checkpoint(note, parse_verifier_key(vkey), origin=ORIGIN)
    assert checkpoint == Checkpoint(ORIGIN, ledger.log.size(), ledger.log.root())
    stranger = vkey_of(ORIGIN, SigningKey.generate().public_key.raw)
    with pytest.raises(NoteError):
        open_checkpoint(note, parse_verifier_key(stranger))
    with pytest.raises(NoteError):
        open_checkpoint(note, parse_verifier_key(vkey), origin="another.example/log")


def test_every_signed_checkpoint_is_kept_and_found_by_size(city: City) -> None:
    ledger, _ = city
    assert ledger.log.checkpoints() == []
    assert ledger.log.latest() is None
    notes = []
    for round_number in range(4):
        register_many(ledger, 3 + round_number, f"fill-{round_number}")
        notes.append(ledger.log.sign_checkpoint())
    assert ledger.log.checkpoints() == notes
    assert ledger.log.latest() == notes[-1]
    assert ledger.log.latest_size() == ledger.log.size()
    verifier = parse_verifier_key(ledger.log.verifier_keys()[0])
    for note in notes:
        checkpoint = open_checkpoint(note, verifier)
        assert ledger.log.checkpoint_at(checkpoint.size) == note
        assert checkpoint.root_hash == ledger.log.root(checkpoint.size)


def test_signing_again_at_the_same_size_keeps_the_same_note(city: City) -> None:
    ledger, _ = city
    first = ledger.log.sign_checkpoint()
    assert ledger.log.sign_checkpoint() == first
    assert ledger.log.checkpoints() == [first]


def test_checkpoints_are_signed_after_every_n_new_events(city: City) -> None:
    ledger, _ = city  # 6 events
    ledger.log.schedule = CheckpointSchedule(every_events=5, every_seconds=None)
    first = ledger.log.maybe_checkpoint()
    assert first is not None
    assert Checkpoint.parse(parse_note(first)[0]).size == 6
    assert ledger.log.maybe_checkpoint() is None  # nothing new
    for n in range(12):
        ledger.register_volunteer("org-b", idempotency_key=f"sched-{n}")
        ledger.log.maybe_checkpoint()  # signs only when due (if the command did not already)
    assert kept_sizes(ledger) == [6, 11, 16]
    assert ledger.log.maybe_checkpoint() is None  # 2 new events: not due
    register_many(ledger, 9, "burst")  # one command past the threshold: one checkpoint
    note = ledger.log.maybe_checkpoint()
    assert note is not None and Checkpoint.parse(parse_note(note)[0]).size == 27
    assert kept_sizes(ledger) == [6, 11, 16, 27]


def kept_sizes(ledger: Ledger) -> list[int]:
    return [Checkpoint.parse(parse_note(n)[0]).size for n in ledger.log.checkpoints()]


def test_checkpoints_are_signed_after_every_t_seconds(city: City) -> None:
    ledger, _ = city
    now = [1000.0]
    log = TransparencyLog(
        ledger._recorder,
        ledger._directory,
        ledger.keystore,
        CheckpointSchedule(every_events=None, every_seconds=30.0),
        clock=lambda: now[0],
    )
    assert log.maybe_checkpoint() is None  # events waiting, but not for 30 s yet
    now[0] += 30.0
    assert log.maybe_checkpoint() is not None
    now[0] += 60.0
    assert log.maybe_checkpoint() is None  # time is due, but nothing new to sign
    ledger.register_volunteer("org-a", idempotency_key="late")
    assert log.maybe_checkpoint() is not None
    assert kept_sizes(ledger) == [6, 7]


def test_all_kept_checkpoints_are_mutually_consistent(city: City) -> None:
    ledger, _ = city
    for round_number in range(5):
        register_many(ledger, 1 + 2 * round_number, f"grow-{round_number}")
        ledger.log.sign_checkpoint()
        ledger.log.receipt(0)  # a receipt reuses the newest covering checkpoint
    verifier = parse_verifier_key(ledger.log.verifier_keys()[0])
    kept = [open_checkpoint(n, verifier) for n in ledger.log.checkpoints()]
    assert len(kept) == 5
    for old, new in itertools.combinations(kept, 2):
        assert old.size < new.size
        verify_consistency(
            old.size,
            new.size,
            old.root_hash,
            new.root_hash,
            ledger.log.consistency_proof(old.size, new.size),
        )


@pytest.mark.parametrize("grow", [False, True], ids=["same-size", "after-growth"])
def test_the_log_refuses_to_sign_a_checkpoint_inconsistent_with_the_last(
    tmp_path: Path, grow: bool
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(url, keystore=MemoryKeystore()) as ledger:
        create_city(ledger)
        register_many(ledger, 7, "fill")  # 13 leaves: frontier (3,0) (2,2) (0,12)
        note = ledger.log.sign_checkpoint()
        kept = ledger.log.checkpoints()
        # An operator rewrites history behind the log's back: the root of the first 8 leaves.
        changed = sql_execute(
            ledger,
            "UPDATE ledger_log_nodes SET hash=%s WHERE level=%s AND idx=%s",
            (hashlib.sha256(b"rewritten").digest(), 3, 0),
        )
        assert changed == 1
        if grow:
            register_many(ledger, 4, "after")
        with pytest.raises(VerificationError):
            ledger.log.sign_checkpoint()
        if grow:  # a receipt for a new leaf needs a new checkpoint: refused the same way
            with pytest.raises(VerificationError):
                ledger.log.receipt(ledger.log.size() - 1)
        assert ledger.log.checkpoints() == kept
        assert ledger.log.latest() == note


def test_both_log_keys_sign_during_rotation_then_only_the_successor(city: City) -> None:
    ledger, _ = city
    (old_vkey,) = ledger.log.verifier_keys()
    old = parse_verifier_key(old_vkey)
    before = ledger.log.sign_checkpoint()

    new_key = add_log_key(ledger, "log-key-2")
    vkeys = ledger.log.verifier_keys()
    assert len(vkeys) == 2 and old_vkey in vkeys
    (new_vkey,) = [v for v in vkeys if v != old_vkey]
    new = parse_verifier_key(new_vkey)
    assert new.public_key == new_key.public_key
    overlap = ledger.log.sign_checkpoint()
    _, signatures = parse_note(overlap)
    assert len(signatures) == 2
    assert {(s.name, s.key_id) for s in signatures} == {
        (ORIGIN, old.key_id),
        (ORIGIN, new.key_id),
    }
    for verifier in (old, new):  # each key alone verifies the overlap checkpoint
        assert open_checkpoint(overlap, verifier).size == ledger.log.size()

    retire_log_key(ledger, old.public_key.key_id, "retire-log-key-1")
    assert ledger.log.verifier_keys() == [new_vkey]
    after = ledger.log.sign_checkpoint()
    _, signatures = parse_note(after)
    assert [(s.name, s.key_id) for s in signatures] == [(ORIGIN, new.key_id)]
    assert open_checkpoint(after, new).size == ledger.log.size()
    with pytest.raises(NoteError):
        open_checkpoint(after, old)
    # What the retired key signed before stays verifiable with it.
    assert open_checkpoint(before, old).size < open_checkpoint(after, new).size
    assert ledger.log.checkpoints() == [before, overlap, after]


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_checkpoint_signed_meanwhile_by_another_writer_is_not_taken_for_a_shrunk_log(
    kind: str, store_url_for: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = store_url_for(kind)
    keystore = MemoryKeystore()
    with Ledger(url, keystore=keystore) as this, Ledger(url, keystore=keystore) as other:
        create_city(this)
        this.log.sign_checkpoint()
        this.register_volunteer("org-a", idempotency_key="this")
        reading = this._recorder.read_nodes
        interleaved = []

        def read_nodes_while_the_other_writer_signs(coordinates: object) -> list[bytes]:
            # Between this writer reading the log size and reading the newest checkpoint, the
            # other writer (another process, in production) stores an event and signs.
            if not interleaved:
                interleaved.append(other.register_volunteer("org-b", idempotency_key="other"))
                interleaved.append(other.log.sign_checkpoint())
            return reading(coordinates)  # type: ignore[arg-type]

        monkeypatch.setattr(this._recorder, "read_nodes", read_nodes_while_the_other_writer_signs)
        note = this.log.sign_checkpoint()  # nothing inconsistent happened: no split view
        monkeypatch.undo()
        verifier = parse_verifier_key(this.log.verifier_keys()[0])
        assert open_checkpoint(note, verifier).size >= 7
        kept = [open_checkpoint(n, verifier) for n in this.log.checkpoints()]
        for old, new in itertools.combinations(kept, 2):
            verify_consistency(
                old.size,
                new.size,
                old.root_hash,
                new.root_hash,
                this.log.consistency_proof(old.size, new.size),
            )


@pytest.mark.parametrize("kind", SQL_STORES)
def test_the_log_counts_the_writes_of_its_own_process_only(
    kind: str, store_url_for: Callable[[str], str]
) -> None:
    """``log.writes`` changes with every command this ledger stores, every checkpoint it signs
    and every cosignature it keeps, never with a read, a checkpoint signed again at the same
    size, or another process's writes: what a server may keep its newest checkpoint by."""
    url = store_url_for(kind)
    keystore = MemoryKeystore()
    with Ledger(url, keystore=keystore) as this, Ledger(url, keystore=keystore) as other:
        create_city(this)
        before = this.log.writes
        this.register_volunteer("org-a", idempotency_key="one")
        assert this.log.writes == before + 1
        note = this.log.sign_checkpoint()
        assert this.log.writes == before + 2
        this.log.sign_checkpoint()
        this.log.newest_note()
        this.log.checkpoints()
        this.events(this.event_at(0).originator_id)
        assert this.log.writes == before + 2
        other.register_volunteer("org-b", idempotency_key="other")
        other.log.sign_checkpoint()
        assert this.log.writes == before + 2
        witness = Witness("witness.example/w1", SigningKey.generate())
        logs = [parse_verifier_key(key) for key in this.log.verifier_keys()]
        size = Checkpoint.parse(parse_note(note)[0]).size
        line = witness.cosign(None, note, [], logs, 1_772_668_800)
        this.log.add_cosignature(size, line, [witness.verifier])
        assert this.log.writes == before + 3
        assert this.log.newest_note() == other.log.latest()  # newer, signed by the other
        assert this.log.writes == before + 3
