"""Trust policies (c2sp.org/tlog-policy): a known log signed it and enough witnesses cosigned."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidInputError, NoteError
from ledger.log.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from ledger.log.note import NoteSigner, append_signatures
from ledger.log.policy import Policy
from ledger.log.witness import Witness
from ledger.signing import SigningKey

ORIGIN = "hours.example/log"
CHECKPOINT = Checkpoint(ORIGIN, 3, bytes(range(32)))


@pytest.fixture
def log() -> NoteSigner:
    return NoteSigner(ORIGIN, SigningKey.generate())


@pytest.fixture
def witnesses() -> list[Witness]:
    return [Witness(f"w{i}.example", SigningKey.generate()) for i in range(5)]


def _cosigned(log: NoteSigner, witnesses: list[Witness]) -> str:
    note = sign_checkpoint(CHECKPOINT, [log])
    for witness in witnesses:
        note = append_signatures(note, witness.cosign(None, note, [], log.verifier, 1000))
    return note


def test_quorum_of_k_needs_k_distinct_witness_cosignatures(
    log: NoteSigner, witnesses: list[Witness]
) -> None:
    policy = Policy([log.verifier], [w.verifier for w in witnesses], quorum=2)
    assert policy.verify(_cosigned(log, witnesses[:2])) == CHECKPOINT
    assert open_checkpoint(_cosigned(log, witnesses[3:]), policy) == CHECKPOINT
    with pytest.raises(NoteError, match="quorum"):
        policy.verify(_cosigned(log, witnesses[:1]))
    with pytest.raises(NoteError, match="quorum"):
        policy.verify(_cosigned(log, [witnesses[0], witnesses[0]]))


def test_cosignatures_without_the_log_signature_are_not_enough(
    log: NoteSigner, witnesses: list[Witness]
) -> None:
    stranger = NoteSigner(ORIGIN, SigningKey.generate())
    policy = Policy([log.verifier], [w.verifier for w in witnesses], quorum=1)
    with pytest.raises(NoteError, match="log"):
        policy.verify(_cosigned(stranger, witnesses))


def test_unknown_witnesses_do_not_count(log: NoteSigner, witnesses: list[Witness]) -> None:
    policy = Policy([log.verifier], [w.verifier for w in witnesses[:2]], quorum=1)
    with pytest.raises(NoteError, match="quorum"):
        policy.verify(_cosigned(log, witnesses[2:]))


def test_policy_file_with_groups_is_parsed_and_enforced(
    log: NoteSigner, witnesses: list[Witness]
) -> None:
    x1, x2, x3, y1, y2 = witnesses
    text = f"""
    # The example structure of c2sp.org/tlog-policy, with real keys.
    log {log.verifier.key_string} https://hours.example/log/

    witness X1 {x1.key_string}
    witness X2 {x2.key_string}
    witness X3 {x3.key_string}
    group X-witnesses 2 X1 X2 X3

    witness Y1 {y1.key_string}
    witness Y2 {y2.key_string}\thttps://y2.example/
    group Y-witnesses any Y1 Y2

    group X-and-Y all X-witnesses Y-witnesses
    quorum X-and-Y
    """
    policy = Policy.parse(text)
    assert policy.verify(_cosigned(log, [x1, x3, y2])) == CHECKPOINT
    with pytest.raises(NoteError):
        policy.verify(_cosigned(log, [x1, x2, x3]))
    with pytest.raises(NoteError):
        policy.verify(_cosigned(log, [x1, y1, y2]))


def test_quorum_none_needs_only_the_log(log: NoteSigner) -> None:
    policy = Policy.parse(f"log {log.verifier.key_string}\nquorum none\n")
    assert policy.verify(sign_checkpoint(CHECKPOINT, [log])) == CHECKPOINT


@pytest.mark.parametrize(
    "lines",
    [
        "",
        "quorum none\nquorum none",
        "quorum W1",
        "witness none {w}\nquorum none",
        "witness W1 {w}\nwitness W2 {w}\nquorum W1",
        "witness W1 {w}\ngroup G 2 W1\nquorum G",
        "witness W1 {w}\ngroup G 0 W1\nquorum G",
        "witness W1 {w}\ngroup G any W1 W1\nquorum G",
        "group G any W1\nwitness W1 {w}\nquorum G",
        "witness W1 {l}\nquorum W1",
        "frobnicate\nquorum none",
        "witness W1 {w}\x0bquorum W1",
    ],
    ids=[
        "no-quorum",
        "two-quorums",
        "undefined-quorum",
        "witness-named-none",
        "duplicate-witness-key",
        "threshold-above-members",
        "threshold-zero",
        "member-twice",
        "member-defined-later",
        "log-key-as-witness",
        "unknown-keyword",
        "control-character",
    ],
)
def test_malformed_policies_are_refused(lines: str) -> None:
    w = Witness("w.example", SigningKey.generate()).key_string
    log = NoteSigner(ORIGIN, SigningKey.generate()).verifier.key_string
    with pytest.raises(InvalidInputError):
        Policy.parse(f"log {log}\n" + lines.format(w=w, l=log) + "\n")


def test_a_log_listed_twice_is_refused(log: NoteSigner) -> None:
    with pytest.raises(InvalidInputError):
        Policy.parse(f"log {log.verifier.key_string}\nlog {log.verifier.key_string}\nquorum none")
