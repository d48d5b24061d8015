"""Personal data that erasure really erases: the key hierarchy, the sealed formats, the scan."""

from .keyring import SHARDS, FileKeyring, Keyring, MemoryKeyring, keyring_for, shard_of

__all__ = ["SHARDS", "FileKeyring", "Keyring", "MemoryKeyring", "keyring_for", "shard_of"]
