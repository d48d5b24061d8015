"""[architecture] API keys are kept by the library: the rules hold for the command line and the
HTTP API alike, on every store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ledger import IdempotencyConflictError, Ledger, NotFoundError, ScopeMissingError
from ledger.apikeys import (
    CREATED,
    NAMESPACE,
    create_api_key,
    create_api_key_once,
    find_api_key,
    list_api_keys,
    revoke_api_key,
)

City = tuple[Ledger, dict[str, str]]


def _stored(ledger: Ledger) -> int:
    return len(ledger._recorder.side_items(NAMESPACE)) + len(ledger._recorder.side_items(CREATED))


def test_a_key_never_gives_scopes_the_asking_key_lacks_and_a_refusal_stores_nothing(
    city: City,
) -> None:
    ledger, _ = city
    before = _stored(ledger)
    with pytest.raises(ScopeMissingError, match=r"lacks itself: \['private'\]"):
        create_api_key_once(
            ledger,
            "org-a",
            ["read", "private"],
            idempotency_key="k1",
            granted_by=frozenset({"admin", "read"}),
        )
    assert _stored(ledger) == before


def test_a_retried_creation_makes_nothing_new_and_never_shows_the_secret_again(
    city: City,
) -> None:
    ledger, _ = city
    first = create_api_key_once(
        ledger, "org-a", ["read"], idempotency_key="k1", granted_by=frozenset({"admin", "read"})
    )
    stored = _stored(ledger)
    again = create_api_key_once(
        ledger, "org-a", ["read"], idempotency_key="k1", granted_by=frozenset({"admin", "read"})
    )
    assert again == {**first, "secret": None, "replayed": True}
    assert _stored(ledger) == stored
    found = find_api_key(ledger, str(first["secret"]))
    assert found is not None and found.org == "org-a" and found.scopes == {"read"}
    other_org = create_api_key_once(
        ledger, "org-b", ["read"], idempotency_key="k1", granted_by=frozenset({"admin", "read"})
    )
    assert other_org["key_id"] != first["key_id"], "an idempotency key is the organisation's own"


@pytest.mark.parametrize(
    "other",
    [
        {"scopes": ["read", "record"]},
        {"scopes": ["read"], "expires": datetime(2030, 1, 1, tzinfo=UTC)},
        {"scopes": ["read"], "rate_per_minute": 60},
    ],
    ids=["scopes", "expiry", "rate"],
)
def test_the_same_idempotency_key_asking_for_another_key_is_a_conflict(
    city: City, other: dict[str, Any]
) -> None:
    """A retry is answered with the key made first only when it asks for the same key: a
    client asking for other scopes, expiry or rate would otherwise believe it holds them."""
    ledger, _ = city
    granted = frozenset({"admin", "read", "record"})
    create_api_key_once(ledger, "org-a", ["read"], idempotency_key="k1", granted_by=granted)
    stored = _stored(ledger)
    other = dict(other)  # the parameter is shared by every store
    scopes = other.pop("scopes")
    with pytest.raises(IdempotencyConflictError, match="other scopes, expiry or rate"):
        create_api_key_once(
            ledger, "org-a", scopes, idempotency_key="k1", granted_by=granted, **other
        )
    assert _stored(ledger) == stored


def test_another_organisation_neither_lists_nor_revokes_a_key(city: City) -> None:
    ledger, _ = city
    secret = create_api_key(ledger, "org-a", ["read"])
    key = find_api_key(ledger, secret)
    assert key is not None
    assert [k["key_id"] for k in list_api_keys(ledger, "org-b")] == []
    assert [k["key_id"] for k in list_api_keys(ledger, "city")] == [key.key_id]
    with pytest.raises(NotFoundError, match="not a key you manage"):
        revoke_api_key(ledger, key.key_id, by_org="org-b")
    still = find_api_key(ledger, secret)
    assert still is not None and still.revoked is None
    revoked = revoke_api_key(ledger, key.key_id, by_org="city")
    assert revoked["revoked"]
    now_revoked = find_api_key(ledger, secret)
    assert now_revoked is not None and now_revoked.revoked is not None
