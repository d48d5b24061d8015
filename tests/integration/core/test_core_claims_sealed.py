"""A retry is answered with what the command returned, or refused: never with a value changed in
the database. Before, a claim's value was read as stored, so an operator could answer a retried
registration with another volunteer's number. Each claim now carries a MAC under a key derived
from the log key, over the organisation, the idempotency key, the request hash, the events and
the value; a claim that fails it, or has none, answers no retry, and nothing is stored."""

from __future__ import annotations

import base64
from collections.abc import Callable
from hashlib import sha256
from typing import Any

import pytest
from ledger_testing import create_city, tamper_sql

from ledger import Ledger, MemoryKeystore
from ledger.canonical import canonical_json, parse_json
from ledger.claim_seal import MAC_LABEL, ClaimSeal
from ledger.errors import StoreIntegrityError
from ledger.keystore import LOG_KEY_OWNER

SQL_STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _claim_row(ledger: Ledger, scope: str, key: str) -> tuple[str, dict[str, Any]]:
    claim = ledger._recorder.find_claim(scope, key)
    assert claim is not None
    return claim.request_hash, parse_json(claim.result)


def _put_claim(ledger: Ledger, scope: str, key: str, request: str, result: bytes) -> None:
    tamper_sql(
        ledger,
        "DELETE FROM {schema}.ledger_idempotency WHERE scope = %s AND key = %s",
        (scope, key),
    )
    tamper_sql(
        ledger,
        "INSERT INTO {schema}.ledger_idempotency VALUES (%s, %s, %s, %s)",
        (scope, key, request, result),
    )


@pytest.fixture(params=SQL_STORES)
def city(
    request: pytest.FixtureRequest,
    store_url_for: Callable[[str], str],
    open_ledger: Callable[..., Ledger],
) -> tuple[Ledger, str, str]:
    """A ledger, a volunteer registered with key ``v-1``, and another volunteer's number."""
    ledger = open_ledger(store_url_for(request.param))
    create_city(ledger)
    mine = ledger.register_volunteer("org-a", idempotency_key="v-1").value.number
    theirs = ledger.register_volunteer("org-a", idempotency_key="v-2").value.number
    return ledger, str(mine), str(theirs)


def _retry(ledger: Ledger) -> Any:
    return ledger.register_volunteer("org-a", idempotency_key="v-1")


def test_an_honest_retry_is_answered_with_the_same_value(city: tuple[Ledger, str, str]) -> None:
    ledger, mine, _ = city
    again = _retry(ledger)
    assert again.replayed and str(again.value.number) == mine
    assert "mac" in _claim_row(ledger, "org-a", "v-1")[1]
    # The genesis made the log key the claims are sealed with; its own claim is sealed too.
    assert "mac" in _claim_row(ledger, "city", "genesis")[1]


@pytest.mark.parametrize(
    "change",
    [
        "another volunteer's number",
        "the MAC removed",
        "another request hash",
        "another key",
        "a log key not held",
        "a path for a key id",
    ],
)
def test_a_claim_changed_in_the_database_answers_no_retry(
    city: tuple[Ledger, str, str], change: str
) -> None:
    ledger, mine, theirs = city
    request, result = _claim_row(ledger, "org-a", "v-1")
    scope, key = "org-a", "v-1"
    if change == "another volunteer's number":
        assert result["value"]["number"] == mine
        result["value"]["number"] = theirs
    elif change == "the MAC removed":
        del result["mac"]
    elif change == "a log key not held":
        result["sealed_by"] = "0" * 32
    elif change == "a path for a key id":
        result["sealed_by"] = "../../../" + result["sealed_by"]
    elif change == "another request hash":
        request = "0" * len(request)
    else:  # v-2's sealed result, moved under v-1
        _, result = _claim_row(ledger, "org-a", "v-2")
    _put_claim(ledger, scope, key, request, canonical_json(result))
    size = ledger.log_size()
    expected = {
        "the MAC removed": "carries no MAC",
        "a log key not held": "not a current one held here",
        "a path for a key id": "not a current one held here",
    }.get(change, "fails its MAC")
    with pytest.raises(StoreIntegrityError, match=expected):
        _retry(ledger)
    assert ledger.log_size() == size


def test_a_claim_of_another_organisation_moved_here_answers_no_retry(
    city: tuple[Ledger, str, str],
) -> None:
    """org-b's sealed claim, copied under org-a's scope and key with org-a's request hash."""
    ledger, _, _ = city
    other = ledger.register_volunteer("org-b", idempotency_key="v-1")
    _, theirs = _claim_row(ledger, "org-b", "v-1")
    request, _ = _claim_row(ledger, "org-a", "v-1")
    _put_claim(ledger, "org-a", "v-1", request, canonical_json(theirs))
    with pytest.raises(StoreIntegrityError, match="fails its MAC"):
        _retry(ledger)
    # org-b's own retry is still answered, from its own claim.
    again = ledger.register_volunteer("org-b", idempotency_key="v-1")
    assert again.replayed and again.value.number == other.value.number


class _NewestFirstKeystore(MemoryKeystore):
    """Lists its keys newest first, so the key added last seals claims (a plain keystore lists
    them by id, and a new key sorts first only by chance)."""

    def key_ids(self, owner: str) -> list[str]:
        return list(reversed(self._keys.get(owner, {})))


def test_an_honest_retry_after_a_log_key_rotation_is_answered(
    store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    """The root rotates the log key with ``add_log_key``; the process is restarted; a
    registration made before is retried. Each claim names the log key that sealed it, so the
    retry is answered with the first registration's number, whichever key now seals."""
    url = store_url_for("sqlite")
    keystore = _NewestFirstKeystore()
    ledger = open_ledger(url, keystore=keystore)
    create_city(ledger)
    first = ledger.register_volunteer("org-a", idempotency_key="v-1")
    before = _claim_row(ledger, "org-a", "v-1")[1]["sealed_by"]
    added = ledger.add_log_key("city", idempotency_key="rotate").value.key_id
    ledger.close()

    restarted = open_ledger(url, keystore=keystore)
    restarted.register_volunteer("org-a", idempotency_key="v-2")
    assert _claim_row(restarted, "org-a", "v-2")[1]["sealed_by"] == added != before
    again = restarted.register_volunteer("org-a", idempotency_key="v-1")
    assert again.replayed and again.value.number == first.value.number


def _copy_without(keystore: MemoryKeystore, owner: str, key_id: str | None) -> MemoryKeystore:
    """A keystore with every key of ``keystore`` but ``owner``'s ``key_id`` (None: all of
    ``owner``'s keys left out)."""
    copy = MemoryKeystore()
    for held_owner, keys in keystore._keys.items():
        for held_id, key in keys.items():
            if held_owner == owner and (key_id is None or held_id == key_id):
                continue
            copy.add(held_owner, key)
    return copy


def test_a_command_after_a_log_key_is_retired_is_answered_without_the_retired_key(
    store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    """The root rotates the log key: ``add_log_key``, then ``retire_log_key`` of the old one.
    A volunteer registered after the retirement has its claim sealed with the current key, so
    its retry is answered by a process whose keystore no longer holds the retired key."""
    url = store_url_for("sqlite")
    keystore = MemoryKeystore()
    ledger = open_ledger(url, keystore=keystore)
    create_city(ledger)
    (old,) = keystore.key_ids(LOG_KEY_OWNER)
    new = ledger.add_log_key("city", idempotency_key="rotate").value.key_id
    ledger.retire_log_key("city", key_id=old, reason="leaked", idempotency_key="retire-old")
    assert set(ledger.trust_anchors()["log_keys"]) == {new}
    made = ledger.register_volunteer("org-a", idempotency_key="after-retirement")
    sealed_by = _claim_row(ledger, "org-a", "after-retirement")[1]["sealed_by"]
    ledger.close()

    current_only = _copy_without(keystore, LOG_KEY_OWNER, old)
    restarted = open_ledger(url, keystore=current_only)
    assert sealed_by == new
    again = restarted.register_volunteer("org-a", idempotency_key="after-retirement")
    assert again.replayed and again.value.number == made.value.number


def test_a_claim_whose_mac_is_not_ascii_is_refused_as_an_integrity_failure(
    store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    """A MAC changed into text that is not ASCII is a failed MAC (an integrity failure the API
    counts and logs), not a ``TypeError`` from the comparison."""
    ledger = open_ledger(store_url_for("sqlite"))
    create_city(ledger)
    ledger.register_volunteer("org-a", idempotency_key="v-1")
    request, result = _claim_row(ledger, "org-a", "v-1")
    result["mac"] = "é" + base64.b64encode(bytes(32)).decode()[1:]
    _put_claim(ledger, "org-a", "v-1", request, canonical_json(result))
    with pytest.raises(StoreIntegrityError, match="fails its MAC"):
        ledger.register_volunteer("org-a", idempotency_key="v-1")


def test_a_claim_forged_with_a_retired_log_key_for_a_later_command_is_refused(
    store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    """The old log key leaked, so the root rotated it. The operator, holding the leaked key
    and the database, re-seals a later registration's claim with the retired key to answer
    its retry with another volunteer's number: a retired key seals nothing that is accepted."""
    url = store_url_for("sqlite")
    keystore = MemoryKeystore()
    ledger = open_ledger(url, keystore=keystore)
    create_city(ledger)
    (old,) = keystore.key_ids(LOG_KEY_OWNER)
    ledger.add_log_key("city", idempotency_key="rotate")
    ledger.retire_log_key("city", key_id=old, reason="leaked", idempotency_key="retire-old")
    mine = ledger.register_volunteer("org-a", idempotency_key="v-1").value.number
    theirs = ledger.register_volunteer("org-a", idempotency_key="v-2").value.number

    # The operator's forgery, with the leaked key.
    leaked = keystore.get(LOG_KEY_OWNER, old)
    assert leaked is not None
    mac_key = sha256(leaked.sign(MAC_LABEL)).digest()
    request, body = _claim_row(ledger, "org-a", "v-1")
    body.pop("mac")
    body["value"]["number"] = str(theirs)
    body["sealed_by"] = old
    body["mac"] = ClaimSeal._mac(mac_key, "org-a", "v-1", request, dict(body))
    _put_claim(ledger, "org-a", "v-1", request, canonical_json(body))

    with pytest.raises(StoreIntegrityError, match="not a current one"):
        ledger.register_volunteer("org-a", idempotency_key="v-1")
    assert mine != theirs
