"""Revocation status, published as a note signed by the log key and tied to a checkpoint.

We chose the ledger's own signed status statement over a W3C Bitstring Status List: a
certificate number is already public, so the herd privacy of a status list buys nothing here,
and a statement signed by the log key about a named checkpoint lets a verifier see, offline,
exactly which state of the log the answer reflects. Its text (a C2SP signed note)::

    service-hour-ledger/certificate-status/v1
    <origin>
    <certificate number>
    valid                          (or: revoked <leaf index of the revocation>)
    reason <text>                  (only when revoked)
    checkpoint <size> <base64 root>
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from ..errors import NoteError
from ..log.note import NoteSigner, NoteVerifier, sign_note, verify_note

HEADER = "service-hour-ledger/certificate-status/v1"


@dataclass(frozen=True)
class Status:
    origin: str
    certificate_number: str
    revoked_at_leaf: int | None
    reason: str
    checkpoint_size: int
    checkpoint_root: bytes

    @property
    def revoked(self) -> bool:
        return self.revoked_at_leaf is not None

    def to_text(self) -> str:
        lines = [HEADER, self.origin, self.certificate_number]
        if self.revoked_at_leaf is None:
            lines.append("valid")
        else:
            lines += [f"revoked {self.revoked_at_leaf}", "reason " + " ".join(self.reason.split())]
        lines.append(
            f"checkpoint {self.checkpoint_size} {base64.b64encode(self.checkpoint_root).decode()}"
        )
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Status:
        lines = text.rstrip("\n").split("\n")
        try:
            if lines[0] != HEADER:
                raise ValueError("not a certificate status")
            revoked, reason = None, ""
            if lines[3] != "valid":
                word, leaf = lines[3].split(" ")
                if word != "revoked" or not lines[4].startswith("reason "):
                    raise ValueError("bad status line")
                revoked, reason = int(leaf), lines[4][7:]
            word, size, root = lines[-1].split(" ")
            if word != "checkpoint":
                raise ValueError("no checkpoint line")
            return cls(lines[1], lines[2], revoked, reason, int(size), base64.b64decode(root))
        except (IndexError, ValueError) as error:
            raise NoteError(f"malformed certificate status: {error}") from None


def sign_status(status: Status, signers: list[NoteSigner]) -> str:
    return sign_note(status.to_text(), signers)


def open_status(note: str, verifiers: list[NoteVerifier]) -> Status:
    """Verify the status note's log-key signature and parse it."""
    return Status.parse(verify_note(note, verifiers))
