"""[trust-roots] A slow witness does not hold up writes: the ledger asks witnesses in the
background, after the signing lock is released, and their cosignatures arrive afterwards.

Real processes on loopback: a served city that signs a checkpoint after every write, a fast
witness, and a second witness reached through a link that holds every request until released.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from witness_support import (
    HeldLink,
    make_city,
    register_volunteer,
    serve_city_through,
    start_witness,
)

from ledger.errors import NoteError
from ledger.log import Checkpoint, Policy, parse_note

pytestmark = pytest.mark.slow


def kept_checkpoints(url: str) -> list[str]:
    response = httpx.get(url + "/checkpoints", params={"limit": 500}, timeout=30)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def witnessed(policy: Policy, note: str) -> bool:
    try:
        policy.verify(note)
    except NoteError:
        return False
    return True


def wait_until(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_writes_go_on_while_a_witness_is_slow_and_its_cosignatures_arrive_later(
    tmp_path: Path,
) -> None:
    city = make_city(tmp_path, "busy-city")
    fast = start_witness(tmp_path, "fast.example/w", [city.log_key])
    slow = start_witness(tmp_path, "slow.example/w", [city.log_key])
    link = HeldLink(slow.server.base_url)
    try:
        serve_city_through(
            city,
            [(fast.key, fast.server.base_url), (slow.key, link.url)],
            {"LEDGER_CHECKPOINT_EVERY_EVENTS": "1", "LEDGER_CHECKPOINT_EVERY_SECONDS": "3600"},
        )
        timings = []
        for step in range(6):
            started = time.monotonic()
            register_volunteer(city, f"while-slow-{step}")
            timings.append(time.monotonic() - started)
        # Each write signed a checkpoint and the slow witness was asked, but nobody waited for
        # it: with the witness asked under the signing lock the writes would take >= 10 s.
        assert max(timings) < 3.0, timings
        assert wait_until(lambda: link.arrived >= 1, 10), "the slow witness was never asked"
        assert not link.released.is_set()
        notes = kept_checkpoints(city.url)
        assert len(notes) >= 6
        sizes = [Checkpoint.parse(parse_note(n)[0]).size for n in notes]
        only_fast = Policy([city.log_key], {"fast": fast.key}, "fast")
        only_slow = Policy([city.log_key], {"slow": slow.key}, "slow")
        both = Policy([city.log_key], [fast.key, slow.key], 2)
        # The fast witness's cosignatures arrive while the slow one is still held.
        assert wait_until(
            lambda: all(witnessed(only_fast, n) for n in kept_checkpoints(city.url)), 20
        )
        assert not any(witnessed(only_slow, n) for n in kept_checkpoints(city.url))
        link.release()

        def all_cosigned() -> bool:
            kept = {Checkpoint.parse(parse_note(n)[0]).size: n for n in kept_checkpoints(city.url)}
            return all(size in kept and witnessed(both, kept[size]) for size in sizes)

        assert wait_until(all_cosigned, 60), kept_checkpoints(city.url)[:2]
        served = httpx.get(city.url + "/log/checkpoint", timeout=30).text
        assert both.verify(served).size == max(sizes)
    finally:
        link.close()
        if city.server is not None:
            city.server.stop()
        fast.server.stop()
        slow.server.stop()
