"""Offline receipts (C2SP tlog-proof@v1) from a real ledger: each verifies with the log's verifier
key alone, carries the stored envelope, and stops verifying when any byte of it changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from logstore_support import create_city, register_many

from ledger import Ledger, LedgerError, VerificationError
from ledger.canonical import canonical_json
from ledger.envelope import open_envelope, verify_body
from ledger.log import Checkpoint, parse_note, parse_receipt, parse_verifier_key, verify_receipt
from ledger.signing import VerifyingKey

City = tuple[Ledger, dict[str, str]]


def verify_offline(receipt: str, vkey: str) -> tuple[Checkpoint, bytes]:
    """What a third party does with a receipt file and the published key, and nothing else."""
    entry = parse_receipt(receipt).extra
    if entry is None:
        raise VerificationError("this receipt carries no entry")
    return verify_receipt(receipt, entry, parse_verifier_key(vkey)), entry


def test_every_receipt_verifies_offline_with_only_the_verifier_key(city: City) -> None:
    ledger, _ = city
    register_many(ledger, 10, "fill")
    (vkey,) = ledger.log.verifier_keys()
    size = ledger.log.size()
    for index in range(size):
        receipt = ledger.log.receipt(index)
        checkpoint, entry = verify_offline(receipt, vkey)
        assert entry == ledger.log.entry(index)  # the extra line is the stored envelope
        assert parse_receipt(receipt).index == index
        assert checkpoint.size == size and checkpoint.root_hash == ledger.log.root()
    assert len(ledger.log.checkpoints()) == 1, "one checkpoint covers every receipt"


def test_a_receipts_entry_is_the_signed_event_checkable_offline(city: City) -> None:
    ledger, person = city
    result = ledger.register_volunteer("org-b", idempotency_key="receipted")
    leaf = result.events[0].leaf_index
    _, entry = verify_offline(ledger.log.receipt(leaf), ledger.log.verifier_keys()[0])
    body, signature, _ = open_envelope(entry)
    assert body["type"] == "VolunteerRegistered" and body["org"] == "org-b"
    assert body["data"]["number"] == result.value.number
    org_key = ledger._directory.key(body["key_id"]).key
    verify_body(canonical_json(body), signature, VerifyingKey(org_key.raw))
    assert person["number"] != result.value.number


def test_a_receipt_signs_a_checkpoint_only_when_none_covers_the_leaf(city: City) -> None:
    ledger, _ = city
    first = ledger.log.receipt(0)
    assert len(ledger.log.checkpoints()) == 1
    ledger.log.receipt(ledger.log.size() - 1)
    assert len(ledger.log.checkpoints()) == 1
    register_many(ledger, 3, "later")
    newest = ledger.log.receipt(ledger.log.size() - 1)
    assert len(ledger.log.checkpoints()) == 2
    assert parse_receipt(ledger.log.receipt(0)).checkpoint_note == ledger.log.latest()
    assert parse_receipt(newest).checkpoint_note == ledger.log.latest()
    # The older receipt still verifies: checkpoints are kept, never replaced.
    verify_offline(first, ledger.log.verifier_keys()[0])


def test_a_receipt_without_its_entry_verifies_with_the_entry_given_apart(city: City) -> None:
    ledger, _ = city
    receipt = ledger.log.receipt(3, with_entry=False)
    assert parse_receipt(receipt).extra is None
    assert "\nextra " not in receipt
    verifier = parse_verifier_key(ledger.log.verifier_keys()[0])
    verify_receipt(receipt, ledger.log.entry(3), verifier)
    with pytest.raises(VerificationError):
        verify_receipt(receipt, ledger.log.entry(4), verifier)


def _changed(text: str, position: int) -> str:
    """The text with one character replaced by a different one of the same kind, if possible."""
    old = text[position]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    if old in alphabet:
        new = alphabet[(alphabet.index(old) + 1) % len(alphabet)]
    elif old == "\n":
        new = " "
    else:
        new = chr(ord(old) ^ 1)
    return text[:position] + new + text[position + 1 :]


def _same_signatures(first: str, second: str) -> bool:
    """Whether two receipts' notes carry the same signature bytes (spelled differently)."""
    try:
        a = parse_note(parse_receipt(first).checkpoint_note)
        b = parse_note(parse_receipt(second).checkpoint_note)
    except LedgerError:
        return False
    return a == b


def test_a_receipt_with_any_changed_byte_fails(city: City) -> None:
    ledger, _ = city
    register_many(ledger, 4, "fill")
    (vkey,) = ledger.log.verifier_keys()
    receipt = ledger.log.receipt(7)
    verify_offline(receipt, vkey)
    accepted, respelled = [], []
    for position in range(len(receipt)):
        changed = _changed(receipt, position)
        try:
            verify_offline(changed, vkey)
        except VerificationError:
            continue
        except LedgerError as error:  # refused, but not as a verification failure
            pytest.fail(f"change at {position} raised {type(error).__name__}: {error}")
        if _same_signatures(receipt, changed):
            respelled.append(position)  # see the next test
        else:
            accepted.append((position, receipt[position], changed[position]))
    assert accepted == [], f"changed receipts that still verify: {accepted}"
    assert len(respelled) <= 1


def test_a_signature_line_in_non_canonical_base64_is_refused(
    open_ledger: Callable[..., Ledger],
) -> None:
    ledger = open_ledger("memory://")
    create_city(ledger)
    (vkey,) = ledger.log.verifier_keys()
    receipt = ledger.log.receipt(1)
    head, _, last = receipt.rstrip("\n").rpartition(" ")
    # 68 bytes (key id and signature) are 91 base64 characters and "=": the last character
    # carries 4 bits of data and 2 bits that canonical base64 keeps at zero.
    assert len(last) == 92 and last.endswith("=") and not last.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    value = alphabet.index(last[-2])
    assert value & 0b11 == 0
    respelled = f"{head} {last[:-2]}{alphabet[value | 1]}=\n"
    assert respelled != receipt
    with pytest.raises(VerificationError):
        verify_offline(respelled, vkey)


def test_a_receipt_for_another_log_size_or_key_fails(city: City) -> None:
    ledger, _ = city
    receipt = ledger.log.receipt(2)
    parsed = parse_receipt(receipt)
    text, signatures = parse_note(parsed.checkpoint_note)
    other = ledger.log.verifier_keys()[0].replace("ledger.test.example/log", "other.example/log")
    with pytest.raises(LedgerError):
        verify_offline(receipt, other)
    truncated = receipt.replace(parsed.checkpoint_note, text + "\n")
    with pytest.raises(VerificationError):
        verify_offline(truncated, ledger.log.verifier_keys()[0])
    assert len(signatures) == 1
