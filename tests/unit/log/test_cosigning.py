"""The background cosigning workers: one per witness, each in signing order, none waiting on
another, and a failing witness never stops its worker."""

from __future__ import annotations

import threading

from ledger import SigningKey
from ledger.cosigning import Cosigning
from ledger.log import Witness, WitnessEndpoint


def endpoints() -> list[WitnessEndpoint]:
    return [
        WitnessEndpoint(f"http://127.0.0.1:9/{name}", Witness(f"{name}.example/w", key).verifier)
        for name, key in (("a", SigningKey.generate()), ("b", SigningKey.generate()))
    ]


def test_each_witness_is_asked_in_signing_order_and_a_slow_one_holds_up_only_itself() -> None:
    fast, slow = endpoints()
    gate = threading.Event()
    asked: dict[str, list[int]] = {fast.url: [], slow.url: []}

    def ask(endpoint: WitnessEndpoint, size: int) -> None:
        if endpoint is slow:
            gate.wait(10)
        asked[endpoint.url].append(size)

    cosigning = Cosigning([fast, slow], ask)
    try:
        for size in (3, 5, 8, 13):
            cosigning.submit(size)  # returns at once although the slow witness is held
        assert not cosigning.wait(13, 0.3)
        assert asked[fast.url] == [3, 5, 8, 13] and asked[slow.url] == []
        assert cosigning.pending(3)
        gate.set()
        assert cosigning.wait(13, 5)
        assert asked[slow.url] == [3, 5, 8, 13]
        assert not any(cosigning.pending(size) for size in (3, 5, 8, 13))
    finally:
        gate.set()
        cosigning.close()


def test_a_failing_witness_is_answered_and_its_worker_goes_on() -> None:
    good, bad = endpoints()
    asked: list[tuple[str, int]] = []

    def ask(endpoint: WitnessEndpoint, size: int) -> None:
        if endpoint is bad and size == 1:
            raise ConnectionError("witness unreachable")
        asked.append((endpoint.url, size))

    cosigning = Cosigning([good, bad], ask)
    try:
        cosigning.submit(1)
        cosigning.submit(2)
        assert cosigning.wait(2, 5) and cosigning.wait(1, 5)
        assert (bad.url, 2) in asked and (bad.url, 1) not in asked
    finally:
        cosigning.close()


def test_without_witnesses_nothing_is_pending_and_after_close_nothing_is_asked() -> None:
    assert not Cosigning([], lambda *_: None).pending(1)
    asked: list[int] = []
    cosigning = Cosigning(endpoints(), lambda _, size: asked.append(size))
    cosigning.close()
    cosigning.submit(4)
    assert not cosigning.pending(4) and cosigning.wait(4, 0.1) and asked == []
