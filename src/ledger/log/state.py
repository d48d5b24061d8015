"""A verifier's memory of the log: the last checkpoint it trusted, kept in a JSON file.

Remembering one checkpoint and demanding a consistency proof for every later one is what lets a
single verifier notice a log that rewrites history: the log cannot show it a tree that does not
extend what it showed before without producing two signed checkpoints that contradict each
other, and :class:`SplitViewError` carries both as evidence.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import ConsistencyProofError, InvalidInputError, SplitViewError, StorageError
from .checkpoint import Checkpoint, CheckpointPolicy, check_consistency, open_checkpoint
from .note import NoteVerifier

STATE_VERSION = 1
ProofFetcher = Callable[[int, int], Sequence[bytes]]
"""Return the consistency proof from the first size to the second, e.g. from the log's API."""


class TrustedState:
    """The last checkpoint note a verifier accepted for one log, and the file that keeps it."""

    def __init__(
        self,
        path: Path,
        verifier: NoteVerifier | Sequence[NoteVerifier] | CheckpointPolicy,
        note: str | None = None,
    ) -> None:
        self.path = path
        self.verifier = verifier
        self.note = note
        self.checkpoint = open_checkpoint(note, verifier) if note is not None else None

    @classmethod
    def load(
        cls, path: str | Path, verifier: NoteVerifier | Sequence[NoteVerifier] | CheckpointPolicy
    ) -> TrustedState:
        """Read the state file (none yet means nothing is trusted) and re-verify its note."""
        path = Path(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path, verifier)
        except (OSError, ValueError) as error:
            raise StorageError(f"cannot read trusted log state {path}: {error}") from None
        if not isinstance(document, dict) or document.get("version") != STATE_VERSION:
            raise StorageError(f"{path} is not a version {STATE_VERSION} trusted log state")
        note = document.get("note")
        if not isinstance(note, str):
            raise StorageError(f"{path} holds no checkpoint note")
        return cls(path, verifier, note)

    def check(self, new_note: str, proof: ProofFetcher | Sequence[bytes]) -> Checkpoint:
        """Verify ``new_note`` and its consistency with the trusted checkpoint, then remember it.

        ``proof`` is the consistency proof between the two sizes (smaller first), or a function
        that fetches it. A larger consistent checkpoint replaces the trusted one; an older one is
        checked against it and returned, but not remembered. Raises :class:`SplitViewError`
        carrying both notes when they cannot both come from one append-only log.
        """
        new = open_checkpoint(new_note, self.verifier)
        trusted = self.checkpoint
        if trusted is None or self.note is None:
            self._save(new_note, new)
            return new
        if new.origin != trusted.origin:
            raise InvalidInputError(f"checkpoint is for {new.origin!r}, not {trusted.origin!r}")
        old, grown = (trusted, new) if new.size >= trusted.size else (new, trusted)
        hashes = proof(old.size, grown.size) if callable(proof) else proof
        try:
            check_consistency(old, grown, hashes)
        except (ConsistencyProofError, SplitViewError) as error:
            raise SplitViewError(
                f"checkpoint of size {new.size} is not consistent with the trusted checkpoint "
                f"of size {trusted.size}: {error.message}",
                trusted_note=self.note,
                new_note=new_note,
            ) from error
        if new.size > trusted.size:
            self._save(new_note, new)
        return new

    def _save(self, note: str, checkpoint: Checkpoint) -> None:
        document = {"version": STATE_VERSION, "origin": checkpoint.origin, "note": note}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".trusted-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(document, file, ensure_ascii=False, indent=2)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except OSError as error:
            Path(temporary).unlink(missing_ok=True)
            raise StorageError(f"cannot save trusted log state {self.path}: {error}") from None
        self.note, self.checkpoint = note, checkpoint
