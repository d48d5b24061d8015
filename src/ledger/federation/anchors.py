"""A peer's trust anchors, as a ledger pins them in a ``PeerPinned`` event."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError
from ..log.note import parse_verifier_key
from ..log.policy import Policy
from ..signing import VerifyingKey


def peer_anchors(trust: Any, policy: Any = None) -> dict[str, Any]:
    """The ``PeerPinned`` data from a peer's trust file (as ``ledger init --trust-out`` writes
    it) and its witness policy (``{"witnesses": [vkey, ...], "quorum": k}``, given here or in
    the trust file itself). Raises :class:`InvalidInputError` naming what is malformed."""
    if not isinstance(trust, dict):
        raise InvalidInputError("a peer's trust file is a JSON object")
    document = dict(trust)
    if policy is not None:
        if not isinstance(policy, dict) or set(policy) - {"witnesses", "quorum"}:
            raise InvalidInputError('a witness policy is {"witnesses": [...], "quorum": k}')
        document.update(policy)
    origin = _text(document, "origin")
    root_key = _text(document, "root_key")
    VerifyingKey.from_base64(root_key)
    verifiers = document.get("log_verifiers")
    if not isinstance(verifiers, list) or not verifiers:
        raise InvalidInputError("the trust file lists the peer's log_verifiers")
    for text in verifiers:
        if not isinstance(text, str):
            raise InvalidInputError("each log verifier is a verifier key string")
        if parse_verifier_key(text).name != origin:
            raise InvalidInputError(f"log verifier {text!r} is not named {origin!r}")
    witnesses = document.get("witnesses", [])
    if not isinstance(witnesses, list) or not all(isinstance(w, str) for w in witnesses):
        raise InvalidInputError("witnesses is a list of witness vkeys")
    quorum = document.get("quorum", len(witnesses))
    if isinstance(quorum, bool) or not isinstance(quorum, int):
        raise InvalidInputError("quorum is an integer k (k of the listed witnesses)")
    checkpoint_policy({"log_verifiers": verifiers, "witnesses": witnesses, "quorum": quorum})
    return {
        "origin": origin,
        "ledger": _text(document, "ledger"),
        "root_org": _text(document, "root_org"),
        "root_key": root_key,
        "log_verifiers": sorted(verifiers),
        "witnesses": sorted(witnesses),
        "quorum": quorum,
    }


def checkpoint_policy(anchors: dict[str, Any]) -> Policy:
    """The checkpoint policy of pinned anchors: their log keys, witnesses and quorum."""
    return Policy(
        [parse_verifier_key(v) for v in anchors["log_verifiers"]],
        [parse_verifier_key(w) for w in anchors["witnesses"]],
        anchors["quorum"],
    )


def _text(document: dict[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"the peer's trust file has no {name}")
    return value
