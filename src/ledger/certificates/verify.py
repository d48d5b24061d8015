"""Verifying a certificate package offline, with nothing trusted but the log's verifier key.

A package is JSON: ``credential`` (the signed VC), ``issuance_receipt`` (tlog-proof of the
CertificateIssued event, the event in its extra line), ``key_receipt`` (tlog-proof of the event
that registered the issuer's key), ``status`` (the log-signed status note) and
``status_checkpoint`` (the checkpoint note the status names, with its witness cosignatures).

Under a witness policy every checkpoint involved must meet the quorum: the receipts' and the one
the status note is about. A status note is signed by the log key alone; only a witnessed
checkpoint of the same size and root shows the state it describes was shown to others too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..canonical import canonical_json
from ..credentials import resolve_did_key, verify_proof
from ..envelope import open_envelope, verify_body
from ..errors import LedgerError
from ..log.checkpoint import Checkpoint, CheckpointPolicy
from ..log.note import NoteVerifier
from ..log.receipt import parse_receipt, verify_receipt
from ..model import organisation_facts as facts
from ..signing import VerifyingKey
from .credential import credential_sha256, without_proof
from .status import Status, open_status

RECEIPTS = ("issuance_receipt", "key_receipt")


@dataclass
class Verdict:
    valid: bool
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return ("VALID: " if self.valid else "INVALID: ") + self.reason


class _Invalid(Exception):
    pass


def verify_package(
    package: dict[str, Any],
    log_keys: list[NoteVerifier],
    checkpoints: CheckpointPolicy | None = None,
) -> Verdict:
    """Check a certificate package; the verdict says in one line whether it holds and why.

    With ``checkpoints`` (a witness policy) the receipts' checkpoints must also satisfy it.
    """
    try:
        return _verify(package, log_keys, checkpoints)
    except _Invalid as reason:
        return Verdict(False, str(reason))
    except (LedgerError, KeyError, TypeError, ValueError, AttributeError) as error:
        return Verdict(False, f"the package is malformed: {error}")


def _verify(
    package: dict[str, Any], log_keys: list[NoteVerifier], checkpoints: CheckpointPolicy | None
) -> Verdict:
    if not log_keys:
        raise _Invalid("no trusted log key was given (pass the ledger's verifier key)")
    credential = package["credential"]
    receipts = (package["issuance_receipt"], package["key_receipt"], package["status"])
    if not isinstance(credential, dict) or not all(isinstance(r, str) for r in receipts):
        raise _Invalid("the package's credential is not an object or a receipt is not text")
    proof = credential.get("proof", {})
    try:
        verify_proof(credential)
    except LedgerError as error:
        raise _Invalid(f"the credential's signature does not verify: {error}") from None
    issuer_key = resolve_did_key(str(proof.get("verificationMethod")))
    issued, issued_leaf, origin = _logged_event(
        package["issuance_receipt"], checkpoints or log_keys, "issuance"
    )
    body, signature = issued
    data = body["data"]
    if body["type"] != "CertificateIssued":
        raise _Invalid("the issuance receipt is not for a certificate")
    if data["certificate_number"] != credential.get("certificateNumber"):
        raise _Invalid("the issuance receipt is for another certificate number")
    if data["credential_sha256"] != credential_sha256(without_proof(credential)):
        raise _Invalid("the credential differs from the one the ledger logged (content changed)")
    if body["key_id"] != issuer_key.key_id:
        raise _Invalid("the credential was signed with another key than the logged issuance")
    try:
        verify_body(canonical_json(body), signature, issuer_key)
    except LedgerError:
        raise _Invalid("the logged issuance event's signature does not verify") from None
    _check_key_registration(
        package["key_receipt"],
        checkpoints or log_keys,
        issuer_key,
        body["org"],
        issued_leaf,
        origin,
    )
    status = open_status(package["status"], log_keys)
    if status.origin != origin:
        raise _Invalid(f"the status note is from the log {status.origin}, not {origin}")
    if status.certificate_number != data["certificate_number"]:
        raise _Invalid("the status note is for another certificate")
    if status.checkpoint_size <= issued_leaf:
        raise _Invalid("the status note predates the certificate")
    witnessed = ""
    if checkpoints is not None:
        _check_status_witnessed(package, status, checkpoints)
        witnessed = " (witnessed)"
    if status.revoked:
        raise _Invalid(
            f"certificate {data['certificate_number']} was revoked "
            f"(log leaf {status.revoked_at_leaf}): {status.reason}"
        )
    hours, minutes = divmod(data["approved_minutes"], 60)
    return Verdict(
        True,
        (
            f"certificate {data['certificate_number']} issued by {body['org']} (key "
            f"{issuer_key.key_id}) to volunteer {data['number']} for {hours} h {minutes} min, "
            f"logged at leaf {issued_leaf}, not revoked as of checkpoint {status.checkpoint_size}"
            f"{witnessed}"
        ),
        {
            "certificate_number": data["certificate_number"],
            "issuer": body["org"],
            "number": data["number"],
            "approved_minutes": data["approved_minutes"],
            "leaf_index": issued_leaf,
            "status_checkpoint": status.checkpoint_size,
        },
    )


def _check_status_witnessed(
    package: dict[str, Any], status: Status, checkpoints: CheckpointPolicy
) -> None:
    """The status note's checkpoint must be one the policy accepts: the package's
    ``status_checkpoint`` or a receipt's checkpoint, of the same origin, size and root."""
    notes = [package.get("status_checkpoint")]
    notes += [parse_receipt(package[name]).checkpoint_note for name in RECEIPTS]
    refusals = []
    for note in notes:
        if not isinstance(note, str):
            continue
        try:
            checkpoint = checkpoints.verify(note)
        except LedgerError as error:
            refusals.append(error.message)
            continue
        if _same_state(checkpoint, status):
            return
    why = f": {refusals[0]}" if refusals else ""
    raise _Invalid(
        f"the status note's checkpoint ({status.checkpoint_size} leaves) is not one the "
        f"witness policy accepts{why}"
    )


def _same_state(checkpoint: Checkpoint, status: Status) -> bool:
    return (checkpoint.origin, checkpoint.size, checkpoint.root_hash) == (
        status.origin,
        status.checkpoint_size,
        status.checkpoint_root,
    )


def _logged_event(
    receipt: str, log_keys: list[NoteVerifier] | CheckpointPolicy, what: str
) -> tuple[tuple[dict[str, Any], bytes], int, str]:
    parsed = parse_receipt(receipt)
    if parsed.extra is None:
        raise _Invalid(f"the {what} receipt does not carry its event")
    try:
        checkpoint = verify_receipt(receipt, parsed.extra, log_keys)
    except LedgerError as error:
        raise _Invalid(f"the {what} receipt does not verify with the log key: {error}") from None
    body, signature, _ = open_envelope(parsed.extra)
    return (body, signature), parsed.index, checkpoint.origin


def _check_key_registration(
    receipt: str,
    log_keys: list[NoteVerifier] | CheckpointPolicy,
    key: VerifyingKey,
    org: str,
    before_leaf: int,
    origin: str,
) -> None:
    (body, _), leaf, key_origin = _logged_event(receipt, log_keys, "key registration")
    if key_origin != origin:
        raise _Invalid(f"the key receipt is from the log {key_origin}, not {origin}")
    data = body["data"]
    if body["type"] == "LedgerCreated":
        established: facts.RegisteredKey | None = facts.ledger_created(data).root_key
    elif body["type"] == "KeyRegistered":
        established = facts.key_registered(data)
    else:
        established = None
    if established is None or established.public_key != key or established.org_id != org:
        raise _Invalid(f"the key receipt does not register the issuer's key for {org!r}")
    if leaf >= before_leaf:
        raise _Invalid("the issuer's key was registered after the certificate was issued")


def verify_document(
    text: str, log_keys: list[NoteVerifier], checkpoints: CheckpointPolicy | None = None
) -> Verdict:
    """Verify a certificate package, a bare credential, or a tlog-proof receipt.

    ``checkpoints`` (a witness policy), when given, must accept every checkpoint involved.
    """
    import json

    from ..log.receipt import HEADER as RECEIPT_HEADER

    if text.startswith(RECEIPT_HEADER):
        return _verify_receipt_file(text, log_keys, checkpoints)
    try:
        document = json.loads(text)
    except ValueError:
        return Verdict(False, "the file is neither JSON nor a tlog-proof receipt")
    if isinstance(document, dict) and "credential" in document:
        return verify_package(document, log_keys, checkpoints)
    if isinstance(document, dict) and "proof" in document:
        try:
            verify_proof(document)
        except LedgerError as error:
            return Verdict(False, f"the credential's signature does not verify: {error}")
        return Verdict(
            False,
            "the credential's signature verifies, but nothing shows its key is the issuer's "
            "or that it was not revoked: verify the certificate package "
            "(GET /certificates/<number>/package)",
        )
    return Verdict(False, "the JSON is neither a credential nor a certificate package")


def _verify_receipt_file(
    text: str, log_keys: list[NoteVerifier], checkpoints: CheckpointPolicy | None
) -> Verdict:
    if not log_keys:
        return Verdict(False, "no trusted log key was given (pass the ledger's verifier key)")
    try:
        parsed = parse_receipt(text)
        if parsed.extra is None:
            return Verdict(False, "the receipt carries no entry to check against")
        checkpoint = verify_receipt(text, parsed.extra, checkpoints or log_keys)
        body, _, _ = open_envelope(parsed.extra)
    except LedgerError as error:
        return Verdict(False, f"the receipt does not verify: {error}")
    return Verdict(
        True,
        f"{body['type']} by {body['org']} is leaf {parsed.index} of the log "
        f"{checkpoint.origin} at size {checkpoint.size}",
    )
