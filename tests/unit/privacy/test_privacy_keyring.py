"""The key hierarchy: data keys wrapped by shard KEKs that live outside the database, and a
rotation that leaves every earlier copy of an erased volunteer's key closed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ledger import StorageError
from ledger.personal_data import DATA, PersonalDataStore, key_namespace
from ledger.privacy.keyring import SHARDS, FileKeyring, MemoryKeyring, shard_of
from ledger.privacy.sealed import find_blobs, parse_sealed, parse_wrapped_key
from ledger.storage.memory_recorder import LedgerRecorder


def same_shard_numbers(count: int) -> list[str]:
    """Volunteer numbers that share one keyring shard."""
    found: list[str] = []
    i = 0
    while len(found) < count:
        number = "V" + f"{i:013d}".translate(str.maketrans("0123456789", "ABCDEFGHIJ"))
        if shard_of(number) == 7:
            found.append(number)
        i += 1
    return found


def store() -> tuple[PersonalDataStore, LedgerRecorder, MemoryKeyring]:
    recorder = LedgerRecorder()
    keyring = MemoryKeyring()
    return PersonalDataStore(recorder, keyring), recorder, keyring


def test_the_database_holds_no_key_that_opens_anything() -> None:
    data, recorder, keyring = store()
    number = same_shard_numbers(1)[0]
    data.put(number, {"name": "王小明"})
    key_blob = recorder.side_get(key_namespace(7), number)
    sealed_blob = recorder.side_get(DATA, number)
    assert key_blob is not None and sealed_blob is not None
    wrapped, sealed = parse_wrapped_key(key_blob), parse_sealed(sealed_blob)
    assert wrapped is not None and sealed is not None
    assert (wrapped.shard, wrapped.epoch, wrapped.number) == (7, 1, number)
    every_row = [v for ns in (key_namespace(7), DATA) for _, v in recorder.side_items(ns)]
    for candidate in [*every_row, *(row[i : i + 32] for row in every_row for i in range(len(row)))]:
        assert sealed.open(candidate) is None
    assert wrapped.unwrap(keyring.current(7)[1]) is not None


def test_erasure_destroys_the_epoch_every_copy_was_wrapped_under() -> None:
    data, recorder, keyring = store()
    gone, *others = same_shard_numbers(4)
    for number in [gone, *others]:
        data.put(number, {"name": "名" + number})
    backup = {ns: dict(recorder.side_items(ns)) for ns in (key_namespace(7), DATA)}
    assert data.erase(gone) == len(others)
    assert keyring.epochs(7).keys() == {2}
    old = parse_wrapped_key(backup[key_namespace(7)][gone])
    assert old is not None
    assert all(old.unwrap(kek) is None for kek in keyring.all_keys())
    for number in others:
        assert data.get(number) == {"name": "名" + number}
    # other shards are untouched
    assert all(keyring.epochs(s).keys() == {1} for s in range(SHARDS) if s != 7)


def test_an_erasure_cut_short_is_finished_by_a_repeat() -> None:
    data, _recorder, keyring = store()
    gone, other = same_shard_numbers(2)
    data.put(gone, {"name": "甲"})
    data.put(other, {"name": "乙"})
    with keyring.exclusive():
        keyring.add_epoch(7)  # the crash came after the new epoch was saved
    assert len(keyring.epochs(7)) == 2
    data.erase(gone)
    assert keyring.epochs(7).keys() == {3}  # an epoch of its own: both older ones destroyed
    assert data.get(other) == {"name": "乙"}
    assert data.erase(gone) == 0  # and again: nothing left to do


def test_blobs_are_found_in_raw_bytes_and_a_moved_blob_does_not_open() -> None:
    data, recorder, _keyring = store()
    first, second = same_shard_numbers(2)
    data.put(first, {"name": "甲"})
    data.put(second, {"name": "乙"})
    raw = b"junk" + b"".join(v for _, v in recorder.side_items(DATA)) + b"LPS1\x00trunc"
    found = list(find_blobs(raw))
    assert sorted(b.number for b in found) == sorted([first, second])
    moved = recorder.side_get(DATA, first)
    assert moved is not None
    recorder.side_put(DATA, second, moved)
    assert data.open_sealed(second, moved) is None


def test_file_keyring_is_private_shared_and_refuses_a_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "keyring.json"
    one, two = FileKeyring(path), FileKeyring(path)
    with one.shared():
        epoch, key = one.current(3)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert two.current(3) == (epoch, key)
    with one.exclusive():
        one.add_epoch(3)
        one.retire_before(3, epoch + 1)
    assert two.key(3, epoch) is None and two.current(3)[0] == epoch + 1
    document = json.loads(path.read_text())
    del document["shards"]["5"]
    path.write_text(json.dumps(document))
    with pytest.raises(StorageError, match="keyring"):
        FileKeyring(path).current(5)


def test_a_cut_short_erasure_is_not_undone_by_a_shard_mates_erasure() -> None:
    data, recorder, keyring = store()
    first, second, third = same_shard_numbers(3)
    for number in (first, second, third):
        data.put(number, {"name": "名" + number})
    recorder.side_put("personal-erased", first, b"erased")  # the erasure of first began ...
    with keyring.exclusive():
        keyring.add_epoch(7)  # ... and stopped after saving the new epoch
    data.erase(second)
    assert recorder.side_get(key_namespace(7), first) is None
    assert recorder.side_get(DATA, first) is None
    assert data.get(third) == {"name": "名" + third}
    assert keyring.epochs(7).keys() == {3}
