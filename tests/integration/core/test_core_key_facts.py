"""Key events written behind the writer's back establish only what their facts say: a key under
the id derived from its public key, and a revocation only of a key of the organisation it names.
The aggregate, the trust directory and the audit agree, and the audit names the broken rule."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from core_support import SQL_STORES, create_city, key_of, volunteer_aggregate_id
from organisation_views import aggregate_view, audit_view, directory_view, replay, write_behind

from ledger import KeyNotAuthorisedError, Ledger, SigningKey
from ledger.audit import StoreSource, audit
from ledger.signing import b64encode

ORGS = ("city", "org-a", "org-b")


def audit_findings(ledger: Ledger, leaf_index: int) -> list[tuple[str, str]]:
    """What an audit of the store finds, all of it at ``leaf_index``: (kind, message) each."""
    report = audit(StoreSource(ledger), workers=1, progress=False)
    elsewhere = [f.line() for f in report.findings if f.leaf_index != leaf_index]
    assert elsewhere == []
    return [(f.kind, f.message) for f in report.findings]


def assert_all_views_agree(ledger: Ledger) -> dict[str, tuple[str, bool]]:
    """The three views of every organisation are equal; return org-a's keys."""
    directory = directory_view(ledger)
    assert aggregate_view(ledger, ORGS) == directory
    state, _ = replay(ledger)
    assert audit_view(state) == (directory, directory)
    return directory["org-a"][1]


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_key_registered_with_a_wrong_key_id_is_known_by_its_derived_id_and_reported(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(store_url_for(kind))
    create_city(ledger)
    new, claimed = SigningKey.generate(), SigningKey.generate().key_id
    event = write_behind(
        ledger,
        event_type="KeyRegistered",
        org="city",
        key=key_of(ledger, "city"),
        about="org-a",
        data={
            "org_id": "org-a",
            "key_id": claimed,
            "public_key": b64encode(new.public_key.raw),
            "purpose": "signing",
        },
        idempotency_key="wrong-claim",
    )
    assert event.leaf_index is not None

    assert audit_findings(ledger, event.leaf_index) == [
        ("rule-violation", f"key_id {claimed} is not the id of that public key ({new.key_id})")
    ]
    keys = assert_all_views_agree(ledger)
    assert keys[new.key_id] == ("signing", False)
    assert claimed not in keys
    ledger.refresh()
    assert ledger.key(new.key_id)["org"] == "org-a"
    assert new.key_id in ledger.organisation("org-a")["keys"]
    assert claimed not in ledger.organisation("org-a")["keys"]
    # The key signs for org-a under its derived id.
    registered = ledger.register_volunteer("org-a", idempotency_key="by-new-key", signer=new)
    volunteer = volunteer_aggregate_id(str(registered.value.number))
    assert ledger.events(volunteer)[0].key_id == new.key_id


@pytest.mark.parametrize("kind", ["memory", *SQL_STORES])
def test_a_revocation_naming_another_organisations_key_changes_nothing_for_that_key(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(store_url_for(kind))
    create_city(ledger)
    org_b_key = key_of(ledger, "org-b")
    before = directory_view(ledger)
    event = write_behind(
        ledger,
        event_type="KeyRevoked",
        org="city",
        key=key_of(ledger, "city"),
        about="org-a",
        data={"org_id": "org-a", "key_id": org_b_key.key_id, "reason": "not org-a's to name"},
        idempotency_key="cross-revocation",
    )
    assert event.leaf_index is not None

    assert audit_findings(ledger, event.leaf_index) == [
        ("rule-violation", f"key {org_b_key.key_id} is not a key of 'org-a'")
    ]
    assert directory_view(ledger) == before
    assert_all_views_agree(ledger)
    ledger.refresh()
    assert ledger.key(org_b_key.key_id)["revoked_at_leaf"] is None
    assert ledger.organisation("org-b")["keys"][org_b_key.key_id]["revoked"] is False
    assert ledger.organisation("org-a")["keys"] == before_keys(before, "org-a")
    ledger.register_volunteer("org-b", idempotency_key="still-signs", signer=org_b_key)


def before_keys(view: dict[str, tuple[object, dict[str, tuple[str, bool]]]], org: str) -> object:
    return {k: {"purpose": p, "revoked": r} for k, (p, r) in sorted(view[org][1].items())}


AGAIN: dict[str, Callable[[SigningKey], dict[str, str]]] = {
    "KeyRevoked": lambda key: {"org_id": "org-a", "key_id": key.key_id, "reason": "again"},
    "KeyRegistered": lambda key: {
        "org_id": "org-a",
        "key_id": key.key_id,
        "public_key": b64encode(key.public_key.raw),
        "purpose": "automatic-awards",  # another purpose: the first registration's stands
    },
}


@pytest.mark.parametrize("event_type", sorted(AGAIN))
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_revoked_key_revoked_or_registered_again_behind_the_rules_keeps_its_first_window(
    kind: str,
    event_type: str,
    store_url_for: Callable[[str], str],
    open_ledger: Callable[..., Ledger],
) -> None:
    ledger = open_ledger(store_url_for(kind))
    create_city(ledger)
    stolen = key_of(ledger, "org-a")
    ledger.new_key("city", for_org="org-a", idempotency_key="org-a-key-2")
    ledger.revoke_key(
        "city", for_org="org-a", key_id=stolen.key_id, reason="stolen", idempotency_key="rv"
    )
    first = ledger.key(stolen.key_id)
    event = write_behind(
        ledger,
        event_type=event_type,
        org="city",
        key=key_of(ledger, "city"),
        about="org-a",
        data=AGAIN[event_type](stolen),
        idempotency_key="again",
    )
    assert event.leaf_index is not None
    ledger.refresh()
    assert ledger.key(stolen.key_id) == first  # registered and revoked at the same leaves
    assert first["revoked_reason"] == "stolen"
    assert assert_all_views_agree(ledger)[stolen.key_id] == ("signing", True)
    with pytest.raises(KeyNotAuthorisedError):
        ledger.register_volunteer("org-a", idempotency_key="stolen-signs", signer=stolen)
    assert [kind for kind, _ in audit_findings(ledger, event.leaf_index)] == ["rule-violation"]
