"""A verifier that remembers the last checkpoint it trusted and catches a log that forks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from log_helpers import NodeStore, build

from ledger.errors import NoteError, SplitViewError, StorageError
from ledger.log.checkpoint import Checkpoint, sign_checkpoint
from ledger.log.merkle import consistency_proof, root_hash
from ledger.log.note import NoteSigner
from ledger.log.state import TrustedState
from ledger.signing import SigningKey

ORIGIN = "hours.example/log"
LOG = NoteSigner(ORIGIN, SigningKey.generate())
LEAVES = [f"record {i}".encode() for i in range(30)]
STORE, _ = build(LEAVES)


def _note(size: int, store: NodeStore = STORE) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, size, root_hash(size, store.reader)), [LOG])


def _proof(old: int, new: int) -> list[bytes]:
    return consistency_proof(old, new, STORE.reader)


def test_first_checkpoint_is_trusted_and_saved(tmp_path: Path) -> None:
    path = tmp_path / "trusted.json"
    state = TrustedState.load(path, LOG.verifier)
    assert state.checkpoint is None
    assert state.check(_note(10), []).size == 10
    assert json.loads(path.read_text())["note"] == _note(10)
    assert TrustedState.load(path, LOG.verifier).checkpoint == state.checkpoint


def test_consistent_growth_replaces_the_trusted_checkpoint(tmp_path: Path) -> None:
    state = TrustedState.load(tmp_path / "t.json", LOG.verifier)
    state.check(_note(10), [])
    asked: list[tuple[int, int]] = []

    def fetch(old: int, new: int) -> list[bytes]:
        asked.append((old, new))
        return _proof(old, new)

    assert state.check(_note(25), fetch).size == 25
    assert asked == [(10, 25)]
    assert TrustedState.load(tmp_path / "t.json", LOG.verifier).checkpoint.size == 25  # type: ignore[union-attr]


def test_older_consistent_checkpoint_is_accepted_but_not_remembered(tmp_path: Path) -> None:
    state = TrustedState.load(tmp_path / "t.json", LOG.verifier)
    state.check(_note(25), [])
    assert state.check(_note(10), _proof(10, 25)).size == 10
    assert state.checkpoint is not None and state.checkpoint.size == 25


def test_forked_log_raises_split_view_with_both_notes(tmp_path: Path) -> None:
    state = TrustedState.load(tmp_path / "t.json", LOG.verifier)
    trusted = _note(10)
    state.check(trusted, [])
    forked, _ = build([*LEAVES[:4], b"back-dated record", *LEAVES[5:]])
    fork_note = _note(25, forked)
    with pytest.raises(SplitViewError) as caught:
        state.check(fork_note, consistency_proof(10, 25, forked.reader))
    assert (caught.value.trusted_note, caught.value.new_note) == (trusted, fork_note)
    assert state.checkpoint is not None and state.checkpoint.size == 10


def test_same_size_with_another_root_is_a_split_view(tmp_path: Path) -> None:
    state = TrustedState.load(tmp_path / "t.json", LOG.verifier)
    state.check(_note(10), [])
    forked, _ = build([*LEAVES[:9], b"other"])
    with pytest.raises(SplitViewError):
        state.check(_note(10, forked), [])


def test_unsigned_checkpoint_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    state = TrustedState.load(tmp_path / "t.json", LOG.verifier)
    state.check(_note(10), [])
    stranger = NoteSigner(ORIGIN, SigningKey.generate())
    note = sign_checkpoint(Checkpoint(ORIGIN, 20, bytes(32)), [stranger])
    with pytest.raises(NoteError):
        state.check(note, [])
    assert state.checkpoint is not None and state.checkpoint.size == 10


def test_corrupt_state_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text("{not json")
    with pytest.raises(StorageError):
        TrustedState.load(path, LOG.verifier)
    path.write_text(json.dumps({"version": 1, "note": _note(3).replace("\n3\n", "\n4\n")}))
    with pytest.raises(NoteError):
        TrustedState.load(path, LOG.verifier)
