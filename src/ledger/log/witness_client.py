"""Asking witnesses for cosignatures over HTTP (the log's side of c2sp.org/tlog-witness).

A :class:`WitnessEndpoint` is a witness the ledger is configured to ask: its submission URL
prefix and its cosigner key. The ledger remembers, per witness, the size the witness last
cosigned, sends the consistency proof from there, and on a ``409`` with a ``text/x.tlog.size``
body retries once from the size the witness names. Responses are never trusted as they come:
only cosignatures from the witness's configured key that verify over the checkpoint are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from ..errors import InvalidInputError, WitnessRefusedError
from .checkpoint import Checkpoint, parse_decimal
from .note import NoteVerifier, parse_note, parse_signature_line, parse_verifier_key
from .witness import AddCheckpointRequest

SIZE_MEDIA_TYPE = "text/x.tlog.size"
_REASONS = {
    400: "malformed",
    403: "bad-signature",
    404: "unknown-log",
    409: "conflict",
    422: "inconsistent",
}


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness to ask: its submission prefix (``http(s)://...``) and its cosigner key."""

    url: str
    verifier: NoteVerifier

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise InvalidInputError(f"witness URL {self.url!r} must be http(s)://")
        if not self.verifier.cosignature:
            raise InvalidInputError(f"witness key {self.verifier.name!r} is not a cosigner key")

    @classmethod
    def parse(cls, text: str) -> WitnessEndpoint:
        """Read ``<cosigner vkey> <URL>``, as configured in ``LEDGER_WITNESSES``."""
        parts = text.split()
        if len(parts) != 2:
            raise InvalidInputError(f"a witness is configured as '<vkey> <url>', not {text!r}")
        return cls(parts[1].rstrip("/"), parse_verifier_key(parts[0]))


def parse_endpoints(text: str) -> list[WitnessEndpoint]:
    """Witnesses separated by newlines or semicolons; blank entries are ignored."""
    entries = [entry.strip() for entry in text.replace(";", "\n").split("\n")]
    return [WitnessEndpoint.parse(entry) for entry in entries if entry]


ProofSource = Callable[[int], Sequence[bytes]]
"""The consistency proof from the given old size to the checkpoint being submitted."""


def request_cosignature(
    endpoint: WitnessEndpoint,
    note: str,
    old_size: int,
    proof_from: ProofSource,
    *,
    timeout: float = 10.0,
    client: httpx.Client | None = None,
) -> tuple[str, int]:
    """Submit ``note`` and return (the witness's cosignature lines, the size it now holds).

    Raises :class:`WitnessRefusedError` when the witness refuses, and ``httpx.HTTPError`` when
    it cannot be reached. The lines returned are only those naming the endpoint's key; the
    caller must still verify them (``merge_cosignatures`` does).
    """
    owned = client or httpx.Client(timeout=timeout)
    try:
        try:
            return _submit(owned, endpoint, note, old_size, proof_from)
        except WitnessRefusedError as error:
            retry = error.latest_size
            if error.reason != "old-size-mismatch" or retry is None or retry == old_size:
                raise
            return _submit(owned, endpoint, note, retry, proof_from)
    finally:
        if client is None:
            owned.close()


def _submit(
    client: httpx.Client,
    endpoint: WitnessEndpoint,
    note: str,
    old_size: int,
    proof_from: ProofSource,
) -> tuple[str, int]:
    size = Checkpoint.parse(parse_note(note)[0]).size
    if old_size > size:
        raise WitnessRefusedError(
            "old-size-mismatch",
            f"{endpoint.url} already cosigned size {old_size}, beyond this checkpoint ({size})",
            latest_size=old_size,
        )
    proof = tuple(proof_from(old_size)) if old_size else ()
    body = AddCheckpointRequest(old_size, proof, note).to_text()
    response = client.post(
        endpoint.url + "/add-checkpoint",
        content=body.encode("utf-8"),
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )
    if response.status_code == 200:
        return _own_lines(endpoint, response.text), size
    detail = response.text.strip()[:300]
    if response.status_code == 409 and response.headers.get("content-type", "").startswith(
        SIZE_MEDIA_TYPE
    ):
        latest = parse_decimal(response.text.strip(), "witness size")
        reason = "old-size-mismatch" if latest != old_size else "conflict"
        raise WitnessRefusedError(
            reason, f"{endpoint.url} answered 409: it holds size {latest}", latest_size=latest
        )
    raise WitnessRefusedError(
        _REASONS.get(response.status_code, "malformed"),
        f"{endpoint.url} answered {response.status_code}: {detail}",
    )


def _own_lines(endpoint: WitnessEndpoint, body: str) -> str:
    """Keep the signature lines from this endpoint's key; the spec says ignore the rest."""
    kept = []
    for line in body.splitlines():
        if not line:
            continue
        signature = parse_signature_line(line)
        if (signature.name, signature.key_id) == (endpoint.verifier.name, endpoint.verifier.key_id):
            kept.append(line + "\n")
    if not kept:
        raise WitnessRefusedError("malformed", f"{endpoint.url} returned no cosignature of its key")
    return "".join(kept)
