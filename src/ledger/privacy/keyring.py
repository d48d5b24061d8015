"""Key-encryption keys for personal data: kept outside the database, destroyed on erasure.

Each volunteer's personal data is sealed with a data key of their own (``sealed``); the data
key is stored in the database only wrapped by a key-encryption key (KEK). The KEKs live in a
keyring beside the signing keys, never in the database: 256 shards, each with a current epoch.

Erasing a volunteer rotates their shard: a new epoch is added, every other data key of the
shard is re-wrapped under it, and the old epoch's KEK is destroyed. From then on no copy of the
volunteer's wrapped data key (in the live table, a WAL, a dead tuple or a backup) can be
unwrapped with any key the server holds, so no copy of their ciphertext can be opened.

:class:`FileKeyring` is one JSON file (mode 0600) replaced atomically, with an ``flock`` lock
file so that processes sharing it never wrap under an epoch that is being destroyed.
:class:`MemoryKeyring` is for ``memory://`` ledgers and tests.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import secrets
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from ..errors import StorageError

SHARDS = 256
FORMAT = "ledger-personal-keyring/1"
KEYRING_FILE = "personal-data-keyring.json"
Epochs = dict[int, dict[int, bytes]]  # shard -> epoch -> KEK


def shard_of(number: str) -> int:
    """The keyring shard of a volunteer number (fixed for the number's lifetime)."""
    return hashlib.sha256(number.encode("utf-8")).digest()[0] % SHARDS


def fresh_epochs() -> Epochs:
    return {shard: {1: secrets.token_bytes(32)} for shard in range(SHARDS)}


class Keyring(Protocol):
    def shared(self) -> Any:
        """Held while wrapping or unwrapping, so no rotation destroys the epoch in use."""

    def exclusive(self) -> Any:
        """Held while rotating a shard."""

    def current(self, shard: int) -> tuple[int, bytes]: ...

    def key(self, shard: int, epoch: int) -> bytes | None: ...

    def epochs(self, shard: int) -> dict[int, bytes]: ...

    def add_epoch(self, shard: int) -> int: ...

    def retire_before(self, shard: int, epoch: int) -> None: ...

    def all_keys(self) -> list[bytes]: ...


class _EpochTable:
    """Reading and changing the epochs; subclasses say where they are kept."""

    def _load(self) -> Epochs:
        raise NotImplementedError

    def _save(self, epochs: Epochs) -> None:
        raise NotImplementedError

    def current(self, shard: int) -> tuple[int, bytes]:
        keys = self._load()[shard]
        epoch = max(keys)
        return epoch, keys[epoch]

    def key(self, shard: int, epoch: int) -> bytes | None:
        return self._load()[shard].get(epoch)

    def epochs(self, shard: int) -> dict[int, bytes]:
        return dict(self._load()[shard])

    def add_epoch(self, shard: int) -> int:
        """A new current epoch for ``shard`` (call under ``exclusive``); the old ones stay
        until :meth:`retire_before`, so a rotation cut short can be finished."""
        epochs = self._load()
        epoch = max(epochs[shard]) + 1
        epochs[shard][epoch] = secrets.token_bytes(32)
        self._save(epochs)
        return epoch

    def retire_before(self, shard: int, epoch: int) -> None:
        """Destroy the shard's KEKs older than ``epoch`` (call under ``exclusive``)."""
        epochs = self._load()
        epochs[shard] = {e: k for e, k in epochs[shard].items() if e >= epoch}
        self._save(epochs)

    def all_keys(self) -> list[bytes]:
        return [key for keys in self._load().values() for key in keys.values()]


class MemoryKeyring(_EpochTable):
    def __init__(self) -> None:
        self._epochs = fresh_epochs()
        self._lock = threading.RLock()

    def _load(self) -> Epochs:
        return {shard: dict(keys) for shard, keys in self._epochs.items()}

    def _save(self, epochs: Epochs) -> None:
        self._epochs = epochs

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._lock:
            yield

    exclusive = shared


class FileKeyring(_EpochTable):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")
        self._cache: tuple[tuple[int, int, int], Epochs] | None = None
        self._held = threading.local()

    @contextmanager
    def _flock(self, mode: int) -> Iterator[None]:
        if getattr(self._held, "depth", 0):
            self._held.depth += 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, mode)
            self._held.depth = 1
            try:
                if not self.path.exists():
                    fcntl.flock(descriptor, fcntl.LOCK_EX)
                    if not self.path.exists():
                        self._save(fresh_epochs())
                yield
            finally:
                self._held.depth = 0
        finally:
            os.close(descriptor)

    def shared(self) -> Any:
        return self._flock(fcntl.LOCK_SH)

    def exclusive(self) -> Any:
        return self._flock(fcntl.LOCK_EX)

    def _load(self) -> Epochs:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            with self.shared():
                info = os.stat(self.path)
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        if self._cache is None or self._cache[0] != stamp:
            self._cache = (stamp, _parse(self.path.read_bytes(), self.path))
        return {shard: dict(keys) for shard, keys in self._cache[1].items()}

    def _save(self, epochs: Epochs) -> None:
        document = {
            "format": FORMAT,
            "shards": {
                str(shard): {str(e): base64.b64encode(k).decode() for e, k in keys.items()}
                for shard, keys in epochs.items()
            },
        }
        temporary = self.path.with_name(self.path.name + ".new")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(json.dumps(document, sort_keys=True).encode())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        self._cache = None


def _parse(raw: bytes, path: Path) -> Epochs:
    try:
        document = json.loads(raw)
        if document["format"] != FORMAT:
            raise ValueError(f"format {document['format']!r}")
        epochs = {
            int(shard): {int(e): base64.b64decode(k) for e, k in keys.items()}
            for shard, keys in document["shards"].items()
        }
        if sorted(epochs) != list(range(SHARDS)) or not all(epochs.values()):
            raise ValueError("shards missing")
        return epochs
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise StorageError(f"the personal-data keyring {path} is unreadable: {error}") from None


KEYRING_ENV = "LEDGER_PERSONAL_KEYRING"
_MEMORY_KEYRINGS: weakref.WeakKeyDictionary[object, MemoryKeyring] = weakref.WeakKeyDictionary()


def keyring_for(keystore: object) -> Keyring:
    """The keyring that goes with a keystore: ``$LEDGER_PERSONAL_KEYRING`` if set, else a file
    in a directory keystore, else one in memory shared by every ledger using that keystore."""
    chosen = os.environ.get(KEYRING_ENV)
    if chosen:
        return FileKeyring(Path(chosen))
    folder = getattr(keystore, "path", None)
    if isinstance(folder, Path):
        return FileKeyring(folder / KEYRING_FILE)
    found = _MEMORY_KEYRINGS.get(keystore)
    if found is None:
        found = _MEMORY_KEYRINGS[keystore] = MemoryKeyring()
    return found
