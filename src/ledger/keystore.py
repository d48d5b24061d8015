"""Keystores keep private keys out of the ledger.

:class:`DirectoryKeystore` keeps one PKCS#8 PEM file per key (``<dir>/<org>/<key_id>.pem``,
mode 0600, encrypted when a passphrase is given). :class:`MemoryKeystore` is for tests and
``memory://`` ledgers. An application with an HSM passes its own :class:`Signer` to each command
instead of using a keystore.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from .errors import InvalidInputError, StorageError
from .signing import Signer, SigningKey

PASSPHRASE_ENV = "LEDGER_KEYSTORE_PASSPHRASE"
LOG_KEY_OWNER = "_log"


class Keystore(Protocol):
    def add(self, owner: str, key: SigningKey) -> None: ...

    def get(self, owner: str, key_id: str) -> Signer | None: ...

    def key_ids(self, owner: str) -> list[str]: ...


class MemoryKeystore:
    def __init__(self) -> None:
        self._keys: dict[str, dict[str, SigningKey]] = {}

    def add(self, owner: str, key: SigningKey) -> None:
        self._keys.setdefault(owner, {})[key.key_id] = key

    def get(self, owner: str, key_id: str) -> Signer | None:
        return self._keys.get(owner, {}).get(key_id)

    def key_ids(self, owner: str) -> list[str]:
        return sorted(self._keys.get(owner, {}))


class DirectoryKeystore:
    def __init__(self, path: Path, passphrase: str | None = None) -> None:
        self.path = path
        env_passphrase = os.environ.get(PASSPHRASE_ENV)
        chosen = passphrase if passphrase is not None else env_passphrase
        self._passphrase = chosen.encode("utf-8") if chosen else None
        self._loaded: dict[tuple[str, str], SigningKey] = {}

    def _file(self, owner: str, key_id: str) -> Path:
        if "/" in owner or owner.startswith(".") or not owner:
            raise InvalidInputError(f"bad keystore owner {owner!r}")
        return self.path / owner / f"{key_id}.pem"

    def add(self, owner: str, key: SigningKey) -> None:
        target = self._file(owner, key.key_id)
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.path, 0o700)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written whole or not at all, and on disk before the key is registered: a temporary
        # file, fsync, rename, fsync of the directory. A crash never leaves a truncated key.
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key.to_pem(self._passphrase))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def get(self, owner: str, key_id: str) -> Signer | None:
        loaded = self._loaded.get((owner, key_id))
        if loaded is not None:
            return loaded
        target = self._file(owner, key_id)
        if not target.exists():
            return None
        try:
            loaded = SigningKey.from_pem(target.read_bytes(), self._passphrase)
            self._loaded[(owner, key_id)] = loaded
            return loaded
        except InvalidInputError as error:
            raise StorageError(
                f"cannot read {target}: {error} (is {PASSPHRASE_ENV} set correctly?)"
            ) from None

    def key_ids(self, owner: str) -> list[str]:
        folder = self.path / owner
        return sorted(p.stem for p in folder.glob("*.pem")) if folder.is_dir() else []
