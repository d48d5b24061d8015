"""For any sequence of organisation and key events (commands, refused ones, and events written
behind the writer's back with a wrong key id or revoking another organisation's key), the
``Organisation`` aggregates, the trust directory and the audit's replay hold the same
organisations and keys: each reads the events through ``ledger.model.organisation_facts``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from organisation_views import (
    aggregate_view,
    audit_view,
    directory_view,
    replay,
    trust_view,
    write_behind,
)
from postgres_testing import fresh_schema

from ledger import Ledger, LedgerError, MemoryKeystore, SigningKey
from ledger.signing import b64encode

KINDS = ("organisation", "team", "station")
index = st.integers(min_value=0, max_value=50)
STEP = st.one_of(
    st.tuples(st.just("organisation"), index, st.sampled_from(KINDS)),
    st.tuples(st.just("key"), index, index, st.sampled_from(("signing", "automatic-awards"))),
    st.tuples(st.just("revoke"), index, index, index),
    st.tuples(st.just("add-log-key")),
    st.tuples(st.just("retire-log-key"), index),
    st.tuples(st.just("wrong-key-id"), index),
    st.tuples(st.just("revoke-another-organisations-key"), index, index),
)
HISTORY = st.lists(STEP, min_size=1, max_size=14)


class History:
    """Runs steps against a ledger; remembers every organisation id it tried."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.tried = ["city"]
        ledger.create(
            name="Organisation views",
            root_org_id="city",
            root_name="City Volunteer Federation",
            region="140400",
            origin="ledger.test.example/log",
        )

    def registered(self) -> list[str]:
        self.ledger.refresh()
        return sorted(self.ledger._directory.organisations)

    def step(self, n: int, step: tuple[Any, ...]) -> None:
        ledger, orgs = self.ledger, self.registered()
        kind, *args = step
        try:
            if kind == "organisation":
                org_id = f"org-{n}"
                self.tried.append(org_id)
                ledger.register_organisation(
                    orgs[args[0] % len(orgs)],
                    org_id=org_id,
                    name=f"Organisation {n}",
                    kind=args[1],
                    region="140401",
                    idempotency_key=f"step-{n}",
                )
            elif kind == "key":
                ledger.new_key(
                    orgs[args[0] % len(orgs)],
                    for_org=orgs[args[1] % len(orgs)],
                    purpose=args[2],
                    idempotency_key=f"step-{n}",
                )
            elif kind == "revoke":
                keys = sorted(ledger._directory.keys)
                ledger.revoke_key(
                    orgs[args[0] % len(orgs)],
                    for_org=orgs[args[1] % len(orgs)],
                    key_id=keys[args[2] % len(keys)],
                    reason="lost",
                    idempotency_key=f"step-{n}",
                )
            elif kind == "add-log-key":
                ledger.add_log_key("city", idempotency_key=f"step-{n}")
            elif kind == "retire-log-key":
                log_keys = sorted(ledger._directory.require_ledger().log_keys)
                ledger.retire_log_key(
                    "city",
                    key_id=log_keys[args[0] % len(log_keys)],
                    reason="rotated",
                    idempotency_key=f"step-{n}",
                )
            elif kind == "wrong-key-id":
                self._wrong_key_id(n, orgs[args[0] % len(orgs)])
            else:
                self._revoke_another(n, orgs[args[0] % len(orgs)], args[1])
        except LedgerError:
            pass  # refused: it changes nothing, which the views' agreement checks too

    def _wrong_key_id(self, n: int, org: str) -> None:
        """A KeyRegistered for ``org`` whose claimed key id is another key's."""
        directory = self.ledger._directory
        signer = directory.organisation(org).parent or org
        new = SigningKey.generate()
        write_behind(
            self.ledger,
            event_type="KeyRegistered",
            org=signer,
            key=self._held(signer),
            about=org,
            data={
                "org_id": org,
                "key_id": SigningKey.generate().key_id,
                "public_key": b64encode(new.public_key.raw),
                "purpose": "signing",
            },
            idempotency_key=f"step-{n}",
        )

    def _revoke_another(self, n: int, org: str, pick: int) -> None:
        """A KeyRevoked naming ``org`` and a key of another organisation, signed by the root."""
        others = sorted(k for k, info in self.ledger._directory.keys.items() if info.org_id != org)
        if not others:
            return
        write_behind(
            self.ledger,
            event_type="KeyRevoked",
            org="city",
            key=self._held("city"),
            about=org,
            data={"org_id": org, "key_id": others[pick % len(others)], "reason": "not theirs"},
            idempotency_key=f"step-{n}",
        )

    def _held(self, org: str) -> SigningKey:
        signer = self.ledger.signer_for(org)  # raises (a LedgerError) when it holds none valid
        assert isinstance(signer, SigningKey)
        return signer


def assert_the_views_agree(ledger: Ledger, tried: list[str]) -> None:
    directory = directory_view(ledger)
    assert directory["city"][0] == ("City Volunteer Federation", "federation", "140400", None)
    ledger.refresh()
    followed = ledger._directory
    assert trust_view(followed) == directory
    assert aggregate_view(ledger, tried) == directory
    state, _ = replay(ledger)
    assert audit_view(state) == (directory, directory)
    ledger_info = followed.require_ledger()
    assert set(state.log_keys) == set(ledger_info.log_keys) | set(ledger_info.retired_log_keys)


def run(ledger: Ledger, history: list[tuple[Any, ...]]) -> None:
    steps = History(ledger)
    for n, step in enumerate(history):
        steps.step(n, step)
    assert_the_views_agree(ledger, steps.tried)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HISTORY)
def test_in_memory_the_aggregate_directory_and_audit_agree(history: list[tuple[Any, ...]]) -> None:
    with Ledger("memory://", keystore=MemoryKeystore()) as ledger:
        run(ledger, history)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HISTORY)
def test_in_sqlite_the_aggregate_directory_and_audit_agree(history: list[tuple[Any, ...]]) -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        Ledger(f"sqlite:///{Path(folder) / 'ledger.db'}", keystore=MemoryKeystore()) as ledger,
    ):
        run(ledger, history)


@pytest.mark.postgres
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HISTORY)
def test_in_postgresql_the_aggregate_directory_and_audit_agree(
    history: list[tuple[Any, ...]],
) -> None:
    with fresh_schema("t_views_") as url, Ledger(url, keystore=MemoryKeystore()) as ledger:
        run(ledger, history)
