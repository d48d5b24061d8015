"""An envelope spliced from the body's signed bytes is the envelope the JCS encoder makes.

The writer seals each event by splicing the canonical body bytes it signed into the envelope
instead of encoding the body a second time. For any body, signature and time, the spliced bytes
must be exactly RFC 8785's encoding of the envelope object, by this project's encoder and by
the ``rfc8785`` package (written elsewhere); a ``recorded_at`` that is not a plain time falls
back to the encoder and so stays canonical too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from ledger import canonical_json
from ledger.envelope import format_time, make_envelope, open_envelope
from ledger.signing import b64encode

MAX_SAFE = 2**53 - 1
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
scalars = st.none() | st.booleans() | st.integers(-MAX_SAFE, MAX_SAFE) | texts
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
bodies = st.dictionaries(texts, json_values, max_size=8)
times = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
).map(format_time)


def envelope_object(body: dict[str, Any], signature: bytes, recorded_at: str) -> dict[str, Any]:
    return {"body": body, "signature": b64encode(signature), "recorded_at": recorded_at}


@given(bodies, st.binary(min_size=64, max_size=64), times | texts)
def test_the_spliced_envelope_is_the_canonical_envelope(
    body: dict[str, Any], signature: bytes, recorded_at: str
) -> None:
    spliced = make_envelope(body, signature, recorded_at, canonical_json(body))
    assert spliced == make_envelope(body, signature, recorded_at)
    assert spliced == rfc8785.dumps(envelope_object(body, signature, recorded_at))


@given(bodies, st.binary(min_size=64, max_size=64), times)
def test_a_spliced_envelope_opens_to_what_was_sealed(
    body: dict[str, Any], signature: bytes, recorded_at: str
) -> None:
    valid = {
        "type": "VolunteerRegistered",
        "org": "org-a",
        "key_id": "0123456789abcdef0123456789abcdef",
        "aggregate_id": "7f1b82d6-5702-5a68-9a1c-575be388b735",
        "aggregate_version": 1,
        "occurred_at": "2026-03-05T09:00:00Z",
        "idempotency_key": "vol-1",
        "data": body,
    }
    opened = open_envelope(make_envelope(valid, signature, recorded_at, canonical_json(valid)))
    assert opened == (valid, signature, recorded_at)
