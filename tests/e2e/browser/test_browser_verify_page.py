"""The public verification page in a real browser: headless Chromium (Debian's ``chromium``)
opens ``/verify/<number>`` on a real ``ledger serve`` process, for a valid and a revoked
certificate, and we check what a person sees there. Screenshots are kept under
``test-artifacts/browser/``.

Skipped when Chromium is not installed, except under CI (``CI=true``), where it must run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import unescape
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# ``python -m ledger.cli`` has no ``__main__`` module (reported); this spelling runs the same main.
LEDGER_CLI = [sys.executable, "-c", "import sys; from ledger.cli import main; sys.exit(main())"]
START = datetime(2025, 3, 7, 9, 0, tzinfo=UTC)
REVOCATION_REASON = "服务时长重复登记 / hours recorded twice"


def require_chromium() -> str:
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if found is None:
        why = f"headless Chromium is not installed ({CHROMIUM}); apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(f"CI requires Chromium: {why}")
        pytest.skip(why)
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Site:
    base_url: str
    valid: str
    revoked: str
    number: str
    chromium: str
    workdir: Path

    def browse(self, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(dir=self.workdir) as profile:
            command = [
                self.chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                *extra,
                url,
            ]
            done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
        assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
        return done

    def dom(self, path: str) -> str:
        return self.browse(self.base_url + path, "--dump-dom").stdout

    def screenshot(self, path: str, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / name
        target.unlink(missing_ok=True)
        self.browse(
            self.base_url + path,
            f"--screenshot={target}",
            "--window-size=1000,1400",
            "--hide-scrollbars",
        )
        assert target.exists() and target.stat().st_size > 10_000, target
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        return target


def prepare(db_url: str, base_url: str) -> tuple[str, str, str]:
    """A ledger with one volunteer's hours, a valid and a revoked certificate, made with the
    library from the directory the server will run in (its keys are beside the SQLite file)."""
    from ledger import Ledger

    with Ledger(db_url) as ledger:
        ledger.create(
            name="Browser test ledger",
            root_org_id="city",
            root_name="City Volunteer Federation",
            region="140400",
            origin="ledger.browser.example/log",
        )
        ledger.register_organisation(
            "city",
            org_id="org-a",
            name="Luzhou Volunteer Association",
            kind="organisation",
            region="140403",
            idempotency_key="org-a",
        )
        ledger.new_key("city", for_org="org-a", idempotency_key="org-a-key")
        number = str(
            ledger.register_volunteer(
                "org-a", personal={"name": "李华"}, idempotency_key="vol"
            ).value.number
        )
        ledger.give_consent(
            "org-a", number=number, purpose="certificate-name", idempotency_key="consent"
        )
        for i, (service_field, minutes) in enumerate(
            [("legal-aid", 150), ("care-for-elderly-and-children", 95)]
        ):
            activity = ledger.publish_activity(
                "org-a",
                title="Community service",
                field=service_field,
                place="Station",
                starts_at=START,
                ends_at=START + timedelta(hours=4),
                leader="lead-1",
                content="helping residents",
                idempotency_key=f"activity-{i}",
            ).value.activity_id
            record = ledger.record_hours(
                "org-a",
                activity_id=activity,
                number=number,
                minutes=minutes,
                occurred_at=START + timedelta(days=1),
                idempotency_key=f"record-{i}",
            ).value.record_id
            ledger.approve_record("org-a", record_id=record, idempotency_key=f"approve-{i}")

        def issue(key: str) -> str:
            return str(
                ledger.issue_certificate(
                    "org-a",
                    number=number,
                    period_from=date(2025, 1, 1),
                    period_to=date(2025, 12, 31),
                    issuer_contact="0355-2020123",
                    include_masked_name=True,
                    verify_base_url=base_url,
                    idempotency_key=key,
                    allow_local_links=True,
                ).value.certificate_number
            )

        valid, revoked = issue("certificate-1"), issue("certificate-2")
        ledger.revoke_certificate(
            "org-a",
            certificate_number=revoked,
            reason=REVOCATION_REASON,
            idempotency_key="revoke",
        )
        ledger.log.sign_checkpoint()
    return valid, revoked, number


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    chromium = require_chromium()
    workdir = tmp_path_factory.mktemp("browser")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    db_url = f"sqlite:///{workdir / 'l.db'}"
    valid, revoked, number = prepare(db_url, base_url)
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*LEDGER_CLI, "serve", "--db", db_url, "--port", str(port)],
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited: {log_path.read_text()}")
            try:
                if httpx.get(base_url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {log_path.read_text()}")
            time.sleep(0.2)
        yield Site(base_url, valid, revoked, number, chromium, workdir)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)


def seen(dom: str) -> str:
    """The text a person reads in the rendered DOM (no head, no SVG), spaces collapsed."""
    body = re.sub(r"<head>.*?</head>|<svg.*?</svg>", " ", dom, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_a_valid_certificate_reads_valid(site: Site) -> None:
    dom = site.dom(f"/verify/{site.valid}")
    text = seen(dom)
    assert 'data-state="valid"' in dom
    assert "有效 VALID" in text
    assert "已撤销" not in text and "REVOKED" not in text
    for shown in (
        site.valid,
        site.number,
        "李*",
        "2025-01-01 — 2025-12-31",
        "4 小时 5 分钟 / 4 h 5 min",
        "法律援助 / Legal aid",
        "关爱一老一小 / Care for elderly and children",
        "Luzhou Volunteer Association",
        "0355-2020123",
        "扫码核验 / Scan to verify",
        f"{site.base_url}/verify/{site.valid}",
    ):
        assert shown in text, shown
    assert "李华" not in text
    assert "<svg" in dom  # the QR code, inline
    shot = site.screenshot(f"/verify/{site.valid}", "verify-valid.png")
    print(f"screenshot: {shot}")


def test_a_revoked_certificate_reads_revoked_with_the_reason(site: Site) -> None:
    dom = site.dom(f"/verify/{site.revoked}")
    text = seen(dom)
    assert 'data-state="revoked"' in dom
    assert "已撤销 REVOKED" in text
    assert "有效 VALID" not in text
    assert REVOCATION_REASON in text
    assert "撤销原因" in text and "Reason" in text
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", text)
    shot = site.screenshot(f"/verify/{site.revoked}?lang=en", "verify-revoked-en.png")
    print(f"screenshot: {shot}")


def test_english_first_and_an_unknown_number(site: Site) -> None:
    text = seen(site.dom(f"/verify/{site.valid}?lang=en"))
    assert "VALID 有效" in text
    assert text.index("Certificate of volunteer service") < text.index("志愿服务证明")
    text = seen(site.dom("/verify/C2025-AAAAAAAAAA"))
    assert "未找到该证明" in text and "Certificate not found" in text
    assert "C2025-AAAAAAAAAA" in text


def test_the_pages_downloads_verify_with_the_command_line(site: Site) -> None:
    """What the page links to, fetched from the real server, checked by ``ledger verify`` in a
    process of its own with only the log's verifier key."""
    log_key = httpx.get(site.base_url + "/log/key", timeout=10).text.split()[0]
    for number, code, start in [
        (site.valid, 0, f"VALID: certificate {site.valid} issued by org-a"),
        (site.revoked, 1, f"INVALID: certificate {site.revoked} was revoked"),
    ]:
        dom = site.dom(f"/verify/{number}")
        href = re.search(r'<a href="([^"]+)" id="download-package"', dom)
        assert href is not None, dom
        response = httpx.get(site.base_url + unescape(href.group(1)), timeout=10)
        assert response.status_code == 200
        path = site.workdir / f"{number}.certificate.json"
        path.write_bytes(response.content)
        done = subprocess.run(
            [*LEDGER_CLI, "verify", str(path), "--key", log_key],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == code, done.stdout + done.stderr
        assert done.stdout.count("\n") == 1 and done.stdout.startswith(start), done.stdout
