"""[federation] The verifier and the anchors on their own: malformed trust files and packages
get a clear refusal (never a crash), and the summary is a pure function of the events."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from federation_support import make_city

from ledger import SigningKey
from ledger.errors import InvalidInputError
from ledger.federation import (
    PackageRefusedError,
    peer_anchors,
    summarise,
    summary_digest,
    verify_package,
)
from ledger.log.note import NoteVerifier
from ledger.log.witness import Witness

Valid = tuple[dict[str, Any], dict[str, Any], str]


@pytest.fixture(scope="module")
def valid() -> Iterator[Valid]:
    alpha, beta = make_city("memory://", "alpha"), make_city("memory://", "beta")
    try:
        beta.ledger.add_peer("beta", trust=alpha.trust(quorum=1), idempotency_key="pin")
        alpha.ledger.add_peer("alpha", trust=beta.trust(), idempotency_key="pin")
        number = alpha.volunteer()
        alpha.approved(number, 40)
        out = alpha.ledger.transfer_out(
            "org-a", number=number, to_origin=beta.origin, idempotency_key="out"
        )
        yield (
            alpha.package(out.value.transfer_id, 1),
            beta.ledger.peer(alpha.origin),
            beta.origin,
        )
    finally:
        alpha.ledger.close()
        beta.ledger.close()


TRUST = {
    "ledger": "A ledger",
    "origin": "a.example/ledger",
    "root_org": "a",
    "root_key": SigningKey.generate().public_key.to_base64(),
}


def _trust(**changes: Any) -> dict[str, Any]:
    log = NoteVerifier.for_key("a.example/ledger", SigningKey.generate().public_key)
    return {**TRUST, "log_verifiers": [log.key_string], **changes}


def test_anchors_keep_the_trust_file_and_the_witness_policy() -> None:
    witness = Witness("w.example", SigningKey.generate()).key_string
    anchors = peer_anchors(_trust(), {"witnesses": [witness], "quorum": 1})
    assert anchors["origin"] == "a.example/ledger" and anchors["witnesses"] == [witness]
    assert anchors["quorum"] == 1
    assert peer_anchors(_trust())["quorum"] == 0  # no witnesses, no quorum


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"origin": None}, "no origin"),
        ({"root_key": "not base64!"}, "base64"),
        ({"log_verifiers": []}, "log_verifiers"),
        ({"log_verifiers": ["b.example/ledger+00000000+AQ=="]}, "32-byte Ed25519 key"),
        (
            {
                "log_verifiers": [
                    NoteVerifier.for_key("b.example/l", SigningKey.generate().public_key).key_string
                ]
            },
            "is not named",
        ),
        ({"witnesses": "w"}, "witnesses"),
        ({"quorum": True}, "quorum"),
        ({"quorum": 1}, "quorum"),
    ],
)
def test_a_malformed_trust_file_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        peer_anchors(_trust(**changes))


def test_a_policy_with_other_members_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="witness policy"):
        peer_anchors(_trust(), {"witnesses": [], "quorum": 0, "root_key": "x"})


def test_the_valid_package_verifies(valid: Valid) -> None:
    package, anchors, here = valid
    verified = verify_package(package, anchors=anchors, here_origin=here)
    assert (verified.records, verified.approved_minutes) == (1, 40)
    assert verified.origin == anchors["origin"]


def _drop(key: str) -> Any:
    return lambda p: p.pop(key)


MALFORMED: dict[str, Any] = {
    "not an object": lambda p: [p],
    "wrong format": lambda p: {**p, "format": "other/v1"},
    "no checkpoint": lambda p: {k: v for k, v in p.items() if k != "checkpoint"},
    "service not a list": lambda p: {**p, "service": {}},
    "entry with an extra member": lambda p: {
        **p,
        "transfer_out": {**p["transfer_out"], "extra": 1},
    },
    "a leaf twice": lambda p: {**p, "service": [*p["service"], p["service"][0]]},
    "leaf index a string": lambda p: {
        **p,
        "transfer_out": {**p["transfer_out"], "leaf_index": "3"},
    },
    "proof not base64": lambda p: {**p, "transfer_out": {**p["transfer_out"], "proof": ["%"]}},
    "entry not JSON": lambda p: {**p, "transfer_out": {**p["transfer_out"], "entry": "{"}},
    "no key evidence": lambda p: {**p, "keys": []},
    "another origin": lambda p: {**p, "origin": "b.example/ledger"},
    "other transfer id": lambda p: {**p, "transfer_id": "00000000-0000-0000-0000-000000000000"},
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_package_is_refused_clearly(valid: Valid, case: str) -> None:
    package, anchors, here = valid
    changed = MALFORMED[case](copy.deepcopy(package))
    with pytest.raises(PackageRefusedError, match="transfer package refused"):
        verify_package(changed, anchors=anchors, here_origin=here)


def test_the_summary_depends_on_every_event(valid: Valid) -> None:
    package, _, _ = valid
    summary = package["summary"]
    assert summary_digest(summary) == summary_digest(copy.deepcopy(summary))
    assert set(summary["key_evidence"]) == {"alpha", "org-a"}  # the signer and the root
    empty = summarise(
        number=summary["number"],
        transfer_id=summary["transfer_id"],
        from_origin=summary["from_origin"],
        to_origin=summary["to_origin"],
        events=[],
        key_evidence=summary["key_evidence"],
    )
    assert empty["approved_minutes"] == 0 and empty["records"] == []
    assert summary_digest(empty) != summary_digest(summary)
