"""Checks that what the ledger stored still matches what it signed, made when it is read.

The store can be changed behind the server's back. What the server serves must then fail
loudly, as a server-side problem (:class:`StoreIntegrityError`), never as the client's bad input
and never as a success: a receipt whose entry or proof does not reproduce the signed checkpoint's
root is refused, an entry bundle whose entries differ from their logged leaves is refused, and
:func:`check_log_against_checkpoint` (behind ``/readyz``) fails when the stored log is shorter
than the newest signed checkpoint or has another root at its size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .errors import InclusionProofError, LedgerError, NotFoundError, StoreIntegrityError
from .log.checkpoint import Checkpoint
from .log.merkle import Node, leaf_hash, verify_inclusion
from .log.tiles import root_with_tile
from .storage.records import LoggedEvent

if TYPE_CHECKING:
    from .transparency import TransparencyLog


def check_log_against_checkpoint(log: TransparencyLog) -> None:
    """Raise :class:`StoreIntegrityError` unless the stored log still has the newest signed
    checkpoint's size (or more) and, at that size, its root, and that checkpoint's signature
    verifies with one of the log's keys (current or retired)."""
    checkpoint = log.verified_latest()
    if checkpoint is None:
        return
    size = log.size()
    if size < checkpoint.size:
        raise StoreIntegrityError(
            f"the stored log has {size} leaves, fewer than the {checkpoint.size} of the newest "
            "signed checkpoint: leaves were removed behind the ledger's back"
        )
    if log.root(checkpoint.size) != checkpoint.root_hash:
        raise StoreIntegrityError(
            f"the stored log's root at size {checkpoint.size} differs from the signed "
            "checkpoint's: the log was changed behind the ledger's back"
        )


def missing_leaf(leaf_index: int, size: int, signed_size: int) -> LedgerError:
    """The error for a leaf the store did not return: :class:`StoreIntegrityError` when the
    stored log or its newest signed checkpoint (of ``signed_size`` leaves) says it exists,
    else :class:`NotFoundError`."""
    if 0 <= leaf_index < max(size, signed_size):
        return StoreIntegrityError(
            f"leaf {leaf_index} is missing from the stored log of {size} leaves (the newest "
            f"signed checkpoint has {signed_size}): it was removed behind the ledger's back"
        )
    return NotFoundError(f"leaf {leaf_index} is not in the log (size {size})")


def check_inclusion(
    entry: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise :class:`StoreIntegrityError` unless the stored entry is at ``index`` under
    ``root`` (so a receipt is never served for a tampered event)."""
    check_leaf_inclusion(leaf_hash(entry), index, size, proof, root)


def check_leaf_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """:func:`check_inclusion` for a leaf hash (of an entry already checked against it)."""
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except InclusionProofError as error:
        raise StoreIntegrityError(
            f"leaf {index} as stored does not verify against the signed checkpoint of size "
            f"{size} ({error}): the store was changed behind the ledger's back"
        ) from None


def check_entries(leaves: Sequence[LoggedEvent], start: int, count: int) -> None:
    """Raise :class:`StoreIntegrityError` unless ``leaves`` are leaves ``start`` to
    ``start + count - 1``, each with its stored entry, matching the leaf hash the log stored."""
    indices = [leaf.leaf_index for leaf in leaves]
    if indices != list(range(start, start + count)):
        missing = sorted(set(range(start, start + count)) - set(indices))
        raise StoreIntegrityError(
            f"leaves {start} to {start + count - 1}: leaf {missing[0] if missing else start} "
            "is missing from the stored log"
        )
    for leaf in leaves:
        if leaf.state is None or leaf.leaf_hash != leaf_hash(leaf.state):
            raise StoreIntegrityError(
                f"leaf {leaf.leaf_index}: the stored event is missing or differs from its "
                "logged leaf hash"
            )


def check_tile(
    level: int,
    index: int,
    hashes: Sequence[bytes],
    checkpoint: Checkpoint,
    witnesses: Mapping[Node, bytes],
) -> None:
    """Raise :class:`StoreIntegrityError` unless a tile's ``hashes``, with the stored nodes
    beside it (:func:`~ledger.log.tiles.tile_witness_nodes`), rebuild ``checkpoint``'s root.

    The cost is that of the tile (at most 255 hashes) and of about two nodes per tree level,
    whatever the size of the log."""
    root = root_with_tile(level, index, hashes, checkpoint.size, witnesses)
    if root != checkpoint.root_hash:
        raise StoreIntegrityError(
            f"tile {level}/{index} of width {len(hashes)} as stored does not rebuild the root "
            f"of the signed checkpoint of size {checkpoint.size}: the store was changed behind "
            "the ledger's back"
        )
