"""[architecture] The facts organisation and key events establish, as pure functions of the event
data: a key's id is derived from its public key, and a revocation holds only for a key of the
organisation it names."""

from __future__ import annotations

import pytest
from test_rules_on_a_fake_port import TREE, FakePort
from test_signing_authority import KEY_IDS, Directory

from ledger.errors import InvalidInputError, RuleViolationError
from ledger.model import organisation_facts as facts
from ledger.model.aggregates import Organisation
from ledger.model.ids import organisation_aggregate_id
from ledger.model.registry import Draft, spec_for
from ledger.signing import SigningKey

KEY = SigningKey.generate().public_key
OTHER = SigningKey.generate().public_key


def test_a_registered_key_is_known_by_the_id_of_its_public_key_whatever_the_event_claims() -> None:
    claimed = facts.key_registered(
        {"org_id": "org-a", "key_id": OTHER.key_id, "public_key": KEY.to_base64()}
    )
    assert (claimed.key_id, claimed.org_id, claimed.public_key) == (KEY.key_id, "org-a", KEY)
    assert claimed.purpose == "signing"
    assert not claimed.claim_matches
    assert (
        claimed.mismatch()
        == f"key_id {OTHER.key_id} is not the id of that public key ({KEY.key_id})"
    )
    honest = facts.key_registered(
        {
            "org_id": "org-a",
            "key_id": KEY.key_id,
            "public_key": KEY.to_base64(),
            "purpose": "automatic-awards",
        }
    )
    assert honest.claim_matches and honest.purpose == "automatic-awards"


def test_a_public_key_that_is_not_one_is_refused_with_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="32 bytes"):
        facts.key_registered({"org_id": "org-a", "key_id": KEY.key_id, "public_key": "AAAA"})
    with pytest.raises(InvalidInputError, match="base64"):
        facts.log_key_added({"key_id": KEY.key_id, "public_key": "not base64!"})


def test_a_revocation_holds_only_for_a_key_of_the_organisation_it_names() -> None:
    data = {"org_id": "org-a", "key_id": KEY.key_id, "reason": "lost"}
    assert facts.key_revoked(data, "org-a") == facts.RevokedKey(KEY.key_id, "org-a", "lost")
    assert facts.key_revoked(data, "org-b") is None
    assert facts.key_revoked(data, None) is None


def test_the_genesis_establishes_the_root_its_signing_key_and_the_first_log_key() -> None:
    genesis = facts.ledger_created(
        {
            "name": "A city",
            "origin": "city.example/log",
            "root": {"org_id": "city", "name": "City", "kind": "federation", "region": "140400"},
            "root_key": KEY.to_base64(),
            "log_key": OTHER.to_base64(),
        }
    )
    assert genesis.root == facts.RegisteredOrganisation(
        "city", "City", "federation", "140400", None
    )
    assert (genesis.root_key.key_id, genesis.root_key.org_id) == (KEY.key_id, "city")
    assert genesis.root_key.purpose == "signing" and genesis.root_key.claim_matches
    assert (genesis.log_key.key_id, genesis.log_key.public_key) == (OTHER.key_id, OTHER)
    assert (genesis.ledger_name, genesis.origin) == ("A city", "city.example/log")


def test_an_organisation_is_registered_under_its_parent() -> None:
    registered = facts.organisation_registered(
        {"org_id": "org-a", "name": "A", "kind": "team", "region": "140402", "parent": "city"}
    )
    assert registered == facts.RegisteredOrganisation("org-a", "A", "team", "140402", "city")


def test_only_a_log_key_in_use_is_retired() -> None:
    data = {"key_id": KEY.key_id, "reason": "rotated"}
    assert facts.log_key_retired(data, {KEY.key_id}) == facts.RetiredLogKey(KEY.key_id, "rotated")
    assert facts.log_key_retired(data, {OTHER.key_id}) is None
    added = facts.log_key_added({"key_id": OTHER.key_id, "public_key": KEY.to_base64()})
    assert added.key_id == KEY.key_id and not added.claim_matches


def _check(
    event_type: str, aggregate_of: str, data: dict[str, object], signer: str = "city"
) -> None:
    """Run the rule for ``event_type``, signed by ``signer``, in ``aggregate_of``'s aggregate."""
    org = Organisation(organisation_aggregate_id(aggregate_of), version=1, org_id=aggregate_of)
    org.parent, org.keys = TREE[aggregate_of], {KEY_IDS[aggregate_of]: "signing"}
    port = FakePort(signer, [org])
    port.directory = Directory()
    draft = Draft(event_type, signer, org.aggregate_id, 2, data, port.occurred_at)
    spec = spec_for(event_type)
    spec.check(port, draft, spec.parse(data))


def test_the_rules_refuse_what_the_facts_would_not_establish() -> None:
    with pytest.raises(RuleViolationError, match="is not a key of 'team-a'"):
        _check(
            "KeyRevoked", "team-a", {"org_id": "team-a", "key_id": KEY_IDS["team-b"], "reason": "x"}
        )
    with pytest.raises(InvalidInputError, match="another organisation than the aggregate"):
        _check(
            "KeyRevoked", "team-a", {"org_id": "team-b", "key_id": KEY_IDS["team-b"], "reason": "x"}
        )
    wrong = {"org_id": "team-a", "key_id": OTHER.key_id, "public_key": KEY.to_base64()}
    with pytest.raises(InvalidInputError, match=f"key_id {OTHER.key_id} is not the id"):
        _check("KeyRegistered", "team-a", wrong, signer="district")
    _check("KeyRevoked", "team-a", {"org_id": "team-a", "key_id": KEY_IDS["team-a"], "reason": "x"})
