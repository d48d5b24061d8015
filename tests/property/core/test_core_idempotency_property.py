"""Idempotent retries never create a second event, in any order and with any reuse of keys."""

from __future__ import annotations

from typing import Any

from core_property_support import open_city
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import CommandResult, IdempotencyConflictError, Ledger

KEYS = ("k1", "k2", "k3", "k4")
ORGS = ("org-a", "org-b")
# Commands that the rules always accept, so that only the idempotency key decides the outcome.
COMMAND = st.tuples(
    st.sampled_from(ORGS),
    st.sampled_from(KEYS),
    st.sampled_from(["register", "give", "withdraw"]),
    st.sampled_from(["certificate-name", "public-listing"]),
)


def execute(ledger: Ledger, numbers: dict[str, str], command: tuple[str, ...]) -> CommandResult:
    org, key, kind, purpose = command
    if kind == "register":
        return ledger.register_volunteer(org, idempotency_key=key)
    method = ledger.give_consent if kind == "give" else ledger.withdraw_consent
    return method(org, number=numbers[org], purpose=purpose, idempotency_key=key)


def content(command: tuple[str, ...]) -> tuple[str, ...]:
    org, _, kind, purpose = command
    return (org, kind) if kind == "register" else (org, kind, purpose)


@settings(max_examples=30, deadline=None)
@given(st.lists(COMMAND, min_size=1, max_size=25))
def test_idempotent_retries_never_create_a_second_event(commands: list[tuple[str, ...]]) -> None:
    with open_city("memory://") as ledger:
        numbers = {
            org: str(ledger.register_volunteer(org, idempotency_key="setup").value.number)
            for org in ORGS
        }
        claimed: dict[tuple[str, str], tuple[tuple[str, ...], CommandResult]] = {}
        for command in commands:
            org, key = command[0], command[1]
            size = ledger.log_size()
            first = claimed.get((org, key))
            if first is None:
                result = execute(ledger, numbers, command)
                assert not result.replayed
                assert ledger.log_size() == size + 1
                claimed[(org, key)] = (content(command), result)
            elif first[0] == content(command):
                result = execute(ledger, numbers, command)
                assert result.replayed
                assert result.events == first[1].events
                assert result.value == first[1].value
                assert ledger.log_size() == size
            else:
                try:
                    execute(ledger, numbers, command)
                except IdempotencyConflictError as error:
                    assert key in str(error)
                else:
                    raise AssertionError(f"{key} reused for other content was accepted")
                assert ledger.log_size() == size

        # Each claimed key names exactly one stored event, and no event is unaccounted for.
        seen: dict[tuple[str, str], int] = {}
        for leaf in range(ledger.log_size()):
            body: dict[str, Any] = ledger.event_at(leaf).body
            pair = (body["org"], body["idempotency_key"])
            seen[pair] = seen.get(pair, 0) + 1
        for pair in claimed:
            assert seen[pair] == 1, pair
        assert ledger.log_size() == 5 + len(ORGS) + len(claimed)
