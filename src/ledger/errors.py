"""The ledger's errors: one base class and a small tree under it.

Every error carries a stable ``code`` (the API maps it to an RFC 9457 problem ``type``) and a
message that says what went wrong and what to do about it::

    LedgerError
    ├── InvalidInputError          malformed, oversized or wrongly typed input
    ├── NotFoundError              an id that the ledger does not know
    │   └── PersonalDataErasedError    the volunteer's personal data was erased
    ├── RuleViolationError         a domain rule refuses the command
    ├── ConflictError              the command collides with what is already stored
    │   ├── IdempotencyConflictError   same idempotency key, different content
    │   └── ConcurrencyConflictError   another writer won the race for the same aggregate
    ├── SignatureError             a signature does not verify
    │   └── TamperedEventError     a stored event's bytes no longer match its signature
    ├── KeyNotAuthorisedError      key unknown, revoked, or not the acting organisation's
    │   ├── AgreementMissingError  the volunteer's home organisation has not agreed
    │   └── ConsentMissingError    the volunteer has not consented to the purpose
    ├── StorageError               the store cannot be opened or is in an unexpected state
    │   ├── StoreUnavailableError      the store failed for now (connection, lock); retry
    │   └── StoreIntegrityError        stored data fails verification on read (server-side)
    └── VerificationError          a proof, checkpoint, note or receipt does not verify
        ├── InclusionProofError
        ├── ConsistencyProofError
        ├── NoteError
        ├── SplitViewError         two signed checkpoints that cannot both be honest
        └── WitnessRefusedError    a witness would not cosign a checkpoint

A command that raises any of these has stored nothing.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of every error the ledger raises on purpose."""

    code = "ledger-error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(LedgerError, ValueError):
    """The input is malformed, oversized, of the wrong type, or otherwise unusable."""

    code = "invalid-input"


class NotFoundError(LedgerError, LookupError):
    """An id that the ledger does not know."""

    code = "not-found"


class PersonalDataErasedError(NotFoundError):
    """The volunteer's personal data was erased; it cannot be read or stored again."""

    code = "personal-data-erased"


class RuleViolationError(LedgerError):
    """A domain rule refuses the command; the message names the rule."""

    code = "rule-violation"


class ConflictError(LedgerError):
    """The command collides with what is already stored."""

    code = "conflict"


class IdempotencyConflictError(ConflictError):
    """The idempotency key was already used for a command with different content."""

    code = "idempotency-conflict"


class ConcurrencyConflictError(ConflictError):
    """Another writer stored an event for the same aggregate first; retry the command."""

    code = "concurrency-conflict"


class SignatureError(LedgerError):
    """A signature does not verify against the key it names."""

    code = "signature-invalid"


class TamperedEventError(SignatureError):
    """A stored event's bytes were altered after it was signed and stored."""

    code = "tampered-event"


class KeyNotAuthorisedError(LedgerError):
    """The signing key is unknown, revoked at that point, or not the acting organisation's."""

    code = "key-not-authorised"


class ScopeMissingError(KeyNotAuthorisedError):
    """An API key asked for something its scopes do not cover (or to give scopes it lacks)."""

    code = "scope-missing"


class AgreementMissingError(KeyNotAuthorisedError):
    """Acting on another organisation's volunteer needs their home organisation's agreement.

    ``right`` names what was missing (``membership``, ``consent``, ``personal-data``,
    ``credit``), ``home`` the organisation whose signed ``AgreementGranted`` would give it.
    """

    code = "agreement-missing"

    def __init__(
        self, message: str, *, number: str = "", org: str = "", home: str = "", right: str = ""
    ) -> None:
        super().__init__(message)
        self.number, self.org, self.home, self.right = number, org, home, right

    def __reduce__(self) -> tuple[object, ...]:  # keeps the details across processes
        details = {"number": self.number, "org": self.org, "home": self.home, "right": self.right}
        return (_rebuild, (type(self), self.message, details))


class ConsentMissingError(KeyNotAuthorisedError):
    """The volunteer has not consented to the purpose (``purpose``) the read needs."""

    code = "no-consent"

    def __init__(self, message: str, *, number: str = "", purpose: str = "") -> None:
        super().__init__(message)
        self.number, self.purpose = number, purpose

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild,
            (type(self), self.message, {"number": self.number, "purpose": self.purpose}),
        )


class StorageError(LedgerError):
    """The store cannot be opened, or is not a ledger, or is not initialised."""

    code = "storage-error"


class StoreUnavailableError(StorageError):
    """The store failed for a reason that passes (a lost connection, a lock wait, a busy
    database). Nothing is half-written; retry the same call, with the same idempotency key."""

    code = "storage-unavailable"
    retry_after = 1


class StoreIntegrityError(StorageError):
    """Data the ledger stored fails its own checks when read back (a Merkle node missing, a
    tile whose hashes do not match): someone changed the store behind the ledger's back. This
    is the operator's problem, never the caller's input."""

    code = "store-integrity-failure"


class VerificationError(LedgerError):
    """A proof, checkpoint, signed note or receipt does not verify."""

    code = "verification-failed"


class InclusionProofError(VerificationError):
    """An inclusion proof does not show the leaf at that index in a tree of that size."""

    code = "inclusion-proof-invalid"


class ConsistencyProofError(VerificationError):
    """A consistency proof does not show that the newer tree extends the older one."""

    code = "consistency-proof-invalid"


class NoteError(VerificationError):
    """A signed note or checkpoint is malformed or lacks a valid signature."""

    code = "note-invalid"


class SplitViewError(VerificationError):
    """Two checkpoints signed by the log cannot both describe one append-only log."""

    code = "split-view"

    def __init__(self, message: str, *, trusted_note: str = "", new_note: str = "") -> None:
        super().__init__(message)
        self.trusted_note = trusted_note
        self.new_note = new_note


class WitnessRefusedError(VerificationError):
    """A witness refused to cosign a checkpoint (c2sp.org/tlog-witness).

    ``reason`` is one of ``malformed``, ``unknown-log``, ``bad-signature``, ``old-size-mismatch``
    (``latest_size`` is then the size the witness last cosigned), ``conflict`` (a second root
    for a size it cosigned) or ``inconsistent`` (the consistency proof does not verify).
    """

    code = "witness-refused"

    def __init__(self, reason: str, message: str, *, latest_size: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.latest_size = latest_size


def _rebuild(cls: type[LedgerError], message: str, details: dict[str, str]) -> LedgerError:
    return cls(message, **details)
