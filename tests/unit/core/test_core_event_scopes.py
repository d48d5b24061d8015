"""Every event type a body may carry to ``POST /events`` needs a scope, so a new event type
cannot slip past the scopes unnoticed."""

from __future__ import annotations

import ledger  # noqa: F401  (registers the event types)
from ledger.apikeys import SCOPES
from ledger.model.registry import EVENT_SPECS
from ledger_api.scopes import EVENT_SCOPES, NOT_SUBMITTABLE


def test_every_event_type_names_a_known_scope_or_is_not_submittable() -> None:
    assert set(EVENT_SPECS) == set(EVENT_SCOPES) | NOT_SUBMITTABLE
    assert set(EVENT_SCOPES.values()) <= SCOPES
