"""The certificate status note: its text round-trips, a reason cannot add lines, and only the
log key's signature opens it."""

from __future__ import annotations

import pytest

from ledger.certificates import Status, open_status, sign_status
from ledger.errors import LedgerError, NoteError
from ledger.log.note import NoteSigner
from ledger.signing import SigningKey

ORIGIN = "ledger.unit.example/log"
ROOT = bytes(range(32))


def signer() -> NoteSigner:
    return NoteSigner(ORIGIN, SigningKey.generate())


def test_valid_and_revoked_round_trip() -> None:
    valid = Status(ORIGIN, "C2025-ABCDEFGHIJ", None, "", 12, ROOT)
    assert valid.to_text().splitlines()[3] == "valid"
    assert Status.parse(valid.to_text()) == valid
    revoked = Status(ORIGIN, "C2025-ABCDEFGHIJ", 11, "entered twice", 12, ROOT)
    assert revoked.to_text().splitlines()[3:5] == ["revoked 11", "reason entered twice"]
    assert Status.parse(revoked.to_text()) == revoked
    assert revoked.revoked and not valid.revoked


def test_a_reason_cannot_forge_lines() -> None:
    sneaky = "oops\nvalid\ncheckpoint 99 AAAA"
    text = Status(ORIGIN, "C2025-ABCDEFGHIJ", 11, sneaky, 12, ROOT).to_text()
    parsed = Status.parse(text)
    assert parsed.revoked_at_leaf == 11 and parsed.checkpoint_size == 12
    assert parsed.reason == "oops valid checkpoint 99 AAAA"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello\n",
        "service-hour-ledger/certificate-status/v1\norigin\nC1\nmaybe\ncheckpoint 1 AA==\n",
    ],
)
def test_malformed_status_is_refused(text: str) -> None:
    with pytest.raises(NoteError):
        Status.parse(text)


def test_only_the_log_key_opens_the_note() -> None:
    log, other = signer(), signer()
    status = Status(ORIGIN, "C2025-ABCDEFGHIJ", None, "", 3, ROOT)
    note = sign_status(status, [log])
    assert open_status(note, [log.verifier]) == status
    with pytest.raises(LedgerError):
        open_status(note, [other.verifier])
    with pytest.raises(LedgerError):
        open_status(note.replace("valid", "revoked 1\nreason x"), [log.verifier])
