"""The service-hour ledger: signed, event-sourced, transparency-logged volunteer hours."""

from . import model as _model  # noqa: F401  (registers the event types)
from .canonical import canonical_json
from .envelope import SIGNING_CONTEXT, SignedEvent, signing_input
from .errors import (
    AgreementMissingError,
    ConcurrencyConflictError,
    ConflictError,
    ConsentMissingError,
    IdempotencyConflictError,
    InvalidInputError,
    KeyNotAuthorisedError,
    LedgerError,
    NotFoundError,
    PersonalDataErasedError,
    RuleViolationError,
    ScopeMissingError,
    SignatureError,
    StorageError,
    TamperedEventError,
    VerificationError,
)
from .keystore import DirectoryKeystore, Keystore, MemoryKeystore
from .ledger import Ledger
from .signing import Signer, SigningKey, VerifyingKey
from .writer import CommandResult, EventRef

__all__ = [
    "SIGNING_CONTEXT",
    "AgreementMissingError",
    "CommandResult",
    "ConcurrencyConflictError",
    "ConflictError",
    "ConsentMissingError",
    "DirectoryKeystore",
    "EventRef",
    "IdempotencyConflictError",
    "InvalidInputError",
    "KeyNotAuthorisedError",
    "Keystore",
    "Ledger",
    "LedgerError",
    "MemoryKeystore",
    "NotFoundError",
    "PersonalDataErasedError",
    "RuleViolationError",
    "ScopeMissingError",
    "SignatureError",
    "SignedEvent",
    "Signer",
    "SigningKey",
    "StorageError",
    "TamperedEventError",
    "VerificationError",
    "VerifyingKey",
    "canonical_json",
    "signing_input",
]
