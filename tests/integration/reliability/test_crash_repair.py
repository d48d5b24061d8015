"""Multi-step writes survive a crash at any step: side rows commit with their event, and a
key's private half is safe before the key is registered; the retry with the same idempotency
key repairs whatever the crash interrupted.

A crash is simulated two ways: a ``BaseException`` raised right after the command commits
(nothing after it in the process runs, as when the process is killed there), and a database
trigger that fails the insert transaction at its last step.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from ledger_testing import create_city

from ledger import DirectoryKeystore, Ledger, LedgerError
from ledger.certificates.verify import verify_package


class Crash(BaseException):
    """The process dies here: nothing after this point runs."""


class CrashAfterCommit(Ledger):
    """A ledger process that dies right after its next command commits."""

    armed = False

    def _after_write(self) -> None:
        if self.armed:
            raise Crash
        super()._after_write()


def issue(ledger: Ledger, number: str, key: str) -> str:
    result = ledger.issue_certificate(
        "org-a",
        number=number,
        period_from=date(2026, 1, 1),
        period_to=date(2026, 6, 30),
        issuer_contact="office@org-a.example",
        idempotency_key=key,
    )
    return str(result.value.certificate_number)


def assert_valid(ledger: Ledger, certificate: str) -> None:
    package = ledger.certificate_package(certificate)
    verdict = verify_package(package, ledger.log.verifiers())
    assert verdict.valid, verdict.reason


SQL_STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_crash_right_after_issuing_leaves_a_valid_certificate(
    kind: str, store_url_for: Callable[[str], str], tmp_path: Path
) -> None:
    url, keys = store_url_for(kind), DirectoryKeystore(tmp_path / "keys")
    with Ledger(url, keystore=keys) as ledger:
        number = create_city(ledger)["number"]
    with CrashAfterCommit(url, keystore=keys) as crashing:
        crashing.armed = True
        with pytest.raises(Crash):
            issue(crashing, number, "cert-1")
    with Ledger(url, keystore=keys) as ledger:
        certificate = issue(ledger, number, "cert-1")  # the client's retry
        assert ledger.certificate(certificate)["credential"] is not None
        assert_valid(ledger, certificate)


def test_a_failed_credential_write_stores_no_certificate_and_the_retry_issues_it(
    tmp_path: Path,
) -> None:
    """The credential row is the insert transaction's last write: when it fails, the event and
    its leaf roll back with it, and the retry issues a valid certificate."""
    path = tmp_path / "ledger.db"
    url, keys = f"sqlite:///{path}", DirectoryKeystore(tmp_path / "keys")
    with Ledger(url, keystore=keys) as ledger:
        number = create_city(ledger)["number"]
        size = ledger.log_size()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TRIGGER fail_credentials BEFORE INSERT ON ledger_side "
            "WHEN NEW.namespace LIKE '%cert%' BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    with Ledger(url, keystore=keys) as ledger:
        with pytest.raises(LedgerError):
            issue(ledger, number, "cert-1")
        assert ledger.log_size() == size
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER fail_credentials")
    with Ledger(url, keystore=keys) as ledger:
        certificate = issue(ledger, number, "cert-1")
        assert ledger.log_size() == size + 1
        assert_valid(ledger, certificate)


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_crash_right_after_registering_a_new_key_keeps_it_usable(
    kind: str, store_url_for: Callable[[str], str], tmp_path: Path
) -> None:
    url, keys = store_url_for(kind), tmp_path / "keys"
    with Ledger(url, keystore=DirectoryKeystore(keys)) as ledger:
        create_city(ledger)
    with CrashAfterCommit(url, keystore=DirectoryKeystore(keys)) as crashing:
        crashing.armed = True
        with pytest.raises(Crash):
            crashing.new_key("city", for_org="org-b", idempotency_key="org-b-key-2")
    with Ledger(url, keystore=DirectoryKeystore(keys)) as ledger:
        key_id = ledger.new_key("city", for_org="org-b", idempotency_key="org-b-key-2").value.key_id
        assert key_id in ledger.organisation("org-b")["keys"]
        assert ledger.keystore.get("org-b", key_id) is not None
        size = ledger.log_size()
        again = ledger.new_key("city", for_org="org-b", idempotency_key="org-b-key-2").value.key_id
        assert again == key_id and ledger.log_size() == size  # a retry registers nothing new
        signed = ledger.register_volunteer("org-b", idempotency_key="with-new-key")
        stored = ledger.event(signed.events[0].aggregate_id, 1)
        assert stored.key_id == key_id


def test_a_crash_before_registering_leaves_only_an_unused_key_file(tmp_path: Path) -> None:
    """The insert fails after the key file is written: nothing is registered, the stray key
    signs nothing, and the retry registers a key that works."""
    path = tmp_path / "ledger.db"
    url, keys = f"sqlite:///{path}", tmp_path / "keys"
    with Ledger(url, keystore=DirectoryKeystore(keys)) as ledger:
        create_city(ledger)
        before = set(ledger.organisation("org-b")["keys"])
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TRIGGER fail_leaves BEFORE INSERT ON ledger_log_leaves "
            "BEGIN SELECT RAISE(ABORT, 'power cut'); END"
        )
    with Ledger(url, keystore=DirectoryKeystore(keys)) as ledger, pytest.raises(LedgerError):
        ledger.new_key("city", for_org="org-b", idempotency_key="org-b-key-2")
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER fail_leaves")
    with Ledger(url, keystore=DirectoryKeystore(keys)) as ledger:
        assert set(ledger.organisation("org-b")["keys"]) == before
        key_id = ledger.new_key("city", for_org="org-b", idempotency_key="org-b-key-2").value.key_id
        assert set(ledger.organisation("org-b")["keys"]) == before | {key_id}
        ledger.register_volunteer("org-b", idempotency_key="with-new-key")
        assert ledger.signer_for("org-b").key_id == key_id


def test_a_retry_on_a_keystore_without_the_key_says_where_it_is(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(url, keystore=DirectoryKeystore(tmp_path / "keys")) as ledger:
        create_city(ledger)
        ledger.new_key("city", for_org="org-b", idempotency_key="org-b-key-2")
    other = DirectoryKeystore(tmp_path / "other-keys")
    with Ledger(url, keystore=other) as ledger, pytest.raises(LedgerError, match="keystore"):
        ledger.new_key("city", for_org="org-b", idempotency_key="org-b-key-2")


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_crash_between_a_registration_and_its_personal_data_is_repaired_by_the_retry(
    kind: str, store_url_for: Callable[[str], str], tmp_path: Path
) -> None:
    """The event commits, the process dies before the personal data is stored: the retry with
    the same key replays the registration and stores the personal data, under the same number."""
    url, keys = store_url_for(kind), DirectoryKeystore(tmp_path / "keys")
    personal = {"name": "李明", "phone": "13900000000"}
    with Ledger(url, keystore=keys) as ledger:
        create_city(ledger)
        size = ledger.log_size()
    with CrashAfterCommit(url, keystore=keys) as crashing:
        crashing.armed = True
        with pytest.raises(Crash):
            crashing.register_volunteer("org-a", personal=personal, idempotency_key="with-pd")
    with Ledger(url, keystore=keys) as ledger:
        assert ledger.log_size() == size + 1
        stored = list(ledger._recorder.side_items("personal-data"))
        assert stored == [], "the crash came before the personal data was stored"
        result = ledger.register_volunteer("org-a", personal=personal, idempotency_key="with-pd")
        assert result.replayed and ledger.log_size() == size + 1
        assert ledger.personal_data.get(result.value.number) == personal


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_crash_right_after_adding_a_log_key_keeps_it_signing(
    kind: str, store_url_for: Callable[[str], str], tmp_path: Path
) -> None:
    url, keys = store_url_for(kind), DirectoryKeystore(tmp_path / "keys")
    with Ledger(url, keystore=keys) as ledger:
        create_city(ledger)
    with CrashAfterCommit(url, keystore=keys) as crashing:
        crashing.armed = True
        with pytest.raises(Crash):
            crashing.add_log_key("city", idempotency_key="log-key-2")
    with Ledger(url, keystore=keys) as ledger:
        key_id = ledger.add_log_key("city", idempotency_key="log-key-2").value.key_id  # the retry
        assert key_id in ledger.trust_anchors()["log_keys"]
        assert len(ledger.trust_anchors()["log_keys"]) == 2
        note = ledger.log.sign_checkpoint()
        assert note.count("\u2014 ") == 2  # both log keys signed it: the new one's half is kept
