"""[trust-roots] Drafting: the ledger drafts a command's bodies for an organisation to sign with a
key it keeps itself; drafting stores nothing, and the signed bodies pass every rule again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from ledger_testing import create_city

from ledger import Ledger, SigningKey
from ledger.envelope import sign_body
from ledger.errors import (
    ConcurrencyConflictError,
    InvalidInputError,
    KeyNotAuthorisedError,
    RuleViolationError,
    SignatureError,
)
from ledger.signing import b64encode


@pytest.fixture
def city(open_ledger: Callable[..., Ledger]) -> tuple[Ledger, SigningKey]:
    ledger = open_ledger("memory://")
    create_city(ledger)
    key = SigningKey.generate()  # org-a's key, never given to the ledger
    ledger.register_key("city", for_org="org-a", public_key=key.public_key, idempotency_key="k")
    return ledger, key


def signed(
    ledger: Ledger, key: SigningKey, command: str, **params: object
) -> list[tuple[str, str]]:
    draft = ledger.draft(command, "org-a", key_id=key.key_id, params=dict(params))
    return [
        (t, b64encode(sign_body(b, key)[1]))
        for t, b in zip(draft.texts(), draft.bodies, strict=True)
    ]


def test_drafting_stores_nothing_and_the_signed_draft_is_stored_as_signed(
    city: tuple[Ledger, SigningKey],
) -> None:
    ledger, key = city
    size = ledger.log_size()
    items = signed(ledger, key, "register_volunteer", idempotency_key="v1")
    assert ledger.log_size() == size
    result = ledger.submit_signed(items)
    stored = ledger.event_at(result.events[0].leaf_index)
    assert stored.body_bytes.decode() == items[0][0]
    assert stored.key_id == key.key_id


@pytest.mark.parametrize(
    ("command", "params", "error"),
    [
        ("register_key", {"idempotency_key": "x"}, InvalidInputError),
        (
            "register_volunteer",
            {"idempotency_key": "x", "personal": {"name": "x"}},
            InvalidInputError,
        ),
        ("register_volunteer", {"idempotency_key": "x", "unknown": 1}, InvalidInputError),
        ("publish_activity", {"idempotency_key": "x", "starts_at": "yesterday"}, InvalidInputError),
    ],
)
def test_bad_drafts_are_refused(
    city: tuple[Ledger, SigningKey], command: str, params: dict[str, object], error: type
) -> None:
    ledger, key = city
    size = ledger.log_size()
    with pytest.raises(error):
        ledger.draft(command, "org-a", key_id=key.key_id, params=params)
    assert ledger.log_size() == size


def test_a_draft_for_another_organisations_key_is_refused(city: tuple[Ledger, SigningKey]) -> None:
    ledger, key = city
    with pytest.raises(KeyNotAuthorisedError):
        ledger.draft(
            "register_volunteer", "org-b", key_id=key.key_id, params={"idempotency_key": "x"}
        )


def test_a_draft_signed_by_another_key_is_refused(city: tuple[Ledger, SigningKey]) -> None:
    ledger, key = city
    items = signed(ledger, key, "register_volunteer", idempotency_key="v2")
    wrong = [(items[0][0], b64encode(SigningKey.generate().sign(b"other")))]
    size = ledger.log_size()
    with pytest.raises(SignatureError):
        ledger.submit_signed(wrong)
    assert ledger.log_size() == size


def test_a_draft_overtaken_by_another_write_is_refused(city: tuple[Ledger, SigningKey]) -> None:
    """Two drafts of one aggregate at the same version: the second to arrive is refused."""
    ledger, key = city
    activity = _activity(ledger)
    first = signed(ledger, key, "cancel_activity", idempotency_key="c1", activity_id=activity,
                   reason="rain")  # fmt: skip
    second = signed(ledger, key, "cancel_activity", idempotency_key="c2", activity_id=activity,
                    reason="storm")  # fmt: skip
    ledger.submit_signed(first)
    size = ledger.log_size()
    with pytest.raises((ConcurrencyConflictError, InvalidInputError, RuleViolationError)):
        ledger.submit_signed(second)
    assert ledger.log_size() == size


def _activity(ledger: Ledger) -> str:
    now = datetime.now(UTC)
    made = ledger.publish_activity(
        "org-a", idempotency_key="act", title="t", field="community-governance", place="p",
        starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=1, hours=2),
        leader="leader-01", content="c",
    )  # fmt: skip
    return str(made.value.activity_id)
