"""c2sp.org/tlog-policy: a name is a member of one group at most, so that each witness counts
towards the quorum in one way only. The parser checked only that one group's members differ:
with ``w1`` listed in two groups, a quorum that reads "2 of ..." was met by w1 alone."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidInputError, NoteError
from ledger.log.checkpoint import Checkpoint, sign_checkpoint
from ledger.log.note import NoteSigner, append_signatures
from ledger.log.policy import Policy
from ledger.log.witness import Witness
from ledger.signing import SigningKey

ORIGIN = "hours.example/review"
CHECKPOINT = Checkpoint(ORIGIN, 3, bytes(range(32)))


def test_a_witness_listed_in_two_groups_is_refused_when_the_policy_is_read() -> None:
    log = NoteSigner(ORIGIN, SigningKey.generate())
    w1 = Witness("w1.example/w", SigningKey.generate())
    w2 = Witness("w2.example/w", SigningKey.generate())
    text = (
        f"log {log.verifier.key_string}\n"
        f"witness w1 {w1.key_string}\n"
        f"witness w2 {w2.key_string}\n"
        "group any-w1 any w1\n"
        "group two 2 any-w1 w2 w1\n"
        "quorum two\n"
    )
    with pytest.raises(InvalidInputError, match="another group lists already"):
        Policy.parse(text)
    honest = text.replace("group two 2 any-w1 w2 w1", "group two 2 any-w1 w2")
    note = sign_checkpoint(CHECKPOINT, [log])
    only_w1 = append_signatures(note, w1.cosign(None, note, [], log.verifier, 1000))
    with pytest.raises(NoteError):
        Policy.parse(honest).verify(only_w1)  # one witness does not meet two
    both = append_signatures(only_w1, w2.cosign(None, note, [], log.verifier, 1000))
    Policy.parse(honest).verify(both)
