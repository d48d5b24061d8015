"""No stored body stops the audit.

For any event of a demo city's log and any field of its body or of its data, set to any JSON
value or removed (what an operator's ``UPDATE`` can do), the replay, the recomputed views and
the final balance checks run to the end without raising, and the changed event is named by a
finding at its own leaf."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Ledger, MemoryKeystore
from ledger.audit.auditor import ViewRecomputer
from ledger.audit.findings import Finding
from ledger.audit.replay import Replay, ReplayState
from ledger.audit.sources import Leaf, StoreSource
from ledger.canonical import canonical_json, parse_json
from ledger.demo import build_demo
from ledger.projections import VIEWS

REMOVED = object()

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


class _NoSignatures:
    """The replay's rules alone: the signature of a changed body fails, which is not what
    this property is about."""

    def submit(self, job: Any, tag: Any) -> None:
        pass


class DemoLog(list[Leaf]):
    """A demo city's leaves, named shortly in a failing example's report."""

    def __repr__(self) -> str:
        return f"<the demo city's {len(self)} leaves>"


@pytest.fixture(scope="module")
def demo_leaves(tmp_path_factory: pytest.TempPathFactory) -> DemoLog:
    path: Path = tmp_path_factory.mktemp("any-body") / "demo.db"
    with Ledger(f"sqlite:///{path}", keystore=MemoryKeystore()) as ledger:
        build_demo(ledger, volunteers=8)
        return DemoLog(StoreSource(ledger).leaves(0))


def _changed(state: bytes, field: int, value: Any) -> bytes | None:
    """The envelope with one body or data field replaced (``field`` picks it among both), or
    None when the value is the one already there."""
    envelope = parse_json(state)
    body = envelope["body"]
    places = [(body, name) for name in sorted(body)]
    if isinstance(body.get("data"), dict):
        places += [(body["data"], name) for name in sorted(body["data"])]
    holder, name = places[field % len(places)]
    if value is REMOVED:
        del holder[name]
    elif holder[name] == value and type(holder[name]) is type(value):
        return None
    else:
        holder[name] = value
    return canonical_json(envelope)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    which=st.integers(min_value=0),
    field=st.integers(min_value=0),
    value=JSON | st.just(REMOVED),
)
def test_any_field_of_any_body_is_a_finding_never_a_crash(
    demo_leaves: DemoLog, which: int, field: int, value: Any
) -> None:
    leaves = list(demo_leaves)
    index = which % len(leaves)
    target = leaves[index]
    assert target.state is not None
    changed = _changed(target.state, field, value)
    if changed is None:
        return
    leaves[index] = target._replace(state=changed)
    findings: list[Finding] = []
    views = ViewRecomputer(dict.fromkeys(VIEWS, leaves[-1].notification_id or 0))
    run = Replay(ReplayState(), findings.append, _NoSignatures(), None, views)  # type: ignore[arg-type]
    for leaf in leaves:
        run.leaf(leaf)
    run.finish()
    views.digest()
    # The stored leaf hash is the original's: the bytes changed, so that much is certain; the
    # replay must also reach the event itself without stopping.
    assert any(f.kind == "leaf-hash-mismatch" and f.leaf_index == index for f in findings)
    assert run.events == len(leaves)
