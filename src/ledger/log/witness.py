"""A transparency log witness (c2sp.org/tlog-witness) and its add-checkpoint request format.

A witness cosigns a new checkpoint only after checking the log's signature and a consistency
proof from the last checkpoint it cosigned for that log. Every verifier that requires its
cosignature therefore sees the same history the witness saw, so a log cannot show one history to
auditors and another to certificate holders without being caught.

The witness here is storage-free: the caller keeps the last cosigned checkpoint per origin and
must update it atomically with each cosignature, as tlog-witness explains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConsistencyProofError, NoteError, SplitViewError
from ..signing import Signer, b64encode
from .checkpoint import Checkpoint, check_consistency, decode_hash, open_checkpoint, parse_decimal
from .cosignature import cosign, cosigner_verifier
from .note import NoteVerifier, append_signatures, parse_note

MAX_PROOF_LINES = 63


class Witness:
    """A named cosigner key that cosigns checkpoints consistent with what it cosigned before."""

    __slots__ = ("name", "signer", "verifier")

    def __init__(self, name: str, signer: Signer) -> None:
        self.name = name
        self.signer = signer
        self.verifier = cosigner_verifier(name, signer.public_key)

    @property
    def key_string(self) -> str:
        """The witness's vkey (type 0x04), for the policies of those who rely on it."""
        return self.verifier.key_string

    def cosign(
        self,
        trusted: Checkpoint | None,
        new_note: str,
        consistency_proof: Sequence[bytes],
        log_verifier: NoteVerifier | Sequence[NoteVerifier],
        now: int,
    ) -> str:
        """Check ``new_note`` against ``trusted`` and return this witness's cosignature line.

        ``trusted`` is the last checkpoint this witness cosigned for the log (None if none).
        Raises :class:`NoteError` for a bad log signature, :class:`ConsistencyProofError` for a
        smaller size or a proof that does not verify, and :class:`SplitViewError` for a second
        root at the same size.
        """
        checkpoint = open_checkpoint(new_note, log_verifier)
        if trusted is not None:
            try:
                check_consistency(trusted, checkpoint, consistency_proof)
            except SplitViewError as error:
                raise SplitViewError(
                    error.message, trusted_note=error.trusted_note, new_note=new_note
                ) from None
        elif consistency_proof:
            raise ConsistencyProofError("the proof from a log never cosigned must be empty")
        text, _ = parse_note(new_note)
        return self.cosign_text(text, now)

    def cosign_text(self, checkpoint_text: str, now: int) -> str:
        """The cosignature line over a checkpoint text the caller has already checked."""
        return cosign(checkpoint_text, self.name, self.signer, now).line

    def cosign_note(
        self,
        trusted: Checkpoint | None,
        new_note: str,
        consistency_proof: Sequence[bytes],
        log_verifier: NoteVerifier | Sequence[NoteVerifier],
        now: int,
    ) -> str:
        """Like :meth:`cosign`, but return the note with the cosignature appended."""
        line = self.cosign(trusted, new_note, consistency_proof, log_verifier, now)
        return append_signatures(new_note, line)


@dataclass(frozen=True)
class AddCheckpointRequest:
    """The body of a tlog-witness ``add-checkpoint`` call."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str

    def to_text(self) -> str:
        """``old <size>``, one base64 proof hash per line, a blank line, then the note."""
        lines = [f"old {self.old_size}", *(b64encode(h) for h in self.proof)]
        return "\n".join(lines) + "\n\n" + self.note

    @classmethod
    def parse(cls, body: str) -> AddCheckpointRequest:
        """Parse an ``add-checkpoint`` body strictly; raise :class:`NoteError` if malformed."""
        head, separator, note = body.partition("\n\n")
        lines = head.split("\n")
        if not separator or not lines[0].startswith("old "):
            raise NoteError("an add-checkpoint body starts with an 'old <size>' line")
        if len(lines) - 1 > MAX_PROOF_LINES:
            raise NoteError(f"at most {MAX_PROOF_LINES} consistency proof lines are allowed")
        old_size = parse_decimal(lines[0][len("old ") :], "old size")
        proof = tuple(decode_hash(line, "consistency proof hash") for line in lines[1:])
        if old_size == 0 and proof:
            raise NoteError("the proof from old size 0 must be empty")
        return cls(old_size, proof, note)
