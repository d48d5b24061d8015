"""The restore drill of docs/deployment.md, as the operator runs it: back the ledger up while it
serves (SQLite's online backup; ``pg_dump``), restore into a new file or database, and audit the
restored copy against the published trust anchors. It must end clean, with the same signed
checkpoint, and the restored ledger must take new records."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from audit_support import cli

from ledger import Ledger
from ledger.cli.init import write_trust_file
from ledger.demo import build_demo

pytestmark = pytest.mark.slow
POSTGRES_URL = os.environ.get(
    "LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def build(url: str, trust: Path) -> str:
    """A small demo city with its views caught up; its newest signed checkpoint."""
    with Ledger(url) as ledger:
        made = build_demo(ledger, volunteers=12)
        write_trust_file(trust, made["anchors"])
        views = ledger.projections()
        views.catch_up()
        views.close()
        return str(made["checkpoint"])


def drill(
    capsys: pytest.CaptureFixture[str], restored_url: str, trust: Path, checkpoint: str
) -> None:
    code, out, err = cli(capsys, "audit", "--db", restored_url, "--trust", trust, "--quiet")
    assert code == 0, out + err
    assert "RESULT: clean, no findings" in out
    with Ledger(restored_url) as restored:
        assert restored.log.latest() == checkpoint
        root = restored._directory.require_ledger().root_org
        restored.publish_calendar(
            root,
            time_zone="Asia/Shanghai",
            holidays=[],
            working_days=[],
            idempotency_key="after-restore",
        )
        restored.log.sign_checkpoint()
    code, out, _ = cli(capsys, "audit", "--db", restored_url, "--trust", trust, "--quiet")
    assert code == 0 and "RESULT: clean, no findings" in out


def test_a_sqlite_ledger_restored_from_an_online_backup_audits_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    live, trust = tmp_path / "live" / "ledger.db", tmp_path / "ledger-trust.json"
    checkpoint = build(f"sqlite:///{live}", trust)
    backup = tmp_path / "backup" / "ledger.db"
    backup.parent.mkdir()
    with sqlite3.connect(live) as source, sqlite3.connect(backup) as target:
        source.backup(target)  # what `sqlite3 ledger.db ".backup backup.db"` does
    shutil.copytree(live.with_name("ledger.db.keys"), backup.with_name("ledger.db.keys"))

    restored = tmp_path / "restored" / "ledger.db"
    shutil.copytree(backup.parent, restored.parent)
    drill(capsys, f"sqlite:///{restored}", trust, checkpoint)


def _postgres_tools() -> None:
    missing = [tool for tool in ("pg_dump", "psql") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI requires the PostgreSQL client tools: {missing}")
        pytest.skip(f"no {missing} on this machine")


@pytest.fixture
def new_database() -> Iterator[str]:
    """An empty database on the test server, dropped afterwards."""
    import psycopg

    name = "restore_" + uuid.uuid4().hex[:12]
    base = POSTGRES_URL.split("?")[0]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_a_postgresql_ledger_restored_with_pg_dump_into_a_new_database_audits_clean(
    postgres_schema: str,
    new_database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _postgres_tools()
    monkeypatch.chdir(tmp_path)  # the keystore of a PostgreSQL ledger is ./ledger-keys
    trust = tmp_path / "ledger-trust.json"
    checkpoint = build(postgres_schema, trust)
    schema = postgres_schema.rsplit("schema=", 1)[1]
    dump = tmp_path / "ledger.sql"
    source = postgres_schema.split("?")[0]
    subprocess.run(
        ["pg_dump", "--no-owner", "--schema", schema, "--file", str(dump), source], check=True
    )
    subprocess.run(
        ["psql", "--quiet", "--set", "ON_ERROR_STOP=1", "--file", str(dump), new_database],
        check=True,
        capture_output=True,
    )
    drill(capsys, f"{new_database}?schema={schema}", trust, checkpoint)
