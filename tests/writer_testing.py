"""Writer processes for the concurrency and crash tests (imported by name; not a test module)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ledger_testing import create_city

from ledger import DirectoryKeystore, Ledger
from ledger.audit import AuditReport, StoreSource, audit

WRITER = Path(__file__).with_name("writer_process.py")


def writer_city(url: str, keys: Path, writers: int) -> list[str]:
    """A city whose keys live in ``keys`` (so other processes can sign), with one organisation
    ``org-wN`` per writer; returns their ids."""
    orgs = [f"org-w{index}" for index in range(writers)]
    with Ledger(url, keystore=DirectoryKeystore(keys)) as ledger:
        create_city(ledger)
        for org in orgs:
            ledger.register_organisation(
                "city",
                org_id=org,
                name=org,
                kind="organisation",
                region="1404",
                idempotency_key=org,
            )
            ledger.new_key("city", for_org=org, idempotency_key=f"{org}-key")
    return orgs


@dataclass
class WriterProcess:
    """One ``writer_process.py``; ``acknowledged`` holds the lines it printed for stored
    commands, ``errors`` the ledger errors it reported."""

    process: subprocess.Popen[str]
    acknowledged: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(
        cls, url: str, keys: Path, org: str, prefix: str, first: int, count: int, skew_ms: int = 0
    ) -> WriterProcess:
        arguments = [url, str(keys), org, prefix, str(first), str(count), str(skew_ms)]
        process = subprocess.Popen(
            [sys.executable, str(WRITER), *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return cls(process)

    def read_line(self) -> dict[str, Any] | None:
        """The next line, recorded as acknowledged or error; None at the end of output."""
        stdout: IO[str] | None = self.process.stdout
        assert stdout is not None
        text = stdout.readline()
        if not text:
            return None
        line: dict[str, Any] = json.loads(text)
        (self.errors if "error" in line else self.acknowledged).append(line)
        return line

    def finish(self, timeout: float = 300) -> tuple[int, str]:
        """Read everything to the end; return (exit status, stderr)."""
        while self.read_line() is not None:
            pass
        _, stderr = self.process.communicate(timeout=timeout)
        return self.process.returncode, stderr


def run_writers(
    url: str, keys: Path, orgs: list[str], each: int, skews_ms: list[int] | None = None
) -> list[WriterProcess]:
    """Start one writer process per organisation at once and wait for all of them; each must
    exit 0 (no error escaped as anything but a ledger error)."""
    skews = skews_ms or [0] * len(orgs)
    writers = [
        WriterProcess.start(url, keys, org, f"{org}-vol", 0, each, skew)
        for org, skew in zip(orgs, skews, strict=True)
    ]
    for writer in writers:
        status, stderr = writer.finish()
        assert status == 0, stderr
        assert len(writer.acknowledged) == each
    return writers


def audit_store(url: str) -> AuditReport:
    with Ledger(url, keystore=DirectoryKeystore(Path("/nonexistent-keystore"))) as ledger:
        return audit(StoreSource(ledger), workers=1, progress=False, compare_views=False)


def describe(report: AuditReport) -> str:
    return "\n".join(f.line() for f in report.findings)
