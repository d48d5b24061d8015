"""Property: whatever the order in which witnesses answer, each witness is asked for every
submitted checkpoint exactly once, in signing order, and every size is settled in the end."""

from __future__ import annotations

import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import SigningKey
from ledger.cosigning import Cosigning
from ledger.log import Witness, WitnessEndpoint


def endpoint(name: str) -> WitnessEndpoint:
    return WitnessEndpoint(
        f"http://127.0.0.1:9/{name}", Witness(f"{name}.example/w", SigningKey.generate()).verifier
    )


ENDPOINTS = [endpoint(name) for name in ("a", "b", "c")]


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 10_000), min_size=1, max_size=12, unique=True).map(sorted),
    delays=st.lists(st.sampled_from([0.0, 0.0005, 0.002]), min_size=3, max_size=3),
    failing=st.sets(st.integers(0, 11), max_size=4),
)
def test_each_witness_sees_every_size_once_in_order(
    sizes: list[int], delays: list[float], failing: set[int]
) -> None:
    asked: dict[str, list[int]] = {e.url: [] for e in ENDPOINTS}
    lock = threading.Lock()

    def ask(witness: WitnessEndpoint, size: int) -> None:
        time.sleep(delays[ENDPOINTS.index(witness)])
        with lock:
            asked[witness.url].append(size)
        if sizes.index(size) in failing:
            raise TimeoutError("this witness did not answer in time")

    cosigning = Cosigning(ENDPOINTS, ask)
    try:
        for size in sizes:
            cosigning.submit(size)
        assert all(cosigning.wait(size, 10) for size in sizes)
        assert not any(cosigning.pending(size) for size in sizes)
        assert all(seen == sizes for seen in asked.values()), asked
    finally:
        cosigning.close()
