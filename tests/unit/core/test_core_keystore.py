"""Keystores keep private keys out of the ledger: files of mode 0600, encrypted by a passphrase."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from ledger import (
    DirectoryKeystore,
    InvalidInputError,
    Ledger,
    MemoryKeystore,
    SigningKey,
    StorageError,
)
from ledger.keystore import PASSPHRASE_ENV


def pem_der(pem: bytes) -> bytes:
    return base64.b64decode(b"".join(pem.strip().splitlines()[1:-1]))


@pytest.fixture(autouse=True)
def no_passphrase_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)


def test_directory_keystore_files_are_mode_0600(tmp_path: Path) -> None:
    store = DirectoryKeystore(tmp_path / "keys")
    key = SigningKey.generate()
    store.add("org-a", key)
    target = tmp_path / "keys" / "org-a" / f"{key.key_id}.pem"
    assert target.is_file()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) & 0o077 == 0


def test_directory_keystore_keeps_mode_0600_when_a_key_file_is_rewritten(tmp_path: Path) -> None:
    store = DirectoryKeystore(tmp_path)
    key = SigningKey.generate()
    store.add("org-a", key)
    target = tmp_path / "org-a" / f"{key.key_id}.pem"
    target.chmod(0o644)
    store.add("org-a", key)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_without_a_passphrase_keys_round_trip_as_plain_pkcs8(tmp_path: Path) -> None:
    store = DirectoryKeystore(tmp_path)
    key = SigningKey.generate()
    store.add("org-a", key)
    found = store.get("org-a", key.key_id)
    assert found is not None
    assert found.key_id == key.key_id
    assert found.sign(b"m") == key.sign(b"m")
    assert (
        (tmp_path / "org-a" / f"{key.key_id}.pem")
        .read_bytes()
        .startswith(b"-----BEGIN PRIVATE KEY-----")
    )


def test_with_a_passphrase_key_files_are_encrypted_at_rest(tmp_path: Path) -> None:
    store = DirectoryKeystore(tmp_path, passphrase="correct horse")
    key = SigningKey.generate()
    store.add("org-a", key)
    content = (tmp_path / "org-a" / f"{key.key_id}.pem").read_bytes()
    assert content.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert key.private_bytes() not in pem_der(content)
    assert key.private_bytes() not in content
    found = DirectoryKeystore(tmp_path, passphrase="correct horse").get("org-a", key.key_id)
    assert found is not None
    assert found.key_id == key.key_id


def test_the_passphrase_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "from the environment")
    key = SigningKey.generate()
    DirectoryKeystore(tmp_path).add("org-a", key)
    content = (tmp_path / "org-a" / f"{key.key_id}.pem").read_bytes()
    assert content.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert SigningKey.from_pem(content, b"from the environment").key_id == key.key_id


def test_the_wrong_passphrase_is_a_storage_error_that_says_what_to_check(tmp_path: Path) -> None:
    key = SigningKey.generate()
    DirectoryKeystore(tmp_path, passphrase="right").add("org-a", key)
    with pytest.raises(StorageError, match=PASSPHRASE_ENV):
        DirectoryKeystore(tmp_path, passphrase="wrong").get("org-a", key.key_id)


def test_an_encrypted_key_read_without_a_passphrase_is_a_storage_error(tmp_path: Path) -> None:
    key = SigningKey.generate()
    DirectoryKeystore(tmp_path, passphrase="right").add("org-a", key)
    with pytest.raises(StorageError):
        DirectoryKeystore(tmp_path).get("org-a", key.key_id)


def test_an_unknown_key_is_none_and_key_ids_lists_what_is_held(tmp_path: Path) -> None:
    store = DirectoryKeystore(tmp_path)
    assert store.get("org-a", "0" * 32) is None
    assert store.key_ids("org-a") == []
    keys = [SigningKey.generate() for _ in range(3)]
    for key in keys:
        store.add("org-a", key)
    assert store.key_ids("org-a") == sorted(k.key_id for k in keys)
    assert store.key_ids("org-b") == []


@pytest.mark.parametrize("owner", ["", "../escape", "a/b", ".hidden"])
def test_owner_names_that_could_escape_the_directory_are_refused(
    tmp_path: Path, owner: str
) -> None:
    with pytest.raises(InvalidInputError):
        DirectoryKeystore(tmp_path / "keys").add(owner, SigningKey.generate())
    assert not (tmp_path / "escape").exists()


def test_memory_keystore_round_trip() -> None:
    store = MemoryKeystore()
    key = SigningKey.generate()
    store.add("org-a", key)
    assert store.get("org-a", key.key_id) is key
    assert store.get("org-b", key.key_id) is None
    assert store.key_ids("org-a") == [key.key_id]


def test_a_sqlite_ledger_keeps_its_private_keys_beside_the_file_never_in_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    with Ledger(f"sqlite:///{path}") as ledger:
        anchors = ledger.create(
            name="Keystore test",
            root_org_id="city",
            root_name="City",
            region="1404",
            origin="test.example/log",
        )
        assert isinstance(ledger.keystore, DirectoryKeystore)
        root_file = tmp_path / "ledger.db.keys" / "city" / f"{anchors['root_key_id']}.pem"
        assert stat.S_IMODE(root_file.stat().st_mode) == 0o600
        root_key = ledger.keystore.get("city", anchors["root_key_id"])
        assert isinstance(root_key, SigningKey)
        seed = root_key.private_bytes()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("ledger.db*") if p.is_file())
    assert seed not in stored
    assert base64.b64encode(seed) not in stored
