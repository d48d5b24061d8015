"""[federation] Any single change to one value of a valid transfer package (a number, a
character of a text, a boolean) is refused by the receiver's verifier: every byte of it is
bound by a signature, an inclusion proof, the cosigned checkpoint or the signed summary."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from federation_support import make_city
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.federation import PackageRefusedError, verify_package

Path_ = tuple[Any, ...]


@pytest.fixture(scope="module")
def valid() -> Iterator[tuple[dict[str, Any], dict[str, Any], str]]:
    alpha, beta = make_city("memory://", "alpha"), make_city("memory://", "beta")
    try:
        beta.ledger.add_peer("beta", trust=alpha.trust(quorum=2), idempotency_key="pin")
        alpha.ledger.add_peer("alpha", trust=beta.trust(), idempotency_key="pin")
        number = alpha.volunteer()
        alpha.approved(number, 50)
        alpha.approved(number, 70, org="org-b", day=2)
        out = alpha.ledger.transfer_out(
            "org-a", number=number, to_origin=beta.origin, idempotency_key="out"
        )
        # exactly the quorum of cosignatures, so that breaking any one of them breaks it
        package = alpha.package(out.value.transfer_id, witnesses=2)
        anchors = beta.ledger.peer(alpha.origin)
        yield package, anchors, beta.origin
    finally:
        alpha.ledger.close()
        beta.ledger.close()


def leaves(value: Any, path: Path_ = ()) -> list[Path_]:
    if isinstance(value, dict):
        return [p for key in sorted(value) for p in leaves(value[key], (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in leaves(item, (*path, index))]
    return [path]


def mutate(value: Any, choice: int) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + (choice % 7) + 1 if choice % 2 else value - (choice % 7) - 1
    assert isinstance(value, str)
    if not value or choice % 3 == 0:
        return value + "A"
    index = choice % max(1, len(value) - 3)  # not the base64 padding bits at the very end
    replacement = "B" if value[index] != "B" else "C"
    return value[:index] + replacement + value[index + 1 :]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_single_value_changed_is_refused(
    valid: tuple[dict[str, Any], dict[str, Any], str], data: st.DataObject
) -> None:
    package, anchors, here = valid
    assert verify_package(package, anchors=anchors, here_origin=here).approved_minutes == 120
    paths = leaves(package)
    path = data.draw(st.sampled_from(paths))
    choice = data.draw(st.integers(min_value=0, max_value=10_000))
    changed = copy.deepcopy(package)
    holder = changed
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = mutate(holder[path[-1]], choice)
    with pytest.raises(PackageRefusedError):
        verify_package(changed, anchors=anchors, here_origin=here)
