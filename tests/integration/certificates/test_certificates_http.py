"""Certificates over HTTP (FastAPI's TestClient on a ledger in memory): issuing and revoking with
an API key, the public JSON, downloads and status, the verdict endpoint, the badges, and the
verification page a person opens from the QR code."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from html import unescape
from typing import Any

import pytest
import segno
from fastapi.testclient import TestClient
from test_certificates_town import CONTACT, FULL_NAME, MASKED, Town, build_town, resign

from ledger import Ledger, SigningKey
from ledger.apikeys import create_api_key
from ledger.certificates import open_status, verify_document, verify_package
from ledger.credentials import add_proof, did_key_verification_method, verify_proof
from ledger.log.note import parse_verifier_key
from ledger_api.app import create_app
from ledger_api.settings import Settings

Opener = Callable[..., Ledger]
PROBLEM_JSON = "application/problem+json"
BASE = "http://testserver"


@dataclass
class Http:
    town: Town
    client: TestClient
    keys: dict[str, str]

    def headers(self, key: str = "a", idempotency: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.keys[key]}"}
        headers["Idempotency-Key"] = idempotency or self.town.key("http")
        return headers

    def issue(self, key: str = "a", **changes: Any) -> str:
        body = {
            "number": self.town.number,
            "period_from": "2025-01-01",
            "period_to": "2025-12-31",
            "issuer_contact": CONTACT,
            **changes,
        }
        response = self.client.post("/certificates", json=body, headers=self.headers(key))
        assert response.status_code == 201, response.text
        return str(response.json()["value"]["certificate_number"])

    def revoke(self, number: str, reason: str, key: str = "a") -> Any:
        return self.client.post(
            f"/certificates/{number}/revoke", json={"reason": reason}, headers=self.headers(key)
        )

    def log_keys(self) -> list[Any]:
        text = self.client.get("/log/key").text
        return [parse_verifier_key(line) for line in text.splitlines() if line]

    def page(self, number: str, **params: str) -> tuple[int, str]:
        response = self.client.get(f"/verify/{number}", params=params)
        assert response.headers["content-type"].startswith("text/html"), response.headers
        return response.status_code, response.text


@pytest.fixture
def http(open_ledger: Opener, monkeypatch: pytest.MonkeyPatch) -> Iterator[Http]:
    monkeypatch.delenv("LEDGER_PUBLIC_URL", raising=False)
    town = build_town(open_ledger("memory://"))
    ledger = town.ledger
    keys = {
        "a": create_api_key(ledger, "org-a", ["award", "read"]),
        "a_read": create_api_key(ledger, "org-a", ["read", "register"]),
        "b": create_api_key(ledger, "org-b", ["award"]),
        "city": create_api_key(ledger, "city", ["award"]),
    }
    app = create_app(Settings(database_url="memory://", run_projections=False), ledger=ledger)
    with TestClient(app) as client:
        yield Http(town, client, keys)


def problem(response: Any, status: int, kind: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    if kind is not None:
        assert body["type"].endswith("/" + kind), body
    return body


def text_of(page: str) -> str:
    """What a person reads: the page without its tags, style and SVG, spaces collapsed."""
    page = re.sub(r"<head>.*?</head>|<svg.*?</svg>", " ", page, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())


# --- writes ---------------------------------------------------------------------------------


def test_issue_verify_revoke_verify_again_over_http(http: Http) -> None:
    number = http.issue()
    assert re.fullmatch(r"C2025-[A-Z2-7]{10}", number)
    verdict = http.client.post("/verify", json={"certificate_number": number}).json()
    assert verdict["valid"] is True, verdict
    assert verdict["line"] == "VALID: " + verdict["reason"]
    assert verdict["details"]["approved_minutes"] == 215
    assert verdict["details"]["checked"] == "certificate_number"
    assert verify_package(verdict["evidence"], http.log_keys()).valid

    response = http.revoke(number, "entered for the wrong period")
    assert response.status_code == 201, response.text
    assert [e["type"] for e in response.json()["events"]] == ["CertificateRevoked"]
    verdict = http.client.post("/verify", json={"certificate_number": number}).json()
    assert verdict["valid"] is False
    leaf = response.json()["events"][0]["leaf_index"]
    assert verdict["reason"].endswith(
        f"was revoked (log leaf {leaf}): entered for the wrong period"
    )
    problem(http.revoke(number, "again"), 422)


def test_issuing_is_idempotent_and_needs_the_award_scope(http: Http) -> None:
    body = {
        "number": http.town.number,
        "period_from": "2025-01-01",
        "period_to": "2025-06-30",
        "issuer_contact": CONTACT,
        "language": "en",
    }
    headers = http.headers(idempotency="issue-once")
    first = http.client.post("/certificates", json=body, headers=headers)
    again = http.client.post("/certificates", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    changed = http.client.post("/certificates", json={**body, "language": "zh"}, headers=headers)
    problem(changed, 409)

    problem(http.client.post("/certificates", json=body), 401, "unauthenticated")
    problem(
        http.client.post("/certificates", json=body, headers=http.headers("a_read")),
        403,
        "scope-missing",
    )
    problem(http.client.post("/certificates", json=body, headers=http.headers("b")), 403)
    for bad in (
        {"language": "fr"},
        {"number": "not-a-number"},
        {"period_from": "2025-13-01"},
        {"issuer_contact": ""},
        {"extra": 1},
    ):
        problem(
            http.client.post("/certificates", json={**body, **bad}, headers=http.headers()),
            422,
            "invalid-request",
        )
    missing = {k: v for k, v in body.items() if k != "issuer_contact"}
    problem(http.client.post("/certificates", json=missing, headers=http.headers()), 422)


def test_revoking_needs_the_issuer_or_above(http: Http) -> None:
    number = http.issue()
    problem(http.revoke(number, "not mine", key="b"), 403)
    problem(http.client.post(f"/certificates/{number}/revoke", json={"reason": "x"}), 401)
    problem(http.revoke(number, ""), 422)
    assert http.revoke(number, "the federation withdraws it", key="city").status_code == 201
    problem(http.revoke("C2025-AAAAAAAAAA", "unknown"), 404)


# --- public JSON and downloads --------------------------------------------------------------


def test_the_certificate_json_needs_no_key(http: Http) -> None:
    number = http.issue()
    body = http.client.get(f"/certificates/{number}").json()
    assert body["certificate_number"] == number
    assert body["issuer"] == "org-a" and body["issuer_name"] == "Organisation A"
    assert body["status"] == {"state": "valid", "revoked_at": None, "reason": None}
    assert body["data"]["approved_minutes"] == 215
    verify_proof(body["credential"])
    assert body["links"]["page"] == f"/verify/{number}"
    status_url = body["credential"]["credentialStatus"][1]["id"]
    assert status_url == f"{BASE}/verify/{number}/status"
    assert body["credential"]["evidence"][0]["verifyUrl"] == f"{BASE}/verify/{number}"
    problem(http.client.get("/certificates/C2025-AAAAAAAAAA"), 404, "not-found")


def test_links_in_the_credential_use_the_configured_public_url(
    http: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_PUBLIC_URL", "https://volunteer.example.org/")
    number = http.issue()
    credential = http.client.get(f"/certificates/{number}").json()["credential"]
    url = f"https://volunteer.example.org/verify/{number}"
    assert credential["credentialStatus"][1]["id"] == url + "/status"
    assert credential["evidence"][0]["verifyUrl"] == url
    assert http.client.post("/verify", json=credential).json()["valid"] is True


def test_package_credential_and_receipt_download_and_verify(http: Http) -> None:
    number = http.issue()
    keys = http.log_keys()
    response = http.client.get(f"/certificates/{number}/package")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert f'filename="{number}.certificate.json"' in response.headers["content-disposition"]
    package = response.json()
    assert set(package) == {
        "credential",
        "issuance_receipt",
        "key_receipt",
        "status",
        "status_checkpoint",
    }
    assert verify_package(package, keys).valid

    response = http.client.get(f"/certificates/{number}/credential")
    assert response.headers["content-type"].startswith("application/vc")
    assert "attachment" in response.headers["content-disposition"]
    credential = json.loads(response.content)
    verify_proof(credential)
    assert credential == package["credential"]

    response = http.client.get(f"/certificates/{number}/receipt")
    assert response.headers["content-type"].startswith("text/plain")
    assert f'filename="{number}.tlog-proof"' in response.headers["content-disposition"]
    verdict = verify_document(response.text, keys)
    assert verdict.valid and verdict.reason.startswith("CertificateIssued by org-a is leaf")


def test_the_status_note_at_both_urls_follows_the_revocation(http: Http) -> None:
    number = http.issue()
    keys = http.log_keys()
    status_url = http.client.get(f"/certificates/{number}").json()["credential"][
        "credentialStatus"
    ][1]["id"]
    for path in (f"/certificates/{number}/status", status_url.removeprefix(BASE)):
        response = http.client.get(path)
        assert response.headers["content-type"].startswith("text/plain")
        assert response.headers["cache-control"] == "no-cache"
        status = open_status(response.text, keys)
        assert (status.certificate_number, status.revoked) == (number, False)
    http.revoke(number, "duplicate")
    status = open_status(http.client.get(status_url.removeprefix(BASE)).text, keys)
    assert status.revoked and status.reason == "duplicate"
    problem(http.client.get("/verify/C2025-AAAAAAAAAA/status"), 404)


# --- the verdict endpoint -------------------------------------------------------------------


def test_verify_takes_a_package_a_credential_or_a_number(http: Http) -> None:
    number = http.issue()
    package = http.client.get(f"/certificates/{number}/package").json()

    def verdict(document: Any) -> dict[str, Any]:
        response = http.client.post("/verify", json=document)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert set(body) >= {"valid", "reason", "details", "line"}
        return body

    assert verdict(package)["valid"] is True
    assert verdict(package)["details"]["checked"] == "package"
    by_credential = verdict(package["credential"])
    assert by_credential["valid"] is True and by_credential["details"]["checked"] == "credential"
    assert verify_package(by_credential["evidence"], http.log_keys()).valid

    inflated = json.loads(json.dumps(package))
    inflated["credential"]["credentialSubject"]["approvedMinutes"] = 6000
    answer = verdict(inflated)
    assert answer["valid"] is False and "signature does not verify" in answer["reason"]
    answer = verdict(inflated["credential"])
    assert answer["valid"] is False and "signature does not verify" in answer["reason"]

    resigned = resign(inflated["credential"], http.town.ledger.signer_for("org-a"))
    answer = verdict(resigned)
    assert answer["valid"] is False
    assert answer["reason"] == (
        "the credential differs from the one the ledger logged (content changed)"
    )

    swapped = resign(package["credential"], http.town.ledger.signer_for("org-b"), as_issuer="B")
    assert verdict(swapped)["valid"] is False

    unknown = verdict({"certificate_number": "C2025-AAAAAAAAAA"})
    assert unknown == {
        **unknown,
        "valid": False,
        "reason": "certificate C2025-AAAAAAAAAA is not in this ledger",
    }
    foreign = dict(package["credential"], certificateNumber="C2025-BBBBBBBBBB")
    assert verdict(foreign)["reason"] == "certificate C2025-BBBBBBBBBB is not in this ledger"
    assert verdict({"hello": "world"})["valid"] is False
    for broken in ({"credential": None}, {"credential": "x", "status": 1}, {"proof": 5}):
        answer = verdict(broken)
        assert answer["valid"] is False and answer["reason"]
    problem(http.client.post("/verify", json=[1, 2]), 422)
    problem(
        http.client.post(
            "/verify", content=b"not json", headers={"content-type": "application/json"}
        ),
        422,
    )


def test_verify_after_revocation_says_so(http: Http) -> None:
    number = http.issue()
    credential = http.client.get(f"/certificates/{number}/credential").json()
    http.revoke(number, "the volunteer asked for a corrected one")
    answer = http.client.post("/verify", json=credential).json()
    assert answer["valid"] is False
    assert "was revoked" in answer["reason"]
    assert answer["reason"].endswith("the volunteer asked for a corrected one")


# --- badges ---------------------------------------------------------------------------------


def test_badges_are_open_badges_that_verify(http: Http) -> None:
    ledger = http.town.ledger
    ledger.new_key("city", for_org="city", idempotency_key="auto", purpose="automatic-awards")
    ledger.publish_star_scheme(
        "city",
        scheme_id="tiny-stars",
        name="Tiny stars",
        thresholds_hours=[1, 3],
        idempotency_key="scheme",
    )
    http.town.approved("org-a", http.town.number, 30, "legal-aid")
    path = f"/volunteers/{http.town.number}/badges"
    response = http.client.get(path, params={"scheme_id": "tiny-stars"})
    assert response.status_code == 200, response.text
    star = json.loads(response.content)
    verify_proof(star)
    assert "OpenBadgeCredential" in star["type"]
    assert star["credentialSubject"]["achievement"]["achievementType"] == "CommunityService"
    answer = http.client.post("/verify", json=star).json()
    assert answer["valid"] is True and answer["details"]["issuer"] == "city"

    forger = SigningKey.generate()
    unsigned = {k: v for k, v in star.items() if k != "proof"}
    forged = add_proof(
        unsigned,
        forger,
        did_key_verification_method(forger.public_key),
        star["proof"][0]["created"],
    )
    answer = http.client.post("/verify", json=forged).json()
    assert answer["valid"] is False and "not registered in this ledger" in answer["reason"]

    problem(http.client.get(path, params={"scheme_id": "no-such"}), 404)
    problem(http.client.get(path), 400)
    problem(http.client.get(path, params={"scheme_id": "a", "honour_id": "b"}), 400)


# --- the page for people --------------------------------------------------------------------


def test_the_page_shows_a_valid_certificate_in_both_languages(http: Http) -> None:
    http.town.consent()
    number = http.issue(include_masked_name=True)
    status, page = http.page(number)
    assert status == 200
    assert "<script" not in page.lower()  # works without JavaScript
    assert '<html lang="zh-CN">' in page
    assert 'data-state="valid"' in page
    text = text_of(page)
    assert "有效 VALID" in text
    for shown in (
        number,
        http.town.number,
        MASKED,
        "2025-01-01 — 2025-12-31",
        "3 小时 35 分钟 / 3 h 35 min",
        "法律援助 / Legal aid",
        "2 小时 0 分钟 / 2 h 0 min",
        "医疗卫生 / Medical and health",
        "1 小时 35 分钟 / 1 h 35 min",
        "Organisation A (org-a)",
        "Station A1 (station-a1)",
        "签发单位",
        "Issued by",
        CONTACT,
        "not revoked as of log checkpoint",
    ):
        assert shown in text, shown
    assert FULL_NAME not in text
    issued = http.client.get(f"/certificates/{number}").json()["issued_at"]
    assert issued[:10] in text
    assert "撤销原因" not in text  # no revocation section


def test_the_page_puts_english_first_when_asked(http: Http) -> None:
    number = http.issue()
    _, chinese_first = http.page(number)
    status, english_first = http.page(number, lang="en")
    assert status == 200
    assert '<html lang="en">' in english_first
    text = text_of(english_first)
    assert "VALID 有效" in text
    assert "3 h 35 min / 3 小时 35 分钟" in text
    assert text.index("Certificate of volunteer service") < text.index("志愿服务证明")
    assert text_of(chinese_first).index("志愿服务证明") < text_of(chinese_first).index(
        "Certificate of volunteer service"
    )
    # a certificate issued in English opens in English; an unknown lang is ignored
    english = http.issue(language="en")
    assert '<html lang="en">' in http.page(english)[1]
    assert '<html lang="en">' in http.page(english, lang="xx")[1]
    assert '<html lang="zh-CN">' in http.page(english, lang="zh")[1]


def test_the_page_shows_a_revoked_certificate_with_when_and_why(http: Http) -> None:
    number = http.issue()
    http.revoke(number, "hours were recorded twice")
    found = http.client.get(f"/certificates/{number}").json()
    status, page = http.page(number)
    assert status == 200
    assert 'data-state="revoked"' in page
    text = text_of(page)
    assert "已撤销 REVOKED" in text
    assert "有效 VALID" not in text
    assert "hours were recorded twice" in text
    assert "撤销原因" in text and "Reason" in text
    revoked_at = found["revoked_at"]
    assert f"{revoked_at[:10]} {revoked_at[11:16]} UTC" in text


def test_the_page_escapes_everything_it_shows(http: Http) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    number = http.issue(issuer_contact=hostile)
    http.revoke(number, "</q><script>alert(2)</script>")
    _, page = http.page(number)
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    text = text_of(page)
    assert hostile in text and "</q><script>alert(2)</script>" in text
    status, page = http.page('<b onclick="x">C2025')
    assert status == 404 and "<b " not in page
    assert "&lt;b onclick=&quot;x&quot;&gt;C2025" in page


def test_the_qr_code_holds_the_pages_own_url(http: Http) -> None:
    number = http.issue()
    for params in ({}, {"lang": "en"}):
        _, page = http.page(number, **params)
        url = f"{BASE}/verify/{number}" + ("?lang=en" if params else "")
        svg = re.search(r"<svg.*?</svg>", page, flags=re.S)
        assert svg is not None
        expected = segno.make(url, error="m").svg_inline(
            scale=4, border=2, omitsize=True, title="QR code: " + url
        )
        assert svg.group(0) == expected
        assert url in text_of(page)


def test_the_page_links_the_downloads_and_prints_on_one_page(http: Http) -> None:
    number = http.issue()
    _, page = http.page(number)
    for href in (
        f"/certificates/{number}/package",
        f"/certificates/{number}/credential",
        f"/certificates/{number}/receipt",
        f"/verify/{number}/status",
    ):
        assert f'href="{href}"' in page
        assert http.client.get(href).status_code == 200
    assert "@media print" in page and "@page" in page and "size: A4" in page


def test_an_unknown_certificate_is_a_404_page_in_both_languages(http: Http) -> None:
    status, page = http.page("C2025-AAAAAAAAAA")
    assert status == 404
    text = text_of(page)
    assert "未找到该证明" in text and "Certificate not found" in text
    assert "C2025-AAAAAAAAAA" in text
    assert text.index("未找到") < text.index("Certificate not found")
    status, page = http.page("C2025-AAAAAAAAAA", lang="en")
    assert status == 404
    assert text_of(page).index("Certificate not found") < text_of(page).index("未找到")


# --- JSON-LD context, status lists and links over HTTP -------------------------------------


def test_the_ledger_context_is_served_as_shipped(http: Http) -> None:
    from ledger.credentials.jsonld_documents import LEDGER_CONTEXT_FILE, context_bytes

    number = http.issue()
    credential = http.client.get(f"/certificates/{number}").json()["credential"]
    url = credential["@context"][1]
    assert url == f"{BASE}/contexts/service-hour-ledger-v1.jsonld"
    response = http.client.get(url.removeprefix(BASE))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    assert response.content == context_bytes(LEDGER_CONTEXT_FILE)


def test_the_status_list_credential_flips_when_the_certificate_is_revoked(http: Http) -> None:
    from ledger.credentials.status_list import bit_is_set, decode_list

    number = http.issue()
    credential = http.client.get(f"/certificates/{number}").json()["credential"]
    entry = credential["credentialStatus"][0]
    assert entry["type"] == "BitstringStatusListEntry"

    def revoked() -> bool:
        response = http.client.get(entry["statusListCredential"].removeprefix(BASE))
        assert response.headers["content-type"].startswith("application/vc")
        status_list = response.json()
        verify_proof(status_list)
        assert status_list["issuer"] == credential["issuer"]["id"]
        encoded = status_list["credentialSubject"]["encodedList"]
        return bit_is_set(decode_list(encoded), int(entry["statusListIndex"]))

    assert not revoked()
    http.revoke(number, "hours were double counted")
    assert revoked()
    problem(http.client.get("/status-lists/certificates/C2025-AAAAAAAAAA"), 404)


def test_honour_badges_name_a_status_list_that_follows_the_revocation(http: Http) -> None:
    ledger, town = http.town.ledger, http.town
    honour_id = ledger.grant_honour(
        "org-a",
        recipient_kind="volunteer",
        recipient=town.number,
        honour="Legal aid star",
        citation="a year at the legal aid desk",
        granted_on=date(2025, 12, 5),
        idempotency_key="honour",
    ).value.honour_id
    badge = http.client.get(
        f"/volunteers/{town.number}/badges", params={"honour_id": honour_id}
    ).json()
    url = badge["credentialStatus"]["statusListCredential"].removeprefix(BASE)
    before = http.client.get(url).json()["credentialSubject"]["encodedList"]
    assert http.client.post("/verify", json=badge).json()["valid"] is True
    ledger.revoke_honour(
        "org-a",
        recipient_kind="volunteer",
        recipient=town.number,
        honour_id=honour_id,
        reason="granted by mistake",
        idempotency_key="unhonour",
    )
    after = http.client.get(url).json()["credentialSubject"]["encodedList"]
    assert before != after
    answer = http.client.post("/verify", json=badge).json()
    assert answer["valid"] is False and "no longer stands" in answer["reason"]
    problem(http.client.get(f"/status-lists/badges/{town.number}/honours/nothing"), 404)
    problem(http.client.get(f"/status-lists/badges/{town.number}/stars/x/99"), 422)


def test_a_server_whose_public_url_is_loopback_refuses_to_sign_unless_a_demo(
    http: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_PUBLIC_URL", "http://0.0.0.0:8000")
    size = http.town.ledger.log_size()
    body = problem(
        http.client.post(
            "/certificates",
            json={
                "number": http.town.number,
                "period_from": "2025-01-01",
                "period_to": "2025-12-31",
                "issuer_contact": "desk",
            },
            headers=http.headers(idempotency="local-links"),
        ),
        400,
    )
    assert "refusing to sign links to 0.0.0.0" in body["detail"]
    assert http.town.ledger.log_size() == size
    monkeypatch.setenv("LEDGER_ALLOW_LOCAL_LINKS", "true")
    number = http.issue()
    credential = http.client.get(f"/certificates/{number}").json()["credential"]
    assert credential["evidence"][0]["verifyUrl"] == f"http://0.0.0.0:8000/verify/{number}"
