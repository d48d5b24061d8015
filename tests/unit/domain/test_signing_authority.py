"""[architecture] Each signing-authority rule is written once: the rule that refuses a command
and the trust directory that refuses a stored event give the same answer for every signer."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_rules_on_a_fake_port import TREE, FakeDirectory, FakePort

from ledger.errors import KeyNotAuthorisedError
from ledger.model.aggregates import Organisation
from ledger.model.ids import organisation_aggregate_id
from ledger.model.registry import Draft, spec_for
from ledger.model.signing_authority import ROOT_ONLY_EVENTS, may_sign
from ledger.signing import SigningKey
from ledger.trust import KeyInfo, LedgerInfo, OrganisationInfo

ORGS = sorted(TREE)
KEY = SigningKey.generate().public_key
KEY_IDS = {o: f"{n:032x}" for n, o in enumerate(ORGS, start=1)}


class Directory(FakeDirectory):
    """The tree's organisations, one key of each, and the city as root."""

    ledger = LedgerInfo("A city", "140400", "city", "city.example/log")

    def __init__(self) -> None:
        self.organisations = {
            o: OrganisationInfo(o, o, "organisation", "140400", p, 1) for o, p in TREE.items()
        }
        self.keys = {KEY_IDS[o]: KeyInfo(KEY_IDS[o], o, KEY, "signing", 1) for o in TREE}


def _refused_by_the_rule(signer: str, event_type: str, owner: str, data: dict[str, Any]) -> bool:
    org = Organisation(organisation_aggregate_id(owner), version=1, org_id=owner)
    org.parent, org.keys = TREE[owner], {KEY_IDS[owner]: "signing"}
    port = FakePort(signer, [org])
    port.directory = Directory()
    spec = spec_for(event_type)
    draft = Draft(event_type, signer, org.aggregate_id, 2, data, port.occurred_at)
    try:
        spec.check(port, draft, spec.parse(data))
    except KeyNotAuthorisedError:
        return True
    return False


@given(signer=st.sampled_from(ORGS), owner=st.sampled_from(ORGS))
def test_revoking_a_key_the_rule_and_the_directory_agree(signer: str, owner: str) -> None:
    data = {"org_id": owner, "key_id": KEY_IDS[owner], "reason": "lost"}
    allowed = may_sign(Directory(), "KeyRevoked", signer, data)
    assert allowed != _refused_by_the_rule(signer, "KeyRevoked", owner, data)
    assert allowed == (signer == owner or signer in Directory().ancestors(owner))


@given(signer=st.sampled_from(ORGS), owner=st.sampled_from(ORGS))
def test_registering_a_key_the_rule_and_the_directory_agree(signer: str, owner: str) -> None:
    fresh = SigningKey.generate().public_key
    data = {"org_id": owner, "key_id": fresh.key_id, "public_key": fresh.to_base64()}
    allowed = may_sign(Directory(), "KeyRegistered", signer, data)
    assert allowed != _refused_by_the_rule(signer, "KeyRegistered", owner, data)
    assert allowed == (signer in (owner, TREE[owner]))


@pytest.mark.parametrize("kind", sorted(ROOT_ONLY_EVENTS))
@pytest.mark.parametrize("signer", ORGS)
def test_ledger_wide_events_are_the_roots_alone(kind: str, signer: str) -> None:
    assert may_sign(Directory(), kind, signer, {}) == (signer == "city")


def test_an_organisation_is_registered_by_its_parent_only() -> None:
    for signer in ORGS:
        data = {"parent": "district"}
        assert may_sign(Directory(), "OrganisationRegistered", signer, data) == (
            signer == "district"
        )
