"""Properties: any credential subject signs and verifies, and any single change to it is caught."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from credential_vectors import sign
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import MAX_SAFE_INTEGER, canonical_json
from ledger.credentials import verify_proof
from ledger.errors import SignatureError
from ledger.signing import SigningKey

KEY = SigningKey.from_private_bytes(b"\x07" * 32)
CREDENTIAL: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "type": ["VerifiableCredential"],
    "issuer": "did:example:organisation",
    "validFrom": "2025-03-05T00:00:00Z",
}

scalars = (
    st.text(max_size=20)
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.booleans()
    | st.none()
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
subjects = st.dictionaries(st.text(max_size=10), json_values, min_size=1, max_size=5)


def credential_about(subject: dict[str, Any]) -> dict[str, Any]:
    return {**CREDENTIAL, "credentialSubject": subject}


def locations(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside ``value`` that a single edit can touch (object keys, list items)."""
    found = [path]
    if isinstance(value, dict):
        children: list[tuple[Any, Any]] = list(value.items())
    else:
        children = list(enumerate(value)) if isinstance(value, list) else []
    for key, child in children:
        found.extend(locations(child, (*path, key)))
    return found


@st.composite
def subject_and_single_change(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A subject and a copy of it with exactly one value replaced, removed or added."""
    subject = draw(subjects)
    changed = copy.deepcopy(subject)
    path = draw(st.sampled_from(locations(changed)))
    parent: Any = changed
    for key in path[:-1]:
        parent = parent[key]
    target = parent[path[-1]] if path else changed
    edit = draw(st.sampled_from(["replace", "remove", "add"] if path else ["add"]))
    if edit == "add" and isinstance(target, dict | list):
        new_value = draw(json_values)
        if isinstance(target, list):
            target.insert(draw(st.integers(0, len(target))), new_value)
        else:
            target[draw(st.text(max_size=10).filter(lambda k: k not in target))] = new_value
    elif edit == "remove":
        del parent[path[-1]]
    else:
        old = canonical_json(parent[path[-1]])
        parent[path[-1]] = draw(json_values.filter(lambda v: canonical_json(v) != old))
    return subject, changed


@settings(max_examples=60, deadline=None)
@given(subjects)
def test_any_subject_signs_and_verifies(subject: dict[str, Any]) -> None:
    verify_proof(sign(credential_about(subject), KEY))


@settings(max_examples=150, deadline=None)
@given(subject_and_single_change())
def test_any_single_change_to_the_subject_is_caught(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    subject, changed = pair
    assert canonical_json(changed) != canonical_json(subject)
    secured = sign(credential_about(subject), KEY)
    secured["credentialSubject"] = changed
    with pytest.raises(SignatureError):
        verify_proof(secured)
