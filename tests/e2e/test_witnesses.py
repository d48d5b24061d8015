"""Two city ledgers and two witnesses, all real processes on loopback.

Each city runs a witness (``ledger witness serve``) that follows both cities' logs, so the two
cities witness each other. Every checkpoint either ledger serves is cosigned by both witnesses;
an operator that signs a second, different checkpoint at a size the witnesses cosigned gets no
cosignature for it; a verifier with a 2-of-2 policy refuses anything less than both
cosignatures, on a checkpoint and on a receipt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from witness_support import (
    CityLedger,
    WitnessProcess,
    add_checkpoint,
    checkpoint,
    make_city,
    register_volunteer,
    serve_city,
    start_witness,
)

from ledger import DirectoryKeystore
from ledger.errors import NoteError
from ledger.keystore import LOG_KEY_OWNER
from ledger.log import (
    AddCheckpointRequest,
    Checkpoint,
    NoteSigner,
    Policy,
    parse_note,
    parse_receipt,
    sign_checkpoint,
    verify_receipt,
)

pytestmark = pytest.mark.slow


@dataclass
class Network:
    cities: list[CityLedger]
    witnesses: list[WitnessProcess]

    def policy(self, city: CityLedger, quorum: int = 2) -> Policy:
        return Policy([city.log_key], [w.key for w in self.witnesses], quorum=quorum)


def start_network(root: Path, names: list[str], witness_names: list[str]) -> Network:
    cities = [make_city(root, name) for name in names]
    witnesses: list[WitnessProcess] = []
    try:
        for name in witness_names:
            witnesses.append(start_witness(root, name, [c.log_key for c in cities]))
        for city in cities:
            serve_city(city, witnesses)
    except BaseException:
        stop_network(Network(cities, witnesses))
        raise
    return Network(cities, witnesses)


def stop_network(network: Network) -> None:
    for city in network.cities:
        if city.server is not None:
            city.server.stop()
    for witness in network.witnesses:
        witness.server.stop()


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    root = tmp_path_factory.mktemp("witnessed")
    made = start_network(
        root, ["city-one", "city-two"], ["city-one.example/witness", "city-two.example/witness"]
    )
    yield made
    stop_network(made)


def size_of(note: str) -> int:
    return Checkpoint.parse(parse_note(note)[0]).size


def test_every_checkpoint_of_both_cities_is_cosigned_by_both_witnesses(network: Network) -> None:
    for city in network.cities:
        sizes = []
        for step in range(3):
            register_volunteer(city, f"{city.name}-grow-{step}")
            note = checkpoint(city)
            assert network.policy(city).verify(note).origin == city.origin
            sizes.append(size_of(note))
        assert sizes == sorted(set(sizes)), "each checkpoint extends the one before"


def test_receipts_carry_both_cosignatures_and_verify_offline_with_a_two_of_two_policy(
    network: Network,
) -> None:
    import httpx

    city = network.cities[0]
    leaf = register_volunteer(city, "receipt-volunteer")
    receipt = httpx.get(f"{city.url}/receipts/{leaf}", timeout=30).text
    parsed = parse_receipt(receipt)
    assert parsed.extra is not None
    assert verify_receipt(receipt, parsed.extra, network.policy(city)).size > leaf
    # The same receipt with one witness's cosignature removed has no quorum.
    lines = receipt.splitlines(keepends=True)
    stripped = "".join(line for line in lines if network.witnesses[1].name not in line)
    with pytest.raises(NoteError, match="quorum"):
        verify_receipt(stripped, parsed.extra, network.policy(city))
    assert verify_receipt(stripped, parsed.extra, network.policy(city, quorum=1)).size > leaf


def test_a_second_checkpoint_at_a_cosigned_size_gets_no_cosignature_and_is_refused(
    network: Network,
) -> None:
    city = network.cities[1]
    register_volunteer(city, "before-the-fork")
    honest = checkpoint(city)
    size = size_of(honest)
    # The operator holds the log key and signs another root for the same size.
    log_key = DirectoryKeystore(city.directory / "ledger.db.keys").get(
        LOG_KEY_OWNER, city.log_key.public_key.key_id
    )
    assert log_key is not None
    forged_checkpoint = Checkpoint(city.origin, size, hashlib.sha256(b"another history").digest())
    forged = sign_checkpoint(forged_checkpoint, [NoteSigner(city.origin, log_key)])
    for witness in network.witnesses:
        for old in (size, 0):
            answer = add_checkpoint(witness, AddCheckpointRequest(old, (), forged).to_text())
            assert answer.status_code == 409, answer.text
            assert answer.headers["content-type"].startswith("text/x.tlog.size")
            assert answer.text == f"{size}\n"
    policy = network.policy(city)
    with pytest.raises(NoteError, match="quorum"):
        policy.verify(forged)
    # Gluing the honest checkpoint's cosignatures onto the forged one does not help.
    cosignatures = "".join(
        line for line in honest.splitlines(keepends=True)[4:] if city.origin not in line
    )
    with pytest.raises(NoteError, match="invalid signature"):
        policy.verify(forged + cosignatures)
    assert policy.verify(checkpoint(city)).size >= size, "the honest log is still cosigned"


def test_with_a_witness_down_checkpoints_and_receipts_lack_quorum(tmp_path: Path) -> None:
    import httpx

    network = start_network(tmp_path, ["city-three"], ["w1.example/w", "w2.example/w"])
    try:
        city = network.cities[0]
        register_volunteer(city, "while-both-are-up")
        assert network.policy(city).verify(checkpoint(city))
        network.witnesses[1].server.stop()
        leaf = register_volunteer(city, "while-one-is-down")
        note = checkpoint(city)
        with pytest.raises(NoteError, match="quorum"):
            network.policy(city).verify(note)
        assert network.policy(city, quorum=1).verify(note).size > leaf
        receipt = httpx.get(f"{city.url}/receipts/{leaf}", timeout=30).text
        entry = parse_receipt(receipt).extra
        assert entry is not None
        with pytest.raises(NoteError, match="quorum"):
            verify_receipt(receipt, entry, network.policy(city))
    finally:
        stop_network(network)
