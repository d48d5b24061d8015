"""The verification page's rendering, without a ledger: states, languages, escaping, formats."""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape

import pytest

from ledger.trust import SERVICE_FIELDS
from ledger_api.pages.certificate import (
    FIELD_NAMES_ZH,
    CertificateView,
    State,
    day,
    duration,
    field_names,
    moment,
    render_certificate_page,
    render_not_found,
)

VIEW = CertificateView(
    certificate_number="C2025-ABCDEFGHIJ",
    state="valid",
    reason="certificate C2025-ABCDEFGHIJ issued by org-a ... not revoked as of checkpoint 12",
    volunteer_number="VABCDEFGHIJKLM",
    period_from="2025-01-01",
    period_to="2025-12-31",
    approved_minutes=615,
    issued_at="2026-01-05T08:09:10.123456Z",
    issuer_name="Luzhou Volunteer Association",
    issuer_org="luzhou",
    issuer_contact="0355-1234567",
    page_url="https://ledger.example/verify/C2025-ABCDEFGHIJ",
    record_count=3,
    minutes_by_field=[("legal-aid", 600), ("emergency-rescue", 15)],
    minutes_by_org=[("luzhou", "Luzhou Volunteer Association", 615)],
    checkpoint=12,
    log_origin="ledger.example/log",
    qr_svg='<svg viewBox="0 0 1 1"></svg>',
    links={"package": "/certificates/C2025-ABCDEFGHIJ/package"},
)


def text_of(page: str) -> str:
    page = re.sub(r"<head>.*?</head>|<svg.*?</svg>", " ", page, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_durations_days_and_moments() -> None:
    assert duration(0) == ("0 小时 0 分钟", "0 h 0 min")
    assert duration(615) == ("10 小时 15 分钟", "10 h 15 min")
    assert day("2025-03-07T09:00:00Z") == ("2025年3月7日", "2025-03-07")
    assert day("garbage") == ("garbage", "garbage")
    assert moment("2025-03-07T09:05:59.5Z") == "2025-03-07 09:05 UTC"
    assert moment("soon") == "soon"


def test_every_service_field_has_a_chinese_name() -> None:
    assert set(FIELD_NAMES_ZH) == set(SERVICE_FIELDS)
    assert field_names("legal-aid") == ("法律援助", "Legal aid")
    assert field_names("made-up-field") == ("made-up-field", "Made up field")


@pytest.mark.parametrize(
    ("state", "word"),
    [("valid", "有效 VALID"), ("revoked", "已撤销 REVOKED"), ("invalid", "无效 INVALID")],
)
def test_each_state_says_so_plainly(state: State, word: str) -> None:
    view = replace(
        VIEW, state=state, revoked_at="2026-02-01T10:00:00Z", revoked_reason="wrong person"
    )
    page = render_certificate_page(view)
    text = text_of(page)
    assert word in text
    assert f'data-state="{state}"' in page
    assert ("wrong person" in text) == (state == "revoked")
    assert ("2026-02-01 10:00 UTC" in text) == (state == "revoked")
    if state == "invalid":
        assert VIEW.reason in text


def test_the_content_a_person_needs_is_there() -> None:
    text = text_of(render_certificate_page(VIEW))
    for shown in (
        "志愿服务证明",
        "Certificate of volunteer service",
        "C2025-ABCDEFGHIJ",
        "VABCDEFGHIJKLM",
        "10 小时 15 分钟 / 10 h 15 min",
        "法律援助 / Legal aid",
        "应急救援 / Emergency rescue",
        "Luzhou Volunteer Association (luzhou)",
        "2026年1月5日 / 2026-01-05",
        "0355-1234567",
        "not revoked as of log checkpoint 12",
    ):
        assert shown in text, shown
    assert "姓名" not in text  # no name without one given
    assert "姓名 Name 王**" in text_of(render_certificate_page(replace(VIEW, masked_name="王**")))


def test_english_first_swaps_every_pair() -> None:
    chinese = text_of(render_certificate_page(VIEW))
    english = text_of(render_certificate_page(VIEW, english_first=True))
    assert "10 h 15 min / 10 小时 15 分钟" in english
    assert "Legal aid / 法律援助" in english
    assert "VALID 有效" in english and "有效 VALID" in chinese
    assert english.index("Signed by the issuing") < english.index("本证明由签发单位")
    assert chinese.index("本证明由签发单位") < chinese.index("Signed by the issuing")


def test_all_data_is_escaped() -> None:
    evil = '"><script>alert(1)</script>'
    view = replace(
        VIEW,
        certificate_number=evil,
        volunteer_number=evil,
        masked_name=evil,
        issuer_name=evil,
        issuer_contact=evil,
        issuer_org=evil,
        period_from=evil,
        reason=evil,
        state="revoked",
        revoked_reason=evil,
        revoked_at=evil,
        page_url=evil,
        log_origin=evil,
        minutes_by_field=[(evil, 1)],
        minutes_by_org=[(evil, evil, 1)],
        links={"package": evil},
    )
    for english_first in (False, True):
        page = render_certificate_page(view, english_first=english_first)
        assert "<script" not in page
        assert '"><script' not in page and 'href=""' not in page
        assert evil in text_of(page)
        page = render_not_found(evil, english_first=english_first)
        assert "<script" not in page and evil in text_of(page)


def test_no_javascript_and_a_print_layout() -> None:
    page = render_certificate_page(VIEW)
    assert "<script" not in page and "onclick" not in page
    assert "@media print" in page and "size: A4" in page
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
