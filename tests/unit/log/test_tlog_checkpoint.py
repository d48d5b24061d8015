"""C2SP checkpoints: the exact text, strict parsing, and signed notes that name their log."""

from __future__ import annotations

import base64

import pytest
from spec_examples import CHECKPOINT_TEXT, LOG_SIGNATURE

from ledger.errors import NoteError
from ledger.log.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from ledger.log.note import NoteSigner, parse_note
from ledger.signing import SigningKey

ROOT = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
SEED = bytes(range(32))


def test_checkpoint_text_is_the_spec_example_byte_for_byte() -> None:
    checkpoint = Checkpoint("example.com/behind-the-sofa", 20852163, ROOT)
    assert checkpoint.to_text() == CHECKPOINT_TEXT
    assert Checkpoint.parse(CHECKPOINT_TEXT) == checkpoint


def test_the_spec_example_note_parses_into_its_checkpoint_and_log_signature() -> None:
    text, signatures = parse_note(CHECKPOINT_TEXT + "\n" + LOG_SIGNATURE)
    assert Checkpoint.parse(text).size == 20852163
    assert signatures[0].name == "example.com/behind-the-sofa"
    assert len(signatures[0].signature) == 64


def test_empty_tree_checkpoint_has_size_zero() -> None:
    empty = Checkpoint("log.example/empty", 0, bytes(32))
    assert empty.to_text().split("\n")[1] == "0"
    assert Checkpoint.parse(empty.to_text()) == empty


def test_signed_checkpoint_is_the_text_a_blank_line_and_the_log_signature() -> None:
    key = SigningKey.from_private_bytes(SEED)
    signer = NoteSigner("example.com/behind-the-sofa", key)
    note = sign_checkpoint(Checkpoint.parse(CHECKPOINT_TEXT), [signer])
    blob = base64.b64encode(signer.key_id + key.sign(CHECKPOINT_TEXT.encode())).decode()
    assert note == CHECKPOINT_TEXT + "\n\u2014 example.com/behind-the-sofa " + blob + "\n"
    assert open_checkpoint(note, signer.verifier) == Checkpoint.parse(CHECKPOINT_TEXT)


@pytest.mark.parametrize(
    "text",
    [
        "example.com/log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        "example.com/log\n20852163\n",
        "\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n020852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n\u0661\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n18446744073709551616\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
        "example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",
        "example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jx\n",
        "example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
    ],
    ids=[
        "no-final-newline",
        "missing-root",
        "empty-origin",
        "leading-zero",
        "negative-size",
        "non-ascii-digit",
        "size-beyond-uint64",
        "unpadded-base64",
        "non-canonical-base64",
        "short-root",
        "empty-extension-line",
    ],
)
def test_malformed_checkpoint_text_is_refused(text: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(text)


def test_extension_lines_are_kept_verbatim() -> None:
    text = CHECKPOINT_TEXT + "extension one\n"
    assert Checkpoint.parse(text).extensions == ("extension one",)
    assert Checkpoint.parse(text).to_text() == text


def test_checkpoint_must_name_the_log_whose_key_signed_it() -> None:
    signer = NoteSigner("log.example/a", SigningKey.generate())
    note = sign_checkpoint(Checkpoint("log.example/b", 1, ROOT), [signer])
    with pytest.raises(NoteError, match="origin"):
        open_checkpoint(note, signer.verifier)
    assert open_checkpoint(note, signer.verifier, origin="log.example/b").size == 1
    with pytest.raises(NoteError, match="origin"):
        open_checkpoint(note, signer.verifier, origin="log.example/c")


def test_checkpoint_signed_by_another_key_is_refused() -> None:
    signer = NoteSigner("log.example", SigningKey.generate())
    other = NoteSigner("log.example", SigningKey.generate())
    note = sign_checkpoint(Checkpoint("log.example", 3, ROOT), [signer])
    with pytest.raises(NoteError):
        open_checkpoint(note, other.verifier)
