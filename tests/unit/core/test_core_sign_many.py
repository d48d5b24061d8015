"""A batch of messages signed on several cores: every signature in its place and verifiable
without the project's code, other signers kept on the caller's thread, and a forked child that
signs with its own helpers; and a batch of signatures verified the same way, each verdict the
one verifying it alone gives."""

from __future__ import annotations

import multiprocessing
import os
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import signing
from ledger.errors import SignatureError
from ledger.signing import (
    PARALLEL_SIGNING_FROM,
    Signer,
    SigningKey,
    VerifyingKey,
    sign_many,
    verify_many,
)

KEYS = [SigningKey.from_private_bytes(bytes([i]) * 32) for i in range(3)]


class RecordingSigner:
    """Signs with a key, noting the thread that signed (a signer that is not a SigningKey)."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key
        self.threads: set[str] = set()

    @property
    def key_id(self) -> str:
        return self.key.key_id

    @property
    def public_key(self) -> VerifyingKey:
        return self.key.public_key

    def sign(self, message: bytes) -> bytes:
        self.threads.add(threading.current_thread().name)
        return self.key.sign(message)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.binary(max_size=64)), max_size=80))
def test_each_signature_is_its_own_signers_of_its_own_message_in_order(
    jobs: list[tuple[int, bytes]],
) -> None:
    signatures = sign_many([(KEYS[k], message) for k, message in jobs])
    assert len(signatures) == len(jobs)
    for (k, message), signature in zip(jobs, signatures, strict=True):
        public = Ed25519PublicKey.from_public_bytes(KEYS[k].public_key.raw)
        public.verify(signature, message)  # raises if it is not


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2), st.binary(max_size=64), st.sampled_from(["good", "bad", "short"])
        ),
        max_size=3 * PARALLEL_SIGNING_FROM,
    )
)
def test_many_signatures_verify_each_as_it_would_alone(jobs: list[tuple[int, bytes, str]]) -> None:
    """Each verdict in its place: None for a good signature, the error verifying it alone
    raises for a signature of another message or of the wrong length."""
    batch = []
    for k, message, kind in jobs:
        signature = KEYS[k].sign(message if kind != "bad" else message + b"!")
        batch.append(
            (KEYS[k].public_key, signature[:63] if kind == "short" else signature, message)
        )
    verdicts = verify_many(batch)
    assert len(verdicts) == len(batch)
    for (key, signature, message), verdict in zip(batch, verdicts, strict=True):
        try:
            key.verify(signature, message)
        except SignatureError as error:
            assert verdict is not None and str(verdict) == str(error)
        else:
            assert verdict is None


@pytest.fixture
def signing_threads(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The names of the threads that sign with a SigningKey from now on."""
    threads: set[str] = set()
    plain_sign = SigningKey.sign

    def noting_sign(self: SigningKey, message: bytes) -> bytes:
        threads.add(threading.current_thread().name)
        return plain_sign(self, message)

    monkeypatch.setattr(SigningKey, "sign", noting_sign)
    return threads


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing to share the work with")
def test_a_long_batch_of_signing_keys_is_shared_with_helper_threads(
    signing_threads: set[str],
) -> None:
    threads = signing_threads
    sign_many([(KEYS[0], bytes([i])) for i in range(PARALLEL_SIGNING_FROM)])
    assert threading.current_thread().name in threads
    assert any(name.startswith("ledger-signing") for name in threads)
    threads.clear()
    sign_many([(KEYS[0], bytes([i])) for i in range(PARALLEL_SIGNING_FROM - 1)])
    assert threads == {threading.current_thread().name}


def test_a_batch_with_another_kind_of_signer_is_signed_on_the_callers_thread() -> None:
    other = RecordingSigner(KEYS[1])
    jobs: list[tuple[Signer, bytes]] = [
        (KEYS[0], b"a"),
        *[(other, bytes([i])) for i in range(2 * PARALLEL_SIGNING_FROM)],
    ]
    signatures = sign_many(jobs)
    assert other.threads == {threading.current_thread().name}
    for (signer, message), signature in zip(jobs, signatures, strict=True):
        signer.public_key.verify(signature, message)


def _sign_in_child(results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    signatures = sign_many([(KEYS[2], bytes([i])) for i in range(2 * PARALLEL_SIGNING_FROM)])
    results.put(signatures)


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform"
)
def test_a_child_forked_after_the_parent_signed_signs_with_its_own_helpers() -> None:
    sign_many([(KEYS[2], bytes([i])) for i in range(2 * PARALLEL_SIGNING_FROM)])
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_sign_in_child, args=(results,))
    child.start()
    signatures = results.get(timeout=30)  # the parent's pool would leave the child waiting
    child.join(timeout=30)
    assert child.exitcode == 0
    expected = [KEYS[2].sign(bytes([i])) for i in range(2 * PARALLEL_SIGNING_FROM)]
    assert signatures == expected


def test_callers_at_once_each_get_their_own_signatures() -> None:
    batches = [
        [(KEYS[k], bytes([k, i])) for i in range(3 * PARALLEL_SIGNING_FROM)] for k in range(3)
    ]
    results: dict[int, list[bytes]] = {}

    def sign(k: int) -> None:
        for _ in range(5):
            results[k] = sign_many(batches[k])

    callers = [threading.Thread(target=sign, args=(k,)) for k in range(3)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=60)
    assert results == {k: [key.sign(m) for key, m in batches[k]] for k in range(3)}


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: no helpers")
def test_a_batch_signs_alone_while_another_holds_the_helpers(signing_threads: set[str]) -> None:
    threads = signing_threads
    expected = [KEYS[0].sign(bytes([i])) for i in range(2 * PARALLEL_SIGNING_FROM)]
    jobs = [(KEYS[0], bytes([i])) for i in range(2 * PARALLEL_SIGNING_FROM)]
    sign_many(jobs)  # the helpers exist
    helpers = signing._helpers
    assert helpers is not None
    with helpers.free:  # another caller's batch
        threads.clear()
        assert sign_many(jobs) == expected
        assert threads == {threading.current_thread().name}
    threads.clear()
    sign_many(jobs)
    assert any(name.startswith("ledger-signing") for name in threads)


def test_an_error_in_a_batch_leaves_the_helpers_free(monkeypatch: pytest.MonkeyPatch) -> None:
    plain_sign = SigningKey.sign

    def failing_sign(self: SigningKey, message: bytes) -> bytes:
        if message == b"bad":
            raise RuntimeError("the signer failed")
        return plain_sign(self, message)

    monkeypatch.setattr(SigningKey, "sign", failing_sign)
    jobs = [(KEYS[0], bytes([i])) for i in range(2 * PARALLEL_SIGNING_FROM)]
    for bad in (0, len(jobs) - 1):  # in the caller's part, in a helper's part
        with pytest.raises(RuntimeError, match="the signer failed"):
            sign_many([*jobs[:bad], (KEYS[0], b"bad"), *jobs[bad + 1 :]])
    helpers = signing._helpers
    assert helpers is None or not helpers.free.locked()
    assert sign_many(jobs) == [plain_sign(KEYS[0], m) for _, m in jobs]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: no helpers")
def test_a_batch_signs_alone_when_no_helper_can_start(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = [(KEYS[1], bytes([i])) for i in range(2 * PARALLEL_SIGNING_FROM)]
    sign_many(jobs)  # the helpers exist
    helpers = signing._helpers
    assert helpers is not None

    def exiting(*args: object) -> None:
        raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    monkeypatch.setattr(helpers.pool, "submit", exiting)
    assert sign_many(jobs) == [KEYS[1].sign(m) for _, m in jobs]
    assert not helpers.free.locked()
