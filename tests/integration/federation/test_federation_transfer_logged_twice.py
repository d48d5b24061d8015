"""The same signed transfer-out, logged a second time by the sending city's operator (who holds
its log key; the copy is an append-only extension, so honest witnesses cosign it), is not
carried in twice. Acceptance is recorded per transfer-out leaf; a second package proving the
same transfer at another leaf once passed every check and carried the volunteer's hours into
the receiving city twice. The receiving city now keeps which leaf each transfer was accepted
from and refuses another, and ``check_transfers_in`` reports a transfer accepted twice (as by a
version before, or two commands racing)."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import pytest
from federation_support import City, transferred_out
from ledger_testing import race_after_lookups

from ledger.commands import federation as federation_commands
from ledger.federation import PackageRefusedError
from ledger.log.checkpoint import Checkpoint, sign_checkpoint
from ledger.log.merkle import TreeBuilder, consistency_proof, inclusion_proof, leaf_hash
from ledger.log.note import append_signatures, parse_note
from ledger.signing import b64encode


def _reader(hashes: list[bytes]) -> Any:
    def read(nodes: Any) -> list[bytes]:
        out = []
        for level, index in nodes:
            builder = TreeBuilder()
            for h in hashes[index << level : (index + 1) << level]:
                builder.append(h)
            out.append(builder.root())
        return out

    return read


def _copy_logged_again(alpha: City, package: dict[str, Any]) -> dict[str, Any]:
    """What alpha's operator can make with alpha's log key alone: alpha's log with the signed
    transfer-out envelope appended once more, a checkpoint of it cosigned by alpha's (honest)
    witnesses, and the package re-pointed at the copy."""
    log = alpha.ledger.log
    size = log.size()
    entries = [log.entry(i) for i in range(size)]
    envelope = package["transfer_out"]["entry"].encode("utf-8")
    entries.append(envelope)  # the very same signed, stored envelope, at a new leaf
    hashes = [leaf_hash(e) for e in entries]
    read = _reader(hashes)
    assert TreeBuilder.from_frontier(size, read).root() == log.root(size)  # alpha's real log
    new_size = size + 1
    builder = TreeBuilder()
    for h in hashes:
        builder.append(h)
    note = sign_checkpoint(Checkpoint(alpha.origin, new_size, builder.root()), log.signers())

    # alpha's witnesses, checking consistency from what they cosigned last (the real package's
    # checkpoint), accept it: it is an append-only extension.
    trusted = Checkpoint.parse(parse_note(package["checkpoint"])[0])
    proof = consistency_proof(trusted.size, new_size, read)
    now = int(time.time())
    lines = [w.cosign(trusted, note, proof, log.verifiers(), now) for w in alpha.witnesses]
    note = append_signatures(note, "\n".join(line.rstrip("\n") for line in lines) + "\n")

    forged = copy.deepcopy(package)
    forged["checkpoint"] = note
    for entry in [*forged["service"], *forged["keys"]]:
        proof = inclusion_proof(entry["leaf_index"], new_size, read)
        entry["proof"] = [b64encode(h) for h in proof]
    forged["transfer_out"] = {
        "leaf_index": size,
        "entry": package["transfer_out"]["entry"],
        "proof": [b64encode(h) for h in inclusion_proof(size, new_size, read)],
    }
    return forged


@pytest.fixture
def logged_twice() -> Iterator[tuple[City, dict[str, Any], dict[str, Any]]]:
    """beta, having accepted alpha's transfer-out; its package; and the forged one."""
    with transferred_out(120) as (alpha, beta, package):
        first = beta.volunteer()
        beta.ledger.transfer_in("org-a", number=first, package=package, idempotency_key="in-1")
        assert beta.ledger.volunteer_balance(first)["approved_minutes"] == 120
        forged = _copy_logged_again(alpha, package)
        assert forged["transfer_id"] == package["transfer_id"]
        assert beta.ledger.verify_transfer(forged).transfer_out_leaf != (
            beta.ledger.verify_transfer(package).transfer_out_leaf
        )
        yield beta, package, forged


def test_a_transfer_out_logged_twice_by_the_peer_is_carried_in_once(
    logged_twice: tuple[City, dict[str, Any], dict[str, Any]],
) -> None:
    beta, _, forged = logged_twice
    second = beta.volunteer()
    size = beta.ledger.log_size()
    with pytest.raises(PackageRefusedError, match="was accepted already"):
        beta.ledger.transfer_in("org-a", number=second, package=forged, idempotency_key="in-2")
    assert beta.ledger.log_size() == size
    assert beta.ledger.volunteer_balance(second)["approved_minutes"] == 0


def test_a_transfer_accepted_twice_is_reported(
    logged_twice: tuple[City, dict[str, Any], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    beta, _, forged = logged_twice
    monkeypatch.setattr(federation_commands, "TRANSFER_IDS_IN", "not-kept-before")
    second = beta.volunteer()
    beta.ledger.transfer_in("org-a", number=second, package=forged, idempotency_key="in-2")
    monkeypatch.undo()
    problems = [c["problem"] for c in beta.ledger.check_transfers_in()]
    assert problems[0] is None
    assert problems[1] is not None and "accepted before" in problems[1]


def test_two_packages_of_one_transfer_racing_are_carried_in_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both commands look the transfer up before either stores (the window a real race has):
    the store refuses the second, which then sees the first's acceptance and is refused."""
    with transferred_out(120) as (alpha, beta, package):
        forged = _copy_logged_again(alpha, package)
        numbers = [beta.volunteer(), beta.volunteer()]
        outcomes = race_after_lookups(
            beta.ledger._writer.recorder,
            federation_commands.TRANSFER_IDS_IN,
            [
                lambda: beta.ledger.transfer_in(
                    "org-a", number=numbers[0], package=package, idempotency_key="in-1"
                ),
                lambda: beta.ledger.transfer_in(
                    "org-a", number=numbers[1], package=forged, idempotency_key="in-2"
                ),
            ],
            monkeypatch,
        )
        refused = [o for o in outcomes if isinstance(o, Exception)]
        assert len(outcomes) == 2 and len(refused) == 1, outcomes
        assert isinstance(refused[0], PackageRefusedError), refused
        assert "was accepted already" in refused[0].message
        carried = [beta.ledger.volunteer_balance(n)["approved_minutes"] for n in numbers]
        assert sorted(carried) == [0, 120]
        assert all(c["problem"] is None for c in beta.ledger.check_transfers_in())
