"""Property: any single change to a certificate's ``credentialSubject`` (a value replaced, a
member removed or added, at any depth) makes the package fail verification; re-signing the
changed credential with the issuer's own key does not help, since the log committed to the
credential that was issued."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_certificates_town import Town, build_town, resign

from ledger import Ledger, MemoryKeystore
from ledger.certificates import verify_package

Path = tuple[str, ...]

TEXT = st.characters(exclude_categories=["Cs"])  # no lone surrogates: JSON text is Unicode
JSON_SCALARS = (
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(TEXT, max_size=12)
    | st.booleans()
    | st.none()
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(TEXT, max_size=6), inner, max_size=3)
    ),
    max_leaves=5,
)


@cache
def issued() -> tuple[Town, dict[str, Any]]:
    """One town and one issued certificate's package, for every example (read-only)."""
    ledger = Ledger("memory://", keystore=MemoryKeystore())
    town = build_town(ledger)
    town.consent()
    return town, town.package(town.issue(masked_name=True))


def members(value: Any, path: Path = ()) -> list[Path]:
    """Every member path below ``value`` (objects only; lists are values)."""
    found: list[Path] = []
    if isinstance(value, dict):
        for name, inner in value.items():
            found.append((*path, name))
            found += members(inner, (*path, name))
    return found


def objects(value: Any, path: Path = ()) -> list[Path]:
    """Every object path (where a member could be added), the subject itself first."""
    found = [path] if isinstance(value, dict) else []
    if isinstance(value, dict):
        for name, inner in value.items():
            found += objects(inner, (*path, name))
    return found


def at(document: dict[str, Any], path: Path) -> Any:
    for name in path:
        document = document[name]
    return document


@st.composite
def single_changes(draw: st.DrawFn) -> tuple[str, Path, Any]:
    _, package = issued()
    subject = package["credential"]["credentialSubject"]
    kind = draw(st.sampled_from(["replace", "remove", "add"]))
    if kind == "add":
        where = draw(st.sampled_from(objects(subject)))
        name = draw(st.text(min_size=1, max_size=8).filter(lambda n: n not in at(subject, where)))
        return kind, (*where, name), draw(JSON_VALUES)
    path = draw(st.sampled_from(members(subject)))
    if kind == "remove":
        return kind, path, None
    old = at(subject, path)
    new = draw(JSON_VALUES.filter(lambda v: v != old or type(v) is not type(old)))
    return kind, path, new


def changed(package: dict[str, Any], change: tuple[str, Path, Any]) -> dict[str, Any]:
    kind, path, value = change
    package = copy.deepcopy(package)
    parent = at(package["credential"]["credentialSubject"], path[:-1])
    if kind == "remove":
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return package


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(single_changes())
def test_any_single_change_to_the_subject_fails_verification(
    change: tuple[str, Path, Any],
) -> None:
    town, package = issued()
    assert verify_package(package, town.log_keys).valid
    tampered = changed(package, change)
    verdict = verify_package(tampered, town.log_keys)
    assert not verdict.valid, change
    assert verdict.reason.startswith("the credential's signature does not verify"), verdict.reason

    resigned = dict(
        tampered, credential=resign(tampered["credential"], town.ledger.signer_for("org-a"))
    )
    verdict = verify_package(resigned, town.log_keys)
    assert not verdict.valid, change
    assert verdict.reason == (
        "the credential differs from the one the ledger logged (content changed)"
    )
