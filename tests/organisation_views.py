"""Helpers for the organisation-facts tests (imported by name; not a test module).

:func:`write_behind` stores a hand-signed event straight through the recorder, bypassing the
writer's rules, as the operator's own database access could. :func:`aggregate_view`,
:func:`directory_view` and :func:`audit_view` read the organisations and keys as the
``Organisation`` aggregates, the trust directory and the audit's replay see them, in one shape,
so a test can ask that all three agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ledger_testing import insert_behind, outside_body

from ledger import Ledger, NotFoundError, SignedEvent, SigningKey
from ledger.audit.findings import Finding
from ledger.audit.replay import Replay, ReplayState
from ledger.audit.signatures import SignatureChecker
from ledger.audit.sources import StoreSource
from ledger.model.aggregates import Organisation
from ledger.model.ids import organisation_aggregate_id
from ledger.trust import TrustDirectory

# organisation -> ((name, kind, region, parent), {key_id: (purpose, revoked)})
View = dict[str, tuple[tuple[str, str, str, str | None], dict[str, tuple[str, bool]]]]


def write_behind(
    ledger: Ledger,
    *,
    event_type: str,
    org: str,
    key: SigningKey,
    about: str,
    data: dict[str, Any],
    idempotency_key: str,
) -> SignedEvent:
    """Sign an event of ``org`` with ``key`` for ``about``'s organisation aggregate by hand and
    insert it, logged, behind the writer's back; return it as stored."""
    body = outside_body(
        ledger,
        event_type=event_type,
        org=org,
        key=key,
        aggregate_id=organisation_aggregate_id(about),
        data=data,
        idempotency_key=idempotency_key,
    )
    insert_behind(ledger, body, key)
    ledger._directory.mark_stale()
    return ledger.event_at(ledger.log_size() - 1)


def trust_view(directory: TrustDirectory) -> View:
    """The organisations and keys ``directory`` holds."""
    view: View = {}
    for org in directory.organisations.values():
        keys = {
            k.key_id: (k.purpose, k.revoked_at is not None)
            for k in directory.keys.values()
            if k.org_id == org.org_id
        }
        view[org.org_id] = ((org.name, org.kind, org.region, org.parent), keys)
    return view


def _of_aggregate(state: Organisation) -> tuple[tuple[str, str, str, str | None], Any]:
    keys = {k: (purpose, k in state.revoked) for k, purpose in state.keys.items()}
    return (state.name, state.org_kind, state.region, state.parent), keys


def directory_view(ledger: Ledger) -> View:
    """The organisations and keys a trust directory reading the store from the start holds."""
    directory = TrustDirectory(
        ledger._recorder.select_notifications, ledger._recorder.select_notifications_to_newest
    )
    directory.refresh()
    return trust_view(directory)


def aggregate_view(ledger: Ledger, orgs: Iterable[str]) -> View:
    """Each of ``orgs`` that is registered, as its ``Organisation`` aggregate's events fold."""
    view: View = {}
    for org in orgs:
        try:
            described = ledger.organisation(org)
        except NotFoundError:
            continue
        keys = {k: (v["purpose"], v["revoked"]) for k, v in described["keys"].items()}
        identity = (described["name"], described["kind"], described["region"], described["parent"])
        view[org] = (identity, keys)
    return view


def replay(ledger: Ledger) -> tuple[ReplayState, list[Finding]]:
    """The audit's replay of the whole store, and what it found (signatures are not checked)."""
    state, findings = ReplayState(), []
    checker = SignatureChecker(1)
    try:
        audit = Replay(state, findings.append, checker, None)
        for leaf in StoreSource(ledger).leaves(0):
            audit.leaf(leaf)
        audit.finish()
    finally:
        checker.close()
    return state, findings


def audit_view(state: ReplayState) -> tuple[View, View]:
    """The audit's organisations and keys: as its trust directory holds them, and as the
    ``Organisation`` aggregates it replayed hold them."""
    aggregates: View = {
        aggregate.org_id: _of_aggregate(aggregate)
        for aggregate in state.states.values()
        if isinstance(aggregate, Organisation) and aggregate.exists
    }
    return trust_view(state.directory), aggregates
