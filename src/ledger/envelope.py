"""Signed event bodies and the envelopes the ledger stores and logs.

The exact signing input, documented in ``docs/signing.md``::

    signature = Ed25519(private_key, SIGNING_CONTEXT || JCS(body))

where ``SIGNING_CONTEXT`` is the 29 ASCII bytes ``service-hour-ledger/event/v1\\n`` and
``JCS(body)`` is the RFC 8785 canonical form of the body. The stored envelope (also the Merkle
leaf data) is ``JCS({"body": body, "recorded_at": ..., "signature": base64(signature)})``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from .canonical import (
    MAX_SAFE_INTEGER,
    canonical_json,
    is_canonical,
    number_problem,
    parse_canonical,
    parse_json,
)
from .errors import InvalidInputError
from .signing import SIGNATURE_SIZE, Signer, VerifyingKey, b64decode, b64encode

SIGNING_CONTEXT = b"service-hour-ledger/event/v1\n"
TOPIC_PREFIX = "ledger.event.v1:"
MAX_BODY_BYTES = 64 * 1024
MAX_CLOCK_SKEW = timedelta(minutes=5)
BODY_FIELDS = frozenset(
    {
        "type",
        "org",
        "key_id",
        "aggregate_id",
        "aggregate_version",
        "occurred_at",
        "idempotency_key",
        "data",
    }
)
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
_TYPE = re.compile(r"^[A-Z][A-Za-z]{2,63}$")
_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
_ORG = re.compile(r"^[a-z0-9][a-z0-9.-]{1,63}$")
_KEY_ID = re.compile(r"[0-9a-f]{32}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with a ``Z``, microseconds only when present."""
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise InvalidInputError(f"{moment.isoformat()} is outside the calendar in UTC") from None
    # A naive time's ISO form: four-digit year, microseconds only when present.
    return moment.replace(tzinfo=None).isoformat() + "Z"


def parse_time(text: Any, *, what: str = "time") -> datetime:
    """Parse an RFC 3339 UTC time as the ledger writes it (``...Z``)."""
    if not isinstance(text, str) or not _TIME.match(text):
        raise InvalidInputError(f"{what} must be an RFC 3339 UTC time like 2026-03-05T09:30:00Z")
    try:
        # Python 3.11 reads the "Z" itself, as UTC: the same moment, in a tenth of the time
        # of cutting it off and setting the zone after.
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(f"{what} {text!r} is not a real date and time") from None


def event_topic(event_type: str) -> str:
    return TOPIC_PREFIX + event_type


def check_idempotency_key(key: Any, *, what: str = "an idempotency key is") -> None:
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidInputError(f"{what} 1 to 128 printable ASCII characters")


def validate_body(body: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """Check a body's shape (not its domain rules) before it is signed or stored: the fields
    of :func:`check_body_shape`, no time in the future, no U+0000; return it unchanged."""
    occurred = check_body_shape(body)
    assert isinstance(body, dict)  # as check_body_shape has made sure
    if occurred > (now or utc_now()) + MAX_CLOCK_SKEW:
        raise InvalidInputError(
            f"body.occurred_at {body['occurred_at']} is in the future; check the signer's clock"
        )
    where = _nul_at(body["data"])
    if where is not None:
        raise InvalidInputError(f"body.data{where} contains U+0000, which no store can keep")
    return body


def check_body_shape(body: Any) -> datetime:
    """Check that a body has exactly its fields, each of its type; return ``occurred_at``
    parsed. A stored body is read through this before anything trusts a field of it."""
    if not isinstance(body, dict):
        raise InvalidInputError("an event body must be a JSON object")
    if body.keys() != BODY_FIELDS:
        missing, extra = BODY_FIELDS - set(body), set(body) - BODY_FIELDS
        raise InvalidInputError(
            f"event body fields are wrong: missing {sorted(missing)}, unexpected {sorted(extra)}"
        )
    if not _well_formed(body["type"], _TYPE.match, _SEEN_TYPES):
        raise InvalidInputError("body.type must be an event type name such as VolunteerRegistered")
    if not _well_formed(body["org"], _ORG.match, _SEEN_ORGS):
        raise InvalidInputError("body.org must be an organisation id")
    if not _well_formed(body["key_id"], _KEY_ID.fullmatch, _SEEN_KEY_IDS):
        raise InvalidInputError("body.key_id must be 32 lowercase hex digits")
    # The text ``str(UUID(...))`` writes: lowercase, hyphenated, nothing around it.
    if not isinstance(body["aggregate_id"], str) or not _UUID.fullmatch(body["aggregate_id"]):
        raise InvalidInputError("body.aggregate_id must be a lowercase UUID string")
    version = body["aggregate_version"]
    if type(version) is not int or not 1 <= version <= MAX_SAFE_INTEGER:
        raise InvalidInputError("body.aggregate_version must be a positive integer")
    occurred = parse_time(body["occurred_at"], what="body.occurred_at")
    key = body["idempotency_key"]
    if type(key) is not str or key != _last_key[0]:  # a command's events share their key
        check_idempotency_key(key, what="body.idempotency_key must be")
        if type(key) is str:
            _last_key[0] = key
    if not isinstance(body["data"], dict):
        raise InvalidInputError("body.data must be a JSON object")
    return occurred


def check_body_numbers(body: dict[str, Any]) -> None:
    """For a body :func:`check_body_shape` passed: :class:`InvalidInputError` unless every
    number in its data is a safe integer (the shape check has typed its other fields)."""
    problem = number_problem(body["data"])
    if problem is not None:
        raise InvalidInputError(f"body.data{problem}")


# The idempotency key last found well formed (only exact ``str`` values are kept).
_last_key: list[str | None] = [None]
# Event types, organisations and key ids recur in nearly every body: each text found well formed
# is remembered (a few thousand at most), so that the next body with it costs a set lookup.
_SEEN_LIMIT = 8192
_SEEN_TYPES: set[str] = set()
_SEEN_ORGS: set[str] = set()
_SEEN_KEY_IDS: set[str] = set()


def _well_formed(
    value: Any, matches: Callable[[str], re.Match[str] | None], seen: set[str]
) -> bool:
    if type(value) is str and value in seen:
        return True
    if not isinstance(value, str) or not matches(value):
        return False
    if type(value) is str and len(seen) < _SEEN_LIMIT:
        seen.add(value)
    return True


def _nul_at(value: Any) -> str | None:
    """Where U+0000 first is below ``value`` (``.key[index]``, or `` (a key)`` for an object
    key), else None. U+0000 is never signed: PostgreSQL text cannot hold it, and a stored event
    with it would stop every reader of that row. The path is only written for one found."""
    if isinstance(value, str):
        return "" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                return " (a key)"
            found = _nul_at(item)
            if found is not None:
                return f".{key}{found}"
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_at(item)
            if found is not None:
                return f"[{index}]{found}"
    return None


@dataclass(frozen=True)
class SignedEvent:
    """A verified event: what the organisation signed, its signature, and the ledger's additions.

    ``originator_id`` and ``originator_version`` make it an eventsourcing domain event.
    """

    originator_id: UUID
    originator_version: int
    body: dict[str, Any]
    signature: bytes
    recorded_at: str
    envelope: bytes
    notification_id: int | None = None
    leaf_index: int | None = None

    @classmethod
    def sealed(
        cls,
        body: dict[str, Any],
        signature: bytes,
        recorded_at: str,
        body_bytes: bytes | None = None,
    ) -> SignedEvent:
        """A signed body sealed in its envelope with the time the ledger records it, as it
        is stored (no notification id or leaf yet). ``body_bytes``: the body's canonical bytes,
        when the caller has them (see :func:`make_envelope`)."""
        return cls(
            originator_id=UUID(body["aggregate_id"]),
            originator_version=body["aggregate_version"],
            body=body,
            signature=signature,
            recorded_at=recorded_at,
            envelope=make_envelope(body, signature, recorded_at, body_bytes),
        )

    @property
    def type(self) -> str:
        return str(self.body["type"])

    @property
    def org(self) -> str:
        return str(self.body["org"])

    @property
    def key_id(self) -> str:
        return str(self.body["key_id"])

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.body["data"])

    @property
    def occurred_at(self) -> str:
        return str(self.body["occurred_at"])

    @property
    def body_bytes(self) -> bytes:
        return canonical_json(self.body)

    @property
    def leaf_hash(self) -> bytes:
        return hashlib.sha256(b"\x00" + self.envelope).digest()

    def to_json(self) -> dict[str, Any]:
        """The stored envelope as a JSON object, plus where it sits in the logs."""
        return {
            "body": self.body,
            "signature": b64encode(self.signature),
            "recorded_at": self.recorded_at,
            "notification_id": self.notification_id,
            "leaf_index": self.leaf_index,
        }


def signing_input(body_bytes: bytes) -> bytes:
    return SIGNING_CONTEXT + body_bytes


def body_to_sign(body: dict[str, Any]) -> bytes:
    """A body's canonical bytes, refused when longer than :data:`MAX_BODY_BYTES`."""
    return _within_limit(canonical_json(body))


def _within_limit(body_bytes: bytes) -> bytes:
    if len(body_bytes) > MAX_BODY_BYTES:
        raise InvalidInputError(
            f"event body is {len(body_bytes)} bytes; the limit is {MAX_BODY_BYTES}"
        )
    return body_bytes


def sign_body(body: dict[str, Any], signer: Signer) -> tuple[bytes, bytes]:
    """Canonicalise and sign a body; return (canonical body bytes, signature)."""
    body_bytes = body_to_sign(body)
    return body_bytes, signer.sign(signing_input(body_bytes))


def verify_body(body_bytes: bytes, signature: bytes, key: VerifyingKey) -> None:
    key.verify(signature, signing_input(body_bytes))


def parse_signed_body(body_text: bytes | str, signature_b64: str) -> tuple[dict[str, Any], bytes]:
    """Parse a body signed outside the ledger; it must already be in canonical form."""
    body_bytes = _within_limit(
        body_text.encode("utf-8") if isinstance(body_text, str) else body_text
    )
    if not is_canonical(body_bytes):
        raise InvalidInputError(
            "the signed body is not in RFC 8785 canonical form; sign JCS(body) exactly"
        )
    signature = b64decode(signature_b64, what="signature")
    if len(signature) != SIGNATURE_SIZE:
        raise InvalidInputError("an Ed25519 signature is 64 bytes")
    return validate_body(parse_json(body_bytes)), signature


def make_envelope(
    body: dict[str, Any], signature: bytes, recorded_at: str, body_bytes: bytes | None = None
) -> bytes:
    """``JCS({"body": body, "recorded_at": recorded_at, "signature": base64(signature)})``.

    With ``body_bytes``, the body's canonical bytes made to sign it, those are spliced in rather
    than the body encoded again: the members sort as ``body`` < ``recorded_at`` < ``signature``,
    and neither a base64 signature nor an RFC 3339 time holds a character JCS escapes (a
    ``recorded_at`` that is not such a time takes the encoder's way)."""
    if body_bytes is None or not _TIME.fullmatch(recorded_at):
        return canonical_json(
            {"body": body, "signature": b64encode(signature), "recorded_at": recorded_at}
        )
    return b"".join(
        (
            b'{"body":',
            body_bytes,
            _RECORDED_AT,
            recorded_at.encode("ascii"),
            b'","signature":"',
            b64encode(signature).encode("ascii"),
            b'"}',
        )
    )


def open_envelope(state: bytes) -> tuple[dict[str, Any], bytes, str]:
    """Split stored envelope bytes into (body, signature, recorded_at), strictly."""
    body, signature, recorded_at, _ = open_envelope_timed(state)
    return body, signature, recorded_at


_ENVELOPE_FIELDS = frozenset({"body", "signature", "recorded_at"})


def open_envelope_timed(
    state: bytes, *, check_numbers: bool = True
) -> tuple[dict[str, Any], bytes, str, datetime]:
    """As :func:`open_envelope`, with ``recorded_at`` also as the moment it was parsed into
    (for a reader that compares it, so that it is parsed once). With ``check_numbers=False``
    the body's numbers are left to :func:`check_body_numbers`, which a caller that checks the
    body's shape anyway runs after it (the audit): it walks the data alone, the other fields
    being typed by the shape check; the envelope's own fields are typed here."""
    try:
        envelope = parse_canonical(state, check_numbers=check_numbers)
    except InvalidInputError:
        raise InvalidInputError("stored envelope is not canonical JSON") from None
    if not isinstance(envelope, dict) or envelope.keys() != _ENVELOPE_FIELDS:
        raise InvalidInputError("stored envelope must hold exactly body, signature, recorded_at")
    signature = b64decode(envelope["signature"], what="signature")
    recorded = parse_time(envelope["recorded_at"], what="recorded_at")
    body = envelope["body"]
    if not isinstance(body, dict):
        raise InvalidInputError("stored envelope body is not an object")
    return body, signature, envelope["recorded_at"], recorded


def body_bytes_of(state: bytes) -> bytes:
    """The canonical body inside a canonical envelope, without serialising it again.

    The envelope's keys sort as body, recorded_at, signature, so the body is the text between
    ``{"body":`` and the last ``,"recorded_at":``.
    """
    return state[8 : state.rindex(b',"recorded_at":')]


_RECORDED_AT = b',"recorded_at":"'


def recorded_at_of(state: bytes) -> str | None:
    """The ``recorded_at`` of stored envelope bytes, or None when it cannot be found.

    A cheap slice, not a parse: recorders call it under the write lock on the last leaf.
    """
    start = state.rfind(_RECORDED_AT)
    if start < 0:
        return None
    start += len(_RECORDED_AT)
    end = state.find(b'"', start)
    return state[start:end].decode("ascii", "replace") if end > start else None


def recorded_at_span(state: bytes) -> tuple[int, int]:
    """Where the value of ``recorded_at`` lies in stored envelope bytes: ``state[start:end]``.
    ValueError when the bytes hold no ``recorded_at``."""
    start = state.rindex(_RECORDED_AT) + len(_RECORDED_AT)
    return start, state.index(b'"', start)


def restamp_envelope(state: bytes, recorded_at: str) -> bytes:
    """The same envelope with ``recorded_at`` replaced; still canonical, since only the value of
    one string member changes and a time holds no character JCS escapes."""
    start, end = recorded_at_span(state)
    return state[:start] + recorded_at.encode("ascii") + state[end:]
