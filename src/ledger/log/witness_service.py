"""The witness side of c2sp.org/tlog-witness ``add-checkpoint``, without HTTP.

:class:`WitnessService` holds the witness key, the logs it follows (by origin and key) and its
store. For each request it checks the log's signature, that the old size is the size it last
cosigned, and the consistency proof from that checkpoint; then it stores the new checkpoint and
returns its timestamped cosignature, all in one atomic step. Every refusal is a
:class:`WitnessRefusedError` whose ``reason`` the HTTP layer maps to the status the spec names.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from ..errors import ConsistencyProofError, NoteError, SplitViewError, WitnessRefusedError
from ..signing import Signer
from .checkpoint import Checkpoint, check_consistency, open_checkpoint
from .note import NoteVerifier, open_note, parse_note
from .witness import AddCheckpointRequest, Witness
from .witness_store import WitnessStore


class WitnessService:
    """A witness that follows a configured list of logs and cosigns what extends its view."""

    def __init__(
        self,
        name: str,
        signer: Signer,
        logs: Sequence[NoteVerifier],
        store: WitnessStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.witness = Witness(name, signer)
        self.logs = tuple(logs)
        self.store = store
        self._clock = clock
        if any(log.cosignature for log in self.logs):
            raise ValueError("a log key must be an Ed25519 (0x01) key, not a cosigner key")

    @property
    def key_string(self) -> str:
        """The witness's cosigner vkey, for the policies of those who rely on it."""
        return self.witness.key_string

    def origins(self) -> list[str]:
        return sorted({log.name for log in self.logs})

    def add_checkpoint(self, body: str) -> str:
        """Handle one ``add-checkpoint`` body; return the cosignature line(s) to respond with."""
        request, checkpoint = self._parse(body)
        known = [log for log in self.logs if log.name == checkpoint.origin]
        if not known:
            raise WitnessRefusedError(
                "unknown-log", f"this witness does not follow the log {checkpoint.origin!r}"
            )
        try:
            open_checkpoint(request.note, known, origin=checkpoint.origin)
        except NoteError as error:
            raise WitnessRefusedError(
                "bad-signature", f"no valid signature from the log's key: {error.message}"
            ) from None
        if request.old_size > checkpoint.size:
            raise WitnessRefusedError(
                "malformed", f"old size {request.old_size} exceeds size {checkpoint.size}"
            )
        text = parse_note(request.note)[0]
        cosigned: list[str] = []

        def decide(stored: tuple[int, str] | None) -> str:
            self._check_against(stored, request, checkpoint)
            # Timestamped inside the step that stores the checkpoint: a smaller checkpoint
            # cosigned concurrently cannot carry a later time than this larger one.
            cosigned.append(self.witness.cosign_text(text, int(self._clock())))
            return text

        try:
            self.store.advance(checkpoint.origin, checkpoint.size, decide)
        except WitnessRefusedError as error:
            # Only a second root at a size cosigned proves the log signed two histories: a
            # failing proof proves nothing (anyone may send a published checkpoint with one).
            if error.reason == "conflict":
                evidence = _log_signed(request.note, known)
                self.store.keep_refused(checkpoint.origin, evidence, error.message)
            raise
        return cosigned[0]

    @staticmethod
    def _parse(body: str) -> tuple[AddCheckpointRequest, Checkpoint]:
        try:
            request = AddCheckpointRequest.parse(body)
            return request, Checkpoint.parse(parse_note(request.note)[0])
        except NoteError as error:
            raise WitnessRefusedError("malformed", error.message) from None

    @staticmethod
    def _check_against(
        stored: tuple[int, str] | None, request: AddCheckpointRequest, new: Checkpoint
    ) -> None:
        stored_size = stored[0] if stored else 0
        if request.old_size != stored_size:
            raise WitnessRefusedError(
                "old-size-mismatch",
                f"old size {request.old_size} is not the size last cosigned, {stored_size}",
                latest_size=stored_size,
            )
        if stored is None:
            return
        old = Checkpoint.parse(stored[1])
        try:
            check_consistency(old, new, request.proof)
        except SplitViewError:
            raise WitnessRefusedError(
                "conflict",
                f"a different checkpoint of size {new.size} was already cosigned; "
                "this one conflicts with it",
                latest_size=stored_size,
            ) from None
        except ConsistencyProofError as error:
            raise WitnessRefusedError(
                "inconsistent",
                f"the consistency proof from size {old.size} does not verify: {error.message}",
            ) from None


def _log_signed(note: str, logs: Sequence[NoteVerifier]) -> str:
    """The note with only its log's signatures: what proves the log signed it, whatever other
    signature lines a sender added."""
    opened = open_note(note, logs)
    return opened.text + "\n" + "".join(signature.line for _, signature in opened.verified)
