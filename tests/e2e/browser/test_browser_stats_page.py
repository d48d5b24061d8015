"""The public city dashboard in a real browser: ``/stats`` in Chinese and English on a real
``ledger serve`` of the demo city, rendered by headless Chromium with every other host
unreachable; no JavaScript; its charts are SVG; each figure links to how it is recomputed.
Screenshots are kept under ``test-artifacts/browser/``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_support import Server, start_ledger_serve
from test_browser_api_docs import render
from test_browser_verify_page import ARTIFACTS, require_chromium, seen

from ledger import Ledger
from ledger.demo import build_demo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, object]]]:
    workdir = tmp_path_factory.mktemp("stats")
    url = f"sqlite:///{workdir / 'city.db'}"
    with Ledger(url) as ledger:
        build_demo(ledger, volunteers=40)
        last = ledger._recorder.max_notification_id() or 0
    server = start_ledger_serve(url, workdir)
    try:
        deadline = time.monotonic() + 60
        while httpx.get(server.base_url + "/readyz").json()["views_position"] < last:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        yield server, httpx.get(server.base_url + "/stats/dashboard").json()
    finally:
        server.stop()


def test_the_figures_match_the_city_statistics(city: tuple[Server, dict[str, object]]) -> None:
    server, figures = city
    stats = httpx.get(server.base_url + "/stats/city").json()
    assert figures["approved_minutes"] == stats["approved_minutes"] > 0
    months = {bar["key"]: bar["value"] for bar in figures["by_month"]}  # type: ignore[index]
    assert months == stats["minutes_by_month"]
    districts = sum(bar["value"] for bar in figures["by_district"])  # type: ignore[index]
    assert districts == stats["approved_minutes"]  # every recorder sits under a district
    assert figures["stars"] and figures["top_organisations"]


@pytest.mark.parametrize(
    ("lang", "headings"),
    [
        ("zh", ["按月服务时长", "按服务领域", "按区县", "星级志愿者人数", "前十", "如何复核"]),
        (
            "en",
            [
                "Hours by month",
                "Hours by service field",
                "Hours by district",
                "Volunteers by star level",
                "Top stations and teams",
                "How to recompute",
            ],
        ),
    ],
)
def test_the_dashboard_is_server_rendered_svg_without_javascript(
    city: tuple[Server, dict[str, object]], lang: str, headings: list[str]
) -> None:
    server, _ = city
    html = httpx.get(server.base_url + f"/stats?lang={lang}").text
    assert "<script" not in html.lower()
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers either
    assert html.count("<svg") >= 5 and html.count('class="bar"') >= 10
    for key in ("by-month", "by-field", "by-district", "stars", "top"):
        assert f'href="#method-{key}"' in html and f'id="method-{key}"' in html
    assert "ledger audit --bundle" in html
    text = seen(html)
    for heading in headings:
        assert heading in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_chromium_renders_the_dashboard_offline(
    city: tuple[Server, dict[str, object]], lang: str, tmp_path: Path
) -> None:
    chromium = require_chromium()
    server, figures = city
    dom = render(chromium, server.base_url + f"/stats?lang={lang}", tmp_path)
    text = seen(dom)
    top = figures["by_district"][0]  # type: ignore[index]
    assert top["label"] in dom
    assert ("志愿服务数据公开" if lang == "zh" else "Volunteer service in figures") in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"stats-{lang}.png"
    render(chromium, server.base_url + f"/stats?lang={lang}", tmp_path, shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
