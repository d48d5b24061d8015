"""The incremental tile reader and its invariant: reading a city's log in any split of
increments, with the progress saved as JSON between them, gives the same figures, tree and
verifier state as reading it at once, and reads every entry exactly once."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_testing import create_city
from province_testing import LedgerTransport, more_service, own_figures

from ledger import Ledger, MemoryKeystore
from ledger.errors import StorageError
from ledger.federation.province_file import CitySpec
from ledger.federation.province_follow import CityProgress, follow_city
from ledger.federation.province_reader import TileReader, bundles_for_range
from ledger.log.tiles import TILE_WIDTH, entry_bundle
from ledger.trust_policy import TrustPolicy

ROUNDS = 24


@given(st.integers(0, 3 * TILE_WIDTH), st.integers(0, 3 * TILE_WIDTH))
def test_bundles_cover_exactly_the_range(a: int, b: int) -> None:
    start, end = min(a, b), max(a, b)
    bundles = list(bundles_for_range(start, end))
    leaves = [i * TILE_WIDTH + k for i, w in bundles for k in range(w)]
    assert [leaf for leaf in leaves if leaf >= start] == list(range(start, end))
    assert all(1 <= w <= TILE_WIDTH for _, w in bundles)
    assert all(w == TILE_WIDTH for _, w in bundles[:-1])
    assert not bundles or bundles[-1][0] == (end - 1) // TILE_WIDTH


def test_bundles_refuse_a_backward_range() -> None:
    with pytest.raises(ValueError):
        list(bundles_for_range(5, 4))


def serve(routes: dict[str, bytes]) -> TileReader:
    def handler(request: httpx.Request) -> httpx.Response:
        body = routes.get(request.url.path)
        return httpx.Response(404) if body is None else httpx.Response(200, content=body)

    return TileReader("http://city.test", httpx.Client(transport=httpx.MockTransport(handler)))


def test_the_reader_skips_leaves_already_read_and_counts_what_it_reads() -> None:
    entries = [f"entry {i}".encode() for i in range(300)]
    reader = serve(
        {
            "/log/tile/entries/000": entry_bundle(entries[:256]),
            "/log/tile/entries/001.p/44": entry_bundle(entries[256:]),
        }
    )
    read = list(reader.entries(250, 300))
    assert read == list(enumerate(entries))[250:]
    assert (reader.counts.requests, reader.counts.entries) == (2, 50)


def test_the_reader_refuses_a_bundle_of_the_wrong_width() -> None:
    reader = serve({"/log/tile/entries/000.p/3": entry_bundle([b"a", b"b"])})
    with pytest.raises(StorageError, match="holds 2 entries"):
        list(reader.entries(0, 3))


def test_the_reader_refuses_a_missing_bundle() -> None:
    with pytest.raises(StorageError, match="404"):
        list(serve({}).entries(0, 3))


@lru_cache(maxsize=1)
def grown_city() -> tuple[Ledger, list[str]]:
    """A city grown command by command, with a signed checkpoint after each round."""
    ledger = Ledger("memory://", keystore=MemoryKeystore())
    create_city(ledger)
    notes = [ledger.log.sign_checkpoint()]
    for round_ in range(ROUNDS):
        more_service(ledger, "org-a", f"round-{round_}", volunteers=3 + round_ % 3)
        notes.append(ledger.log.sign_checkpoint())
    assert ledger.log_size() > TILE_WIDTH
    return ledger, notes


def spec_of(ledger: Ledger) -> CitySpec:
    policy = TrustPolicy.from_json(ledger.trust_anchors())
    assert policy.root_key is not None and policy.origin is not None
    return CitySpec("city", "http://city.test", policy, policy.root_key, policy.origin)


def follow(ledger: Ledger, sizes: list[int], notes: list[str]) -> tuple[Any, int]:
    """Follow the city through the checkpoints ``sizes`` (indexes into ``notes``), saving and
    reloading the progress as JSON text between runs; return it and the entries read."""
    transport = LedgerTransport(ledger)
    spec = spec_of(ledger)
    saved: CityProgress | None = None
    read = 0
    for at in sizes:
        transport.checkpoint = notes[at]
        reader = TileReader(spec.url, httpx.Client(transport=transport))
        result = follow_city(spec, saved, reader)
        read += reader.counts.entries
        saved = CityProgress.from_json("city", json.loads(json.dumps(result.progress.to_json())))
    return saved, read


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sets(st.integers(0, ROUNDS - 1), max_size=6))
def test_any_split_into_increments_gives_the_same_view(stops: set[int]) -> None:
    ledger, notes = grown_city()
    whole, read_whole = follow(ledger, [ROUNDS], notes)
    split, read_split = follow(ledger, [*sorted(stops), ROUNDS], notes)
    assert read_whole == read_split == ledger.log_size()
    assert split is not None and whole is not None
    assert split.figures == whole.figures == own_figures(ledger)
    assert (split.size, split.root) == (whole.size, whole.root)
    assert split.views == whole.views
