"""The ledger's transparency log: signed checkpoints, proofs, receipts and tiles over the
Merkle tree that the recorders extend in the same transaction as every stored event.

Every signed checkpoint is kept. Before signing, the log checks that the new tree head is
consistent with the newest checkpoint it signed before, so it never signs two checkpoints that
cannot both describe one append-only log. With witnesses configured, each new checkpoint is sent
to every witness (c2sp.org/tlog-witness) by background workers (:mod:`.cosigning`), after the
signing lock is released, and the cosignatures that verify are kept on it; readers that serve a
checkpoint or a receipt wait a bounded time for them, so what they serve carries them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
from eventsourcing.persistence import IntegrityError, StoredEvent

from .cosigning import Cosigning
from .envelope import SignedEvent
from .errors import (
    InvalidInputError,
    KeyNotAuthorisedError,
    LedgerError,
    NotFoundError,
    SplitViewError,
    StoreIntegrityError,
    VerificationError,
)
from .integrity import (
    check_entries,
    check_inclusion,
    check_leaf_inclusion,
    check_tile,
    missing_leaf,
)
from .keystore import LOG_KEY_OWNER, Keystore
from .log.checkpoint import Checkpoint, check_consistency, open_checkpoint, sign_checkpoint
from .log.cosignature import merge_cosignatures
from .log.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    inclusion_proof_nodes,
    leaf_hash,
    root_hash,
)
from .log.note import NoteSigner, NoteVerifier, parse_note
from .log.receipt import format_receipt
from .log.tile_cache import ENTRIES, VerifiedTile, VerifiedTiles
from .log.tiles import (
    TILE_WIDTH,
    entry_bundle,
    tile_node_coordinates,
    tile_witness_nodes,
)
from .log.witness_client import WitnessEndpoint, request_cosignature
from .signing import VerifyingKey
from .storage.records import LedgerRecorderProtocol, LoggedEvent
from .trust import TrustDirectory

CHECKPOINTS = "checkpoint"
WITNESSED_SIZES = "witness-size"
logger = logging.getLogger(__name__)
PARSED_NOTES = 16  # checkpoint notes parsed and kept (the newest few are all that is asked for)
RECENT_CHECKPOINT_SECONDS = 1.0  # how old the newest checkpoint read for evidence may be
VERIFIED_ENTRIES = 4096  # events kept once verified, compared byte for byte with each read


@dataclass(frozen=True)
class Inclusion:
    """A leaf's inclusion in the newest signed checkpoint covering it, checked to lead to its
    root: the checkpoint note as served, its size and the audit path."""

    note: str
    size: int
    proof: list[bytes]


@dataclass(frozen=True)
class InclusionPlan:
    """A leaf, the signed checkpoint its evidence will lead to, and the Merkle nodes (level,
    index) its inclusion proof needs: what one read of the store fetches."""

    leaf_index: int
    note: str
    checkpoint: Checkpoint
    coordinates: list[tuple[int, int]]


@dataclass(frozen=True)
class CheckpointSchedule:
    """Sign a checkpoint after ``every_events`` new leaves or ``every_seconds``, whichever first."""

    every_events: int | None = 1000
    every_seconds: float | None = 60.0


class TransparencyLog:
    def __init__(
        self,
        recorder: LedgerRecorderProtocol,
        directory: TrustDirectory,
        keystore: Keystore,
        schedule: CheckpointSchedule | None = None,
        clock: Callable[[], float] = time.monotonic,
        witnesses: Sequence[WitnessEndpoint] = (),
        witness_timeout: float = 10.0,
    ) -> None:
        self._recorder = recorder
        self.witnesses = tuple(witnesses)
        self.witness_timeout = witness_timeout
        self._cosigning = Cosigning(self.witnesses, self._ask_witness)
        self._directory = directory
        self._keystore = keystore
        self.schedule = schedule
        self._clock = clock
        self._last_signed_at = clock()
        self._lock = threading.Lock()
        self._opened: dict[str, Checkpoint] = {}  # checkpoint notes whose signature verified
        self._recent: tuple[float, str] | None = None  # (read at, newest checkpoint note)
        self._parsed: dict[str, Checkpoint] = {}  # checkpoint notes parsed (not verified)
        self._key_strings: dict[tuple[str, bytes, bool], str] = {}
        self._note_verifiers: dict[tuple[str, bytes], NoteVerifier] = {}
        self.verified_tiles = VerifiedTiles()  # tiles and bundles once authenticated
        self._verified: OrderedDict[int, tuple[tuple[object, ...], SignedEvent]] = OrderedDict()
        self._verified_lock = threading.Lock()
        self._writes = 0  # see :attr:`writes`
        self._writes_lock = threading.Lock()

    @property
    def origin(self) -> str:
        return self._directory.require_ledger().origin

    def size(self) -> int:
        return self._recorder.log_size()

    def root(self, size: int | None = None) -> bytes:
        size = self.size() if size is None else size
        self._check_size(size)
        return EMPTY_ROOT if size == 0 else root_hash(size, self._recorder.read_nodes)

    def verifiers(self) -> list[NoteVerifier]:
        """The note verifiers of the log's current keys (key name = origin)."""
        self._directory.refresh_if_older_than(1.0)
        ledger = self._directory.require_ledger()
        return [self._verifier(ledger.origin, key) for key in ledger.log_keys.values()]

    def _verifier(self, origin: str, key: VerifyingKey) -> NoteVerifier:
        """The note verifier of a log key, made once per key and origin."""
        made = self._note_verifiers.get((origin, key.raw))
        if made is None:
            made = self._note_verifiers[(origin, key.raw)] = NoteVerifier.for_key(origin, key)
        return made

    def verifier_keys(self) -> list[str]:
        """The verifier key strings (``name+hex(keyid)+base64(0x01||key)``) to publish."""
        return [self._key_string(v) for v in self.verifiers()]

    def _key_string(self, verifier: NoteVerifier) -> str:
        slot = (verifier.name, verifier.public_key.raw, verifier.cosignature)
        made = self._key_strings.get(slot)
        if made is None:
            made = self._key_strings[slot] = verifier.key_string
        return made

    def signers(self) -> list[NoteSigner]:
        self._directory.refresh()
        ledger = self._directory.require_ledger()
        signers = []
        for key_id in sorted(ledger.log_keys):
            signer = self._keystore.get(LOG_KEY_OWNER, key_id)
            if signer is not None:
                signers.append(NoteSigner(ledger.origin, signer))
        if not signers:
            raise KeyNotAuthorisedError(
                "the keystore holds no current log key, so this process cannot sign checkpoints"
            )
        return signers

    def can_sign(self) -> bool:
        """Whether this process holds a current log key."""
        try:
            return bool(self.signers())
        except KeyNotAuthorisedError:
            return False

    def sign_checkpoint(self) -> str:
        """Sign and keep a checkpoint of the whole log as it is now; return the note.

        The configured witnesses are asked for cosignatures in the background: the note
        returned has none yet (see :meth:`settled`).
        """
        note, new_size = self._sign()
        if new_size is not None:
            self._cosigning.submit(new_size)
        return note

    def _sign(self) -> tuple[str, int | None]:
        """The note of the log as it is, and its size if it was signed just now."""
        with self._lock:
            latest = self.latest()
            size = self.size()
            checkpoint = Checkpoint(self.origin, size, self.root(size))
            kept = self._recorder.side_get(CHECKPOINTS, f"{size:020d}")
            if kept is not None:
                note = kept.decode("utf-8")
                if self.parsed(note).root_hash != checkpoint.root_hash:
                    raise SplitViewError(
                        f"the log's root at {size} leaves is not the one signed before; "
                        "refusing to sign a second root",
                        trusted_note=note,
                    )
                return note, None
            if latest is not None:
                old = self.parsed(latest)
                if old.size > size:
                    raise SplitViewError(
                        f"the log shrank from {old.size} to {size} leaves; refusing to sign",
                        trusted_note=latest,
                    )
                check_consistency(old, checkpoint, self.consistency_proof(old.size, size))
            note = sign_checkpoint(checkpoint, self.signers())
            self._recorder.side_put(CHECKPOINTS, f"{size:020d}", note.encode("utf-8"))
            self.note_write()
            self._last_signed_at = self._clock()
            return note, size

    def _ask_witness(self, endpoint: WitnessEndpoint, size: int) -> None:
        """Ask one witness to cosign the kept checkpoint of ``size``; keep what verifies.

        Runs on that witness's background worker, never under the signing lock but for the
        moment it takes to store the cosignature. A witness that is down or refuses leaves the
        checkpoint without its cosignature (and a warning in the log); a verifier whose policy
        needs it then refuses the checkpoint, which is the point.
        """
        slot = endpoint.verifier.key_string
        known = self._recorder.side_get(WITNESSED_SIZES, slot)
        old_size = int(known) if known is not None else 0
        try:
            lines, held = request_cosignature(
                endpoint,
                self.checkpoint_at(size),
                old_size,
                lambda old: self.consistency_proof(old, size),
                timeout=self.witness_timeout,
            )
            with self._lock:
                self._keep_cosignatures(size, lines, [endpoint.verifier])
        except (LedgerError, httpx.HTTPError) as error:
            logger.warning("witness %s did not cosign size %d: %s", endpoint.url, size, error)
            return
        self._recorder.side_put(WITNESSED_SIZES, slot, str(held).encode("ascii"))

    def settled(self, note: str, timeout: float | None = None) -> str:
        """``note`` as kept once its witnesses answered, waiting at most ``timeout`` seconds
        (default: the witness timeout); what has not arrived by then arrives later."""
        size = self.parsed(note).size
        if not self._cosigning.pending(size):
            return self.checkpoint_at(size) if self.witnesses else note
        self._cosigning.wait(size, self.witness_timeout if timeout is None else timeout)
        return self.checkpoint_at(size)

    def cosignatures_pending(self, size: int) -> bool:
        """Whether a witness has yet to answer for the checkpoint of ``size``."""
        return self._cosigning.pending(size)

    def close(self) -> None:
        """Stop the cosigning workers (a request under way is abandoned)."""
        self._cosigning.close()

    def maybe_checkpoint(self) -> str | None:
        """Sign a checkpoint if the schedule says one is due; return it, or None."""
        if self.schedule is None:
            return None
        latest = self.latest_size()
        grown = self.size() - latest
        if grown <= 0:
            return None
        events_due = self.schedule.every_events is not None and grown >= self.schedule.every_events
        elapsed = self._clock() - self._last_signed_at
        time_due = (
            self.schedule.every_seconds is not None and elapsed >= self.schedule.every_seconds
        )
        return self.sign_checkpoint() if events_due or time_due else None

    def parsed(self, note: str) -> Checkpoint:
        """The checkpoint a stored note states (its signature is not checked here: see
        :meth:`open_stored`); each note is parsed once and remembered."""
        checkpoint = self._parsed.get(note)
        if checkpoint is None:
            checkpoint = Checkpoint.parse(parse_note(note)[0])
            if len(self._parsed) >= PARSED_NOTES:
                self._parsed.clear()
            self._parsed[note] = checkpoint
        return checkpoint

    def checkpoints(self) -> list[str]:
        """Every signed checkpoint note, oldest first."""
        return [value.decode("utf-8") for _, value in self._recorder.side_items(CHECKPOINTS)]

    def latest(self) -> str | None:
        last = self._recorder.side_last(CHECKPOINTS)
        return last[1].decode("utf-8") if last else None

    def latest_with_size(self) -> tuple[int, str] | None:
        """The newest signed checkpoint's size and note, in one read of the store."""
        last = self._recorder.side_last(CHECKPOINTS)
        return (int(last[0]), last[1].decode("utf-8")) if last else None

    def latest_size(self) -> int:
        last = self._recorder.side_last(CHECKPOINTS)
        return int(last[0]) if last else 0

    @property
    def writes(self) -> int:
        """How many times this process has changed the log or its checkpoints: appended (see
        :meth:`note_write`), signed a checkpoint or kept a cosignature. What was read before it
        last changed may be out of date; other processes' writes are not counted."""
        return self._writes

    def note_write(self) -> None:
        """Count a write this process made to the log (the ledger calls it after each one)."""
        with self._writes_lock:
            self._writes += 1

    def newest_note(self) -> str:
        """The newest signed checkpoint of the whole log, signing one first if the log has
        grown since (and this process holds the log key), with the cosignatures its witnesses
        sent in time; its signature verified with the log's keys (:meth:`open_stored`).
        :class:`NotFoundError` if none has been signed and this process cannot sign one."""
        newest = self.latest_with_size()
        note = None if newest is None else newest[1]
        if newest is None or newest[0] < self.size():
            note = self.sign_checkpoint() if self.can_sign() else note
        if note is None:
            raise NotFoundError("no checkpoint has been signed yet")
        note = self.settled(note)  # a new checkpoint's witnesses answer in the background
        self.open_stored(note)  # one rewritten behind the ledger's back is never served
        return note

    def checkpoint_at(self, size: int) -> str:
        value = self._recorder.side_get(CHECKPOINTS, f"{size:020d}")
        if value is None:
            raise NotFoundError(f"no checkpoint was signed at size {size}")
        return value.decode("utf-8")

    def checkpoint_covering(self, leaf_index: int) -> str:
        """The newest signed checkpoint that includes the leaf, signing one if none does."""
        latest = self.latest()
        if latest is not None and self.parsed(latest).size > leaf_index:
            return self.settled(latest)
        self._check_index(leaf_index, self.size())
        return self.settled(self.sign_checkpoint())

    def witness_verifiers(self) -> list[NoteVerifier]:
        """The cosigner keys of the configured witnesses."""
        return [endpoint.verifier for endpoint in self.witnesses]

    def add_cosignature(
        self, size: int, cosignature_lines: str, witnesses: Sequence[NoteVerifier] | None = None
    ) -> str:
        """Attach witness cosignature lines to the kept checkpoint of that size.

        Each line must verify with one of ``witnesses`` (default: the configured witnesses'
        keys) over that checkpoint, or nothing is kept and :class:`NoteError` is raised.
        """
        known = self.witness_verifiers() if witnesses is None else list(witnesses)
        with self._lock:
            return self._keep_cosignatures(size, cosignature_lines, known)

    def _keep_cosignatures(self, size: int, lines: str, witnesses: Sequence[NoteVerifier]) -> str:
        note = merge_cosignatures(self.checkpoint_at(size), lines, witnesses)
        self._recorder.side_put(CHECKPOINTS, f"{size:020d}", note.encode("utf-8"))
        self.note_write()
        return note

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        self._check_size(size)
        self._check_index(index, size)
        return inclusion_proof(index, size, self._recorder.read_nodes)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        self._check_size(new_size)
        if not 0 <= old_size <= new_size:
            raise InvalidInputError(f"need 0 <= old size <= new size, got {old_size}, {new_size}")
        if old_size == 0 or old_size == new_size:
            return []
        return consistency_proof(old_size, new_size, self._recorder.read_nodes)

    def receipt(self, leaf_index: int, *, with_entry: bool = True) -> str:
        """A C2SP tlog-proof@v1 receipt for the leaf, to the newest checkpoint covering it.

        With ``with_entry`` its ``extra`` line carries the stored envelope itself, so the
        receipt alone lets anyone check the event, its signature and its inclusion offline.
        """
        note = self.checkpoint_covering(leaf_index)
        checkpoint = self.parsed(note)
        entry = self.entry(leaf_index)
        proof = self.inclusion_proof(leaf_index, checkpoint.size)
        # Never a receipt for a tampered event: the stored entry must prove into the root.
        check_inclusion(entry, leaf_index, checkpoint.size, proof, checkpoint.root_hash)
        return format_receipt(leaf_index, proof, note, entry if with_entry else None)

    def entry(self, leaf_index: int) -> bytes:
        found = self._recorder.select_leaves(leaf_index, 1) if leaf_index >= 0 else []
        if not found or found[0].leaf_index != leaf_index:
            raise missing_leaf(leaf_index, self.size(), self.latest_size())
        return found[0].state

    def hash_tile(self, level: int, index: int, width: int = TILE_WIDTH) -> bytes:
        """A tlog-tiles hash tile; it must lie within the current tree.

        Its hashes are checked before they are served: with the few stored nodes beside the tile
        they must rebuild the root of the newest signed checkpoint (signing one first if none
        covers the tile yet), or :class:`StoreIntegrityError` is raised, on every call (a
        server serves tiles through :meth:`verified_tile`, which checks each once).
        """
        return self._checked_hash_tile(level, index, width)

    def entry_tile(self, index: int, width: int = TILE_WIDTH) -> bytes:
        """A tlog-tiles entry bundle: the stored envelopes of leaves index*256 ....

        The entries are checked as the hash tile is: each must be stored, at its leaf, and their
        leaf hashes must rebuild the newest signed checkpoint's root, on every call (see
        :meth:`verified_tile`).
        """
        return self._checked_entry_tile(index, width)

    def verified_tile(self, level: int, index: int, width: int = TILE_WIDTH) -> VerifiedTile:
        """Hash tile ``level/index`` of ``width`` hashes (entry bundle ``index`` with level
        ``ENTRIES``), with its strong ETag: read and checked against a signed checkpoint the
        first time this process is asked for it, then served from the bytes that passed (a tile
        of a given width never changes, so what was authenticated once stays the answer)."""
        key = (level, index, width)
        kept = self.verified_tiles.get(key)
        if kept is not None:
            return kept
        if level == ENTRIES:
            data = self._checked_entry_tile(index, width)
        else:
            data = self._checked_hash_tile(level, index, width)
        return self.verified_tiles.put(key, data)

    def _checked_hash_tile(self, level: int, index: int, width: int) -> bytes:
        checkpoint = self._checkpoint_covering_leaves((index * TILE_WIDTH + width) << (8 * level))
        own = tile_node_coordinates(level, index, width)
        beside = tile_witness_nodes(level, index, width, checkpoint.size)
        found = self._read_nodes([*own, *beside])
        hashes = found[:width]
        check_tile(level, index, hashes, checkpoint, dict(zip(beside, found[width:], strict=True)))
        return b"".join(hashes)

    def _checked_entry_tile(self, index: int, width: int) -> bytes:
        start = index * TILE_WIDTH
        checkpoint = self._checkpoint_covering_leaves(start + width)
        leaves = self._recorder.select_leaves(start, width)
        check_entries(leaves, start, width)  # a tampered or missing entry is never served
        beside = tile_witness_nodes(0, index, width, checkpoint.size)
        witnesses = dict(zip(beside, self._read_nodes(beside), strict=True))
        check_tile(0, index, [leaf_hash(leaf.state) for leaf in leaves], checkpoint, witnesses)
        return entry_bundle([leaf.state for leaf in leaves])

    def _read_nodes(self, coordinates: Sequence[tuple[int, int]]) -> list[bytes]:
        try:
            return self._recorder.read_nodes(coordinates)
        except IntegrityError as error:  # a node the log wrote is gone
            raise StoreIntegrityError(f"{error}: removed behind the ledger's back") from None

    def inclusion(self, leaf_index: int, leaf: bytes) -> Inclusion:
        """The newest signed checkpoint covering the leaf and the leaf's inclusion proof in it,
        from the stored nodes; :class:`StoreIntegrityError` unless the proof leads from the leaf
        hash ``leaf`` to the checkpoint's root (evidence that does not verify is never served)."""
        note = self._recent_checkpoint_covering(leaf_index)
        checkpoint = self.parsed(note)
        self._check_index(leaf_index, checkpoint.size)
        proof = inclusion_proof(leaf_index, checkpoint.size, self._read_nodes)
        check_leaf_inclusion(leaf, leaf_index, checkpoint.size, proof, checkpoint.root_hash)
        return Inclusion(note, checkpoint.size, proof)

    def _recent_checkpoint_covering(self, leaf_index: int) -> str:
        """:meth:`checkpoint_covering`, read from the store at most once a second while the
        checkpoint read last covers the leaf (a newer one signed meanwhile by another process
        is served from the next second on). Without witnesses only: with them, each read
        brings the cosignatures that arrived since."""
        recent = self._fresh_recent_covering(leaf_index)
        if recent is not None:
            return recent
        note = self.checkpoint_covering(leaf_index)
        self._recent = (time.monotonic(), note)
        return note

    def _fresh_recent_covering(self, leaf_index: int) -> str | None:
        """The checkpoint read last for evidence, while :meth:`_recent_checkpoint_covering`
        may still serve it for this leaf without reading the store; else None."""
        recent = self._recent
        if (
            recent is not None
            and not self.witnesses
            and time.monotonic() - recent[0] < RECENT_CHECKPOINT_SECONDS
            and self.parsed(recent[1]).size > leaf_index
        ):
            return recent[1]
        return None

    def verified_entry(
        self, leaf_index: int, verify: Callable[[StoredEvent], SignedEvent]
    ) -> SignedEvent:
        """The event at a leaf, read from the store and verified with ``verify`` (the mapper's).

        The row is read every time; when its bytes, leaf hash, identity and position are exactly
        those of a row this process verified before, that verification's result is reused (it
        depends on nothing else), so a row changed since is verified afresh and refused.
        """
        found = self._recorder.select_leaves(leaf_index, 1) if leaf_index >= 0 else []
        return self._verified_row(leaf_index, found[0] if found else None, verify)

    def verified_event(
        self, stored: StoredEvent, verify: Callable[[StoredEvent], SignedEvent]
    ) -> SignedEvent:
        """A row read by its aggregate and version, verified as :meth:`verified_entry` verifies
        a leaf's (a row in the log whose bytes, leaf hash, identity and position are those of a
        row verified before reuses that verification); a row with no leaf is verified afresh."""
        if not isinstance(stored, LoggedEvent) or stored.leaf_index is None:
            return verify(stored)
        return self._verified_row(stored.leaf_index, stored, verify)

    def verified_entry_with_inclusion(
        self, leaf_index: int, verify: Callable[[StoredEvent], SignedEvent]
    ) -> tuple[SignedEvent, Inclusion]:
        """:meth:`verified_entry` and :meth:`inclusion` of its leaf hash, with the same checks,
        in one read of the store when the checkpoint read last for evidence still covers the
        leaf (the leaf's row and its proof's nodes together); else in the reads of each."""
        plan = self.inclusion_plan(leaf_index)
        if plan is None:
            event = self.verified_entry(leaf_index, verify)
            return event, self.inclusion(leaf_index, event.leaf_hash)
        stored, nodes = self._recorder.select_leaf_and_nodes(leaf_index, plan.coordinates)
        return self.inclusion_from(plan, stored, nodes, verify)

    def inclusion_plan(self, leaf_index: int) -> InclusionPlan | None:
        """What one read must fetch for a leaf's evidence (its row and the nodes of its proof in
        the checkpoint read last for evidence), if that checkpoint is fresh and covers the leaf;
        else None (:meth:`verified_entry_with_inclusion` then reads more)."""
        note = self._fresh_recent_covering(leaf_index) if leaf_index >= 0 else None
        if note is None:
            return None
        checkpoint = self.parsed(note)
        coordinates = inclusion_proof_nodes(leaf_index, checkpoint.size)
        return InclusionPlan(leaf_index, note, checkpoint, coordinates)

    def inclusion_from(
        self,
        plan: InclusionPlan,
        stored: LoggedEvent | None,
        nodes: dict[tuple[int, int], bytes],
        verify: Callable[[StoredEvent], SignedEvent],
    ) -> tuple[SignedEvent, Inclusion]:
        """The verified event and its checked inclusion, from the row and nodes read for
        ``plan`` (by :meth:`verified_entry_with_inclusion`, or by a caller's own read)."""
        leaf_index, checkpoint = plan.leaf_index, plan.checkpoint
        event = self._verified_row(leaf_index, stored, verify)

        def read_nodes(coordinates: Sequence[tuple[int, int]]) -> list[bytes]:
            missing = [pair for pair in coordinates if pair not in nodes]
            if missing:
                raise StoreIntegrityError(
                    f"Merkle node {missing[0]} is missing from the log: removed behind the "
                    "ledger's back"
                )
            return [nodes[pair] for pair in coordinates]

        proof = inclusion_proof(leaf_index, checkpoint.size, read_nodes)
        check_leaf_inclusion(
            event.leaf_hash, leaf_index, checkpoint.size, proof, checkpoint.root_hash
        )
        return event, Inclusion(plan.note, checkpoint.size, proof)

    def _verified_row(
        self,
        leaf_index: int,
        stored: LoggedEvent | None,
        verify: Callable[[StoredEvent], SignedEvent],
    ) -> SignedEvent:
        if stored is None or stored.leaf_index != leaf_index:
            raise missing_leaf(leaf_index, self.size(), self.latest_size())
        fields = (
            stored.state,
            getattr(stored, "leaf_hash", None),
            stored.originator_id,
            stored.originator_version,
            stored.topic,
            getattr(stored, "id", None),
        )
        with self._verified_lock:
            kept = self._verified.get(leaf_index)
        if kept is not None and kept[0] == fields:
            return kept[1]
        event = verify(stored)
        with self._verified_lock:
            self._verified[leaf_index] = (fields, event)
            self._verified.move_to_end(leaf_index)
            while len(self._verified) > VERIFIED_ENTRIES:
                self._verified.popitem(last=False)
        return event

    def _checkpoint_covering_leaves(self, end: int) -> Checkpoint:
        """A signed checkpoint of at least ``end`` leaves to check a tile against: the newest
        one, or one signed now if the newest is smaller (:class:`NotFoundError` if this process
        cannot sign, or the log has fewer leaves)."""
        newest = self.verified_latest()
        size = self.size()  # after the checkpoint: the log only grows, so never below it honestly
        if newest is not None and newest.size >= end:
            if size < end:
                raise StoreIntegrityError(
                    f"the stored log has {size} leaves but the signed checkpoint of size "
                    f"{newest.size} covers {end}: leaves were removed behind the ledger's back"
                )
            return newest
        if end > size:
            raise NotFoundError(f"the tile ends at leaf {end}, beyond the log's {size}")
        if not self.can_sign():
            raise NotFoundError(f"no signed checkpoint covers leaf {end - 1} yet")
        try:
            note = self.sign_checkpoint()
        except VerificationError as error:  # the stored log no longer extends what was signed
            message = f"cannot sign a checkpoint to check a tile against: {error}"
            raise StoreIntegrityError(message) from None
        return self.parsed(note)

    def verified_latest(self) -> Checkpoint | None:
        """The newest stored checkpoint, once its signature verified with a log key of this
        ledger (current or retired); :class:`StoreIntegrityError` if it does not."""
        note = self.latest()
        return None if note is None else self.open_stored(note)

    def open_stored(self, note: str) -> Checkpoint:
        """A checkpoint note this log stored, opened with its keys (current or retired), or
        :class:`StoreIntegrityError`. Each note is verified once and remembered."""
        checkpoint = self._opened.get(note)
        if checkpoint is None:
            checkpoint = self._open_stored(note)
            if len(self._opened) >= 16:
                self._opened.clear()
            self._opened[note] = checkpoint
        return checkpoint

    def _open_stored(self, note: str) -> Checkpoint:
        problem: LedgerError | None = None
        for attempt in range(2):
            if attempt:  # another process may have added the key that signed it
                self._directory.refresh()
            ledger = self._directory.require_ledger()
            keys = [*ledger.log_keys.values(), *ledger.retired_log_keys.values()]
            verifiers = [NoteVerifier.for_key(ledger.origin, key) for key in keys]
            try:
                return open_checkpoint(note, verifiers, origin=ledger.origin)
            except LedgerError as error:
                problem = error
        raise StoreIntegrityError(
            f"a stored checkpoint does not verify with the log's keys ({problem}): "
            "it was changed behind the ledger's back"
        )

    def _check_size(self, size: int) -> None:
        current = self.size()
        if not 0 <= size <= current:
            raise InvalidInputError(f"tree size {size} is outside 0..{current}")

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        if not 0 <= index < size:
            raise NotFoundError(f"leaf {index} is not in a tree of size {size}")
