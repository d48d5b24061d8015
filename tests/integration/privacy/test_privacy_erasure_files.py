"""Erasure against everything the operator keeps: the raw database files (SQLite main file,
``-wal`` and ``-journal``; PostgreSQL relation files with their dead tuples), a backup taken
before the erasure, and every key the server still holds. Nothing erased opens."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from privacy_support import PEOPLE, build_named_city, secrets_of

from ledger import Ledger
from ledger.cli import main
from ledger.privacy.keyring import KEYRING_FILE, FileKeyring
from ledger.privacy.raw_files import raw_sources
from ledger.privacy.scan import scan
from ledger.privacy.sealed import Sealed, WrappedKey, find_blobs


def backup(ledger: Ledger, folder: Path) -> list[bytes]:
    """A copy of the database as an operator would take it: the files, or every side row."""
    if ledger.store.kind == "sqlite":
        folder.mkdir()
        assert ledger.store.path is not None
        for name, raw in raw_sources(ledger.store):
            (folder / name).write_bytes(raw)
        return [p.read_bytes() for p in folder.iterdir()]
    return [raw for _, raw in raw_sources(ledger.store)]


def opens_with_any(blobs: list[bytes], keys: list[bytes], number: str) -> bool:
    found = [b for raw in blobs for b in find_blobs(raw) if b.number == number]
    assert found, "the copy holds no blob of the volunteer: the test would prove nothing"
    for blob in found:
        for key in keys:
            if isinstance(blob, WrappedKey) and blob.unwrap(key) is not None:
                return True
            if isinstance(blob, Sealed) and blob.open(key) is not None:
                return True
    return False


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_erased_personal_data_opens_with_no_key_left_in_files_wal_or_backup(
    kind: str,
    store_url_for: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # the default keystore and keyring of a PostgreSQL ledger
    url = store_url_for(kind)
    ledger = Ledger(url)
    try:
        city = build_named_city(ledger)
        keyring = ledger.personal_data.keyring
        assert isinstance(keyring, FileKeyring) and keyring.path.name == KEYRING_FILE
        before = scan(ledger)
        assert before.clean and before.readable_live == set(city.numbers)
        copy = backup(ledger, tmp_path / "backup")
        old_keyring = tmp_path / "old-keyring.json"
        shutil.copy(keyring.path, old_keyring)

        erased, kept = city.numbers[:2], city.numbers[2]
        assert main(["privacy", "erase", erased[0], "--db", url]) == 0
        ledger.erase_personal_data(erased[1], org="org-a")
        assert main(["privacy", "erase", erased[1], "--db", url]) == 0  # idempotent

        report = scan(ledger, wal=True)
        assert report.clean, report.lines()
        assert report.erased == set(erased) and report.readable_live == {kept}
        assert report.wrapped_keys >= 1  # the kept volunteer's at least
        held = keyring.all_keys()
        for number in erased:
            assert not opens_with_any(copy, held, number)
        everything = [raw for _, raw in raw_sources(ledger.store)] + copy
        for person in PEOPLE:
            for secret in secrets_of(person):
                assert not any(secret.encode("utf-8") in raw for raw in everything), secret
        assert ledger.personal_data.get(kept) == PEOPLE[2]
    finally:
        ledger.close()
    assert main(["privacy", "scan", "--db", url]) == 0

    # The test has teeth: the keyring as it was before the erasure opens the backup.
    stale = FileKeyring(old_keyring).all_keys()
    assert all(opens_with_any(copy, stale, number) for number in erased)
