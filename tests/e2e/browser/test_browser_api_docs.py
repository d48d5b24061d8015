"""``/docs`` and ``/redoc`` work offline: the pages reference no external host, their bundles
come from the server itself, and headless Chromium, with every other host unreachable, renders
Swagger UI (with its Authorize button, from the OpenAPI's bearer scheme) and ReDoc.

Skipped when Chromium is not installed, except under CI (``CI=true``), where it must run.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from api_support import Server, start_ledger_serve
from test_browser_verify_page import ARTIFACTS, require_chromium

from ledger import Ledger

pytestmark = pytest.mark.slow
# Every host but the server's own fails to resolve: a page that needs a CDN renders blank.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


class References(HTMLParser):
    """Every URL a page loads or links to: src, href, spec-url, and url: in inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._script = tag == "script"
        self.urls += [v for k, v in attrs if k in ("src", "href", "spec-url") and v]

    def handle_data(self, data: str) -> None:
        if self._script:
            self.urls += re.findall(r"url:\s*'([^']+)'", data)
            self.urls += re.findall(r"https?://[^\s'\"<>]+", data)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("docs")
    url = f"sqlite:///{workdir / 'docs.db'}"
    with Ledger(url) as ledger:
        ledger.create(
            name="Docs test ledger",
            root_org_id="city",
            root_name="City Volunteer Federation",
            region="140400",
            origin="ledger.docs.example/log",
        )
    started = start_ledger_serve(url, workdir)
    try:
        yield started
    finally:
        started.stop()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_reference_no_external_host(server: Server, page: str) -> None:
    response = httpx.get(server.base_url + page)
    assert response.status_code == 200
    parser = References()
    parser.feed(response.text)
    assert len(parser.urls) >= 3, parser.urls  # a script, a favicon, the OpenAPI at least
    for reference in parser.urls:
        absolute = urljoin(server.base_url + page, reference)
        assert urlsplit(absolute).netloc == urlsplit(server.base_url).netloc, reference
        assert httpx.get(absolute).status_code == 200, reference


def test_the_openapi_declares_the_bearer_scheme_on_operations_that_need_a_key(
    server: Server,
) -> None:
    schema = httpx.get(server.base_url + "/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearer"]["description"],
    }
    assert schemes["apiKeyHeader"]["in"] == "header"
    assert schemes["apiKeyHeader"]["name"] == "X-API-Key"
    balance = schema["paths"]["/volunteers/{number}/balance"]["get"]
    assert {"bearer": []} in balance["security"]
    assert "security" not in schema["paths"]["/stats/city"]["get"]  # public figures
    headers = [p["name"].lower() for p in balance.get("parameters", []) if p["in"] == "header"]
    assert "authorization" not in headers  # a scheme now, not a bare header parameter


def render(chromium: str, url: str, workdir: Path, screenshot: Path | None = None) -> str:
    with tempfile.TemporaryDirectory(dir=workdir) as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            f"--user-data-dir={profile}",
            OFFLINE,
            "--virtual-time-budget=10000",
            "--window-size=1200,1400",
        ]
        command += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
        done = subprocess.run(
            [*command, url], capture_output=True, text=True, timeout=120, check=False
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_swagger_ui_renders_offline_with_an_authorize_button(
    server: Server, tmp_path: Path
) -> None:
    chromium = require_chromium()
    dom = render(chromium, server.base_url + "/docs", tmp_path)
    assert 'class="btn authorize' in dom, dom[-3000:]
    assert "Service-hour ledger" in dom and "/volunteers/{number}/balance" in dom
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "api-docs-swagger.png"
    render(chromium, server.base_url + "/docs", tmp_path, shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_redoc_renders_offline(server: Server, tmp_path: Path) -> None:
    chromium = require_chromium()
    dom = render(chromium, server.base_url + "/redoc", tmp_path)
    assert "Service-hour ledger" in dom
    assert "/volunteers/{number}/balance" in dom or "volunteers/{number}/balance" in dom, dom[
        -3000:
    ]
