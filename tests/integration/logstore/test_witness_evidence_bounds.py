"""What a witness keeps and reads is bounded by what the log signed, not by what senders send.

A refused checkpoint is kept as evidence once: anyone can resend a checkpoint the log signed,
with a proof that fails or with signature lines of their own added, and the store does not
grow. A log that signs many conflicting checkpoints has its first ones kept, up to a cap. Over
HTTP, a body announced or sent beyond 64 KiB is refused without being read, and a request
waiting for the store does not stop the server answering others.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from logstore_support import WITNESS_NOW, ledger, register_many, service

from ledger import Ledger, SigningKey
from ledger.errors import WitnessRefusedError
from ledger.log import (
    AddCheckpointRequest,
    Checkpoint,
    NoteSigner,
    WitnessService,
    WitnessStore,
    parse_note,
    parse_verifier_key,
    sign_checkpoint,
)
from ledger.log import witness_store as witness_store_module
from ledger_api.witness import MAX_BODY_BYTES, create_witness_app

__all__ = ["ledger", "service"]  # fixtures used here


def _refused(call: Callable[[], object]) -> WitnessRefusedError:
    with pytest.raises(WitnessRefusedError) as caught:
        call()
    return caught.value


def _conflicting(ledger: Ledger, size: int, seed: bytes) -> str:
    """A checkpoint the log signs at ``size`` with another root (a split view)."""
    forged = Checkpoint(ledger.log.origin, size, hashlib.sha256(seed).digest())
    return sign_checkpoint(forged, ledger.log.signers())


def _stranger_line(note: str) -> str:
    """A signature line from a key nobody follows, over the note's text."""
    stranger = NoteSigner("stranger.example/key", SigningKey.generate())
    return sign_checkpoint(Checkpoint.parse(parse_note(note)[0]), [stranger]).split("\n\n")[1]


def _reason(service: WitnessService, request: AddCheckpointRequest) -> str:
    with pytest.raises(WitnessRefusedError) as caught:
        service.add_checkpoint(request.to_text())
    return caught.value.reason


def _size_of(note: str) -> int:
    return Checkpoint.parse(parse_note(note)[0]).size


def _hash(seed: bytes) -> bytes:
    return hashlib.sha256(seed).digest()


def test_a_refused_checkpoint_sent_again_and_again_is_kept_once(
    service: WitnessService, ledger: Ledger
) -> None:
    first = ledger.log.sign_checkpoint()
    service.add_checkpoint(AddCheckpointRequest(0, (), first).to_text())
    size = Checkpoint.parse(parse_note(first)[0]).size
    register_many(ledger, 4, "grow")
    second = ledger.log.sign_checkpoint()
    conflict = _conflicting(ledger, size, b"other")

    attempts = [
        AddCheckpointRequest(size, (), conflict),
        AddCheckpointRequest(size, (), conflict + _stranger_line(conflict)),
        # A genuine checkpoint with proofs that do not link it: anyone can send these.
        AddCheckpointRequest(size, (hashlib.sha256(b"x").digest(),), second),
        AddCheckpointRequest(size, (hashlib.sha256(b"y").digest(),), second),
        AddCheckpointRequest(
            size, (hashlib.sha256(b"z").digest(),), second + _stranger_line(second)
        ),
    ]
    for request in attempts * 3:
        assert _refused(lambda r=request: service.add_checkpoint(r.to_text())).reason in (  # type: ignore[misc]
            "conflict",
            "inconsistent",
        )
    # The conflict once; the failing proofs not at all (they prove nothing about the log).
    kept = service.store.refused(ledger.log.origin)
    assert [note for note, _ in kept] == [conflict]
    assert service.store.latest(ledger.log.origin) == (size, parse_note(first)[0])


def test_a_log_signing_many_conflicts_has_its_first_ones_kept_up_to_the_cap(
    service: WitnessService, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(witness_store_module, "MAX_REFUSED_PER_ORIGIN", 3)
    first = ledger.log.sign_checkpoint()
    service.add_checkpoint(AddCheckpointRequest(0, (), first).to_text())
    size = Checkpoint.parse(parse_note(first)[0]).size
    notes = [_conflicting(ledger, size, bytes([n])) for n in range(6)]
    for note in notes:
        body = AddCheckpointRequest(size, (), note).to_text()
        assert _refused(lambda b=body: service.add_checkpoint(b)).reason == "conflict"  # type: ignore[misc]
    assert [note for note, _ in service.store.refused(ledger.log.origin)] == notes[:3]


def test_a_store_kept_before_holds_each_refused_note_once_after_opening(tmp_path: Path) -> None:
    path = tmp_path / "old-witness.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE refused (id INTEGER PRIMARY KEY, origin TEXT NOT NULL, note TEXT NOT NULL,"
        " reason TEXT NOT NULL, received_at INTEGER NOT NULL)"
    )
    rows = [("log.example", "n1", "first", 1), ("log.example", "n1", "again", 2)]
    rows += [("log.example", "n2", "other", 3), ("other.example", "n1", "theirs", 4)]
    old.executemany(
        "INSERT INTO refused (origin, note, reason, received_at) VALUES (?,?,?,?)", rows
    )
    old.commit()
    old.close()
    store = WitnessStore(path)
    try:
        assert store.refused("log.example") == [("n1", "first"), ("n2", "other")]
        assert store.refused("other.example") == [("n1", "theirs")]
        assert store.keep_refused("log.example", "n1", "once more") is False
    finally:
        store.close()


def test_genuine_checkpoints_resent_with_junk_proofs_crowd_out_a_real_split_view(
    service: WitnessService, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anyone replays checkpoints the log published, each with a junk consistency proof, until
    the per-log cap is full (3 here, 1,000 in production: a log publishes many more
    checkpoints than that). Then the log shows this witness a checkpoint of the cosigned size
    with another root. That checkpoint is the evidence the witness exists to keep; it should be
    kept (or the junk "inconsistent" refusals, which prove nothing, should not use the cap)."""
    monkeypatch.setattr(witness_store_module, "MAX_REFUSED_PER_ORIGIN", 3)
    first = ledger.log.sign_checkpoint()
    service.add_checkpoint(AddCheckpointRequest(0, (), first).to_text())
    cosigned = _size_of(first)

    published = []
    for n in range(3):
        ledger.register_volunteer("org-a", idempotency_key=f"grow-{n}")
        published.append(ledger.log.sign_checkpoint())
    for n, note in enumerate(published):  # a third party: no key needed
        junk = (hashlib.sha256(bytes([n])).digest(),)
        assert _reason(service, AddCheckpointRequest(cosigned, junk, note)) == "inconsistent"

    forged = Checkpoint(ledger.log.origin, cosigned, hashlib.sha256(b"fork").digest())
    split_view = sign_checkpoint(forged, ledger.log.signers())
    assert _reason(service, AddCheckpointRequest(cosigned, (), split_view)) == "conflict"

    kept = [note for note, _ in service.store.refused(ledger.log.origin)]
    assert split_view in kept, "the split view the log signed was not kept as evidence"


def test_one_checkpoint_with_two_log_signatures_is_kept_once(
    service: WitnessService, ledger: Ledger, tmp_path: Path
) -> None:
    """During a log-key rotation each checkpoint carries two log signatures. A sender resends
    one conflicting checkpoint with its log signature lines reordered, or with one of them
    left out. It is the same checkpoint, signed by the same log: it should be kept once, not
    once per subset and order of its signature lines."""
    ledger.add_log_key("city", idempotency_key="rotate")
    assert len(ledger.log.signers()) == 2
    logs = [parse_verifier_key(v) for v in ledger.log.verifier_keys()]
    assert len(logs) == 2
    (tmp_path / "w2").mkdir()
    store = WitnessStore(tmp_path / "w2" / "witness.db")
    two = WitnessService(
        "witness.example/w2", SigningKey.generate(), logs, store, lambda: WITNESS_NOW
    )
    try:
        first = ledger.log.sign_checkpoint()
        two.add_checkpoint(AddCheckpointRequest(0, (), first).to_text())
        size = _size_of(first)
        forged = Checkpoint(ledger.log.origin, size, hashlib.sha256(b"fork").digest())
        note = sign_checkpoint(forged, ledger.log.signers())
        text, rest = note.split("\n\n", 1)
        lines = rest.splitlines(keepends=True)
        assert len(lines) == 2
        variants = [note, text + "\n\n" + lines[1] + lines[0], text + "\n\n" + lines[0]]
        for variant in variants:
            assert _reason(two, AddCheckpointRequest(size, (), variant)) == "conflict"
        kept = two.store.refused(ledger.log.origin)
        assert len(kept) == 1, [n for n, _ in kept]
    finally:
        store.close()


def _service_at(ledger: Ledger, path: Path) -> WitnessService:
    logs = [parse_verifier_key(v) for v in ledger.log.verifier_keys()]
    return WitnessService(
        "witness.example/w1", SigningKey.generate(), logs, WitnessStore(path), lambda: WITNESS_NOW
    )


@pytest.fixture
def opened() -> Iterator[list[WitnessService]]:
    """Witnesses a test opens itself, closed after it."""
    services: list[WitnessService] = []
    yield services
    for witness in services:
        witness.store.close()


def _refusal(service: WitnessService, request: AddCheckpointRequest) -> WitnessRefusedError:
    return _refused(lambda: service.add_checkpoint(request.to_text()))


def test_a_split_view_is_kept_by_a_witness_whose_cap_the_previous_release_filled(
    ledger: Ledger,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    opened: list[WitnessService],
) -> None:
    """Before 50ee469 a witness kept "inconsistent" refusals too, so anyone could fill a log's
    cap by resending published checkpoints with junk proofs (the attack the commit closes).
    A witness so filled is upgraded; then the log shows it a second root at the size it
    cosigned.

    That split view is the evidence the witness exists for and should be kept: the rows the
    old release kept for failing proofs prove nothing and should not use the cap (drop them
    when the store is opened, or count only conflicts). They still count, and the split view
    is dropped."""
    monkeypatch.setattr(witness_store_module, "MAX_REFUSED_PER_ORIGIN", 3)
    path = tmp_path / "witness.db"
    service = _service_at(ledger, path)
    opened.append(service)
    first = ledger.log.sign_checkpoint()
    service.add_checkpoint(AddCheckpointRequest(0, (), first).to_text())
    cosigned = _size_of(first)

    # What the previous release did with each junk-proof resend of a published checkpoint:
    # keep the note with its log's signatures and the refusal's message, up to the cap.
    for n in range(3):
        ledger.register_volunteer("org-a", idempotency_key=f"grow-{n}")
        published = ledger.log.sign_checkpoint()
        junk = (hashlib.sha256(bytes([n])).digest(),)
        refusal = _refusal(service, AddCheckpointRequest(cosigned, junk, published))
        assert refusal.reason == "inconsistent"
        assert service.store.keep_refused(ledger.log.origin, published, refusal.message)
    service.store.close()
    opened.remove(service)

    upgraded = _service_at(ledger, path)  # the new release opens the same store
    opened.append(upgraded)
    forged = Checkpoint(ledger.log.origin, cosigned, hashlib.sha256(b"fork").digest())
    split_view = sign_checkpoint(forged, ledger.log.signers())
    assert _refusal(upgraded, AddCheckpointRequest(cosigned, (), split_view)).reason == "conflict"

    kept = [note for note, _ in upgraded.store.refused(ledger.log.origin)]
    assert split_view in kept, "the split view was dropped: failing-proof rows fill the cap"


def test_a_conflict_resent_with_another_log_signature_keeps_that_signature(
    ledger: Ledger, tmp_path: Path, opened: list[WitnessService]
) -> None:
    """During a log-key rotation the log shows a victim a split view signed with both log
    keys. It first sends the witness the same checkpoint signed with one key only (the one
    it is retiring, and may later call leaked); then the victim's copy, with both keys'
    signatures, arrives.

    The evidence kept should carry every log signature any copy brought (the other key's is
    the one the log cannot disown). The witness keeps the first copy's signatures only and
    drops the later copy whole, because its checkpoint text was kept before."""
    ledger.add_log_key("city", idempotency_key="rotate")
    service = _service_at(ledger, tmp_path / "witness.db")
    opened.append(service)
    first = ledger.log.sign_checkpoint()
    service.add_checkpoint(AddCheckpointRequest(0, (), first).to_text())
    size = _size_of(first)

    signers = ledger.log.signers()
    assert len(signers) == 2
    forged = Checkpoint(ledger.log.origin, size, hashlib.sha256(b"fork").digest())
    both = sign_checkpoint(forged, signers)
    text, block = both.split("\n\n", 1)
    lines = block.splitlines()
    assert len(lines) == 2
    only_one = text + "\n\n" + lines[0] + "\n"  # one log key's line alone, sent first
    assert _refusal(service, AddCheckpointRequest(size, (), only_one)).reason == "conflict"
    assert _refusal(service, AddCheckpointRequest(size, (), both)).reason == "conflict"

    kept = [note for note, _ in service.store.refused(ledger.log.origin)]
    assert len(kept) == 1
    missing = set(lines) - set(kept[0].split("\n\n", 1)[1].splitlines())
    assert not missing, f"a log signature of the split view was dropped: {missing}"


# --- over HTTP ----------------------------------------------------------------------------------


class _ServerThread:
    """The witness app served by uvicorn on a loopback port, in this process (so that a test
    can hold the store's lock while a request waits for it)."""

    def __init__(self, service: WitnessService) -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        config = uvicorn.Config(
            create_witness_app(service), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the witness server did not start"
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _raw_exchange(port: int, head: bytes, body: bytes = b"", timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(head + body)
        return connection.recv(4096)


def test_a_body_announced_beyond_the_limit_is_refused_before_it_is_sent(
    service: WitnessService,
) -> None:
    with _ServerThread(service) as url:
        port = int(url.rsplit(":", 1)[1])
        head = (
            b"POST /add-checkpoint HTTP/1.1\r\nHost: witness\r\nContent-Length: 1000000000\r\n\r\n"
        )
        started = time.monotonic()
        answer = _raw_exchange(port, head)  # no body follows: the answer cannot wait for it
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert time.monotonic() - started < 5


def test_a_chunked_body_beyond_the_limit_is_refused_without_reading_the_rest(
    service: WitnessService,
) -> None:
    with _ServerThread(service) as url:
        port = int(url.rsplit(":", 1)[1])
        chunk = b"a" * (MAX_BODY_BYTES + 1)
        head = (
            b"POST /add-checkpoint HTTP/1.1\r\nHost: witness\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        # One chunk past the limit and no terminating chunk: the answer comes anyway.
        answer = _raw_exchange(port, head, f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert service.store.latest("anything") is None


def test_a_request_waiting_for_the_store_does_not_stop_other_requests(
    service: WitnessService, ledger: Ledger
) -> None:
    note = ledger.log.sign_checkpoint()
    body = AddCheckpointRequest(0, (), note).to_text()
    with _ServerThread(service) as url:
        with service.store._lock:  # another process's request, holding the store
            waiting = threading.Thread(
                target=lambda: httpx.post(f"{url}/add-checkpoint", content=body, timeout=30)
            )
            waiting.start()
            time.sleep(0.3)  # the add-checkpoint request now waits for the lock
            started = time.monotonic()
            answer = httpx.get(f"{url}/", timeout=5)
            assert answer.status_code == 200
            assert time.monotonic() - started < 2
        waiting.join(timeout=30)
        assert service.store.latest(ledger.log.origin) is not None


def test_the_limit_is_what_the_spec_allows_a_note(service: WitnessService) -> None:
    """Bodies up to the limit are read and judged on what they say."""

    async def post(content: bytes) -> httpx.Response:
        transport = httpx.ASGITransport(app=create_witness_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://witness") as client:
            return await client.post("/add-checkpoint", content=content)

    assert asyncio.run(post(b"x" * MAX_BODY_BYTES)).status_code == 400
    assert asyncio.run(post(b"x" * (MAX_BODY_BYTES + 1))).status_code == 413
