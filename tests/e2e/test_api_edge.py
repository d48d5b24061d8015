"""The edge, through raw sockets against a real server process: bodies limited while they are
read (chunked or not) and before any authentication; Content-Length with chunked encoding
refused; U+0000, lone surrogates and duplicate members refused with 400 and never stored;
metric labels bounded; security headers on HTML pages."""

from __future__ import annotations

import json
import select
import socket
import time
from urllib.parse import urlsplit

import pytest
from api_support import Api, assert_problem

CHUNK = b"x" * 65536


def _connect(api: Api) -> socket.socket:
    parts = urlsplit(api.base_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    return sock


def _read_response(sock: socket.socket, timeout: float = 10.0) -> tuple[int, bytes]:
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        if not more:
            break
        data += more
    status = int(data.split(b" ", 2)[1])
    return status, data


def _request_head(api: Api, method: str, path: str, headers: dict[str, str]) -> bytes:
    host = urlsplit(api.base_url).netloc
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def test_an_unauthenticated_chunked_body_is_cut_off_at_the_limit(small_body_api: Api) -> None:
    """The server answers 413 long before a 100 MB chunked body could have been read."""
    api = small_body_api
    sock = _connect(api)
    head = {"Transfer-Encoding": "chunked", "Content-Type": "application/json"}
    sock.sendall(_request_head(api, "POST", "/volunteers", head))
    sent, answered = 0, False
    try:
        while sent < 100 * 2**20:
            sock.sendall(b"%x\r\n" % len(CHUNK) + CHUNK + b"\r\n")
            sent += len(CHUNK)
            if select.select([sock], [], [], 0)[0]:
                answered = True
                break
    except (BrokenPipeError, ConnectionResetError):
        answered = True
    assert answered, "the whole 100 MB was accepted without an answer"
    assert sent < 10 * 2**20
    status, data = _read_response(sock)
    sock.close()
    assert status == 413, data
    assert b"application/problem+json" in data


def test_a_declared_length_over_the_limit_is_refused_before_the_body(small_body_api: Api) -> None:
    api = small_body_api
    sock = _connect(api)
    sock.sendall(_request_head(api, "POST", "/volunteers", {"Content-Length": str(10**8)}))
    status, _ = _read_response(sock)
    sock.close()
    assert status == 413


def test_content_length_with_chunked_encoding_is_refused_not_left_hanging(
    small_body_api: Api,
) -> None:
    api = small_body_api
    sock = _connect(api)
    head = {"Content-Length": "4", "Transfer-Encoding": "chunked"}
    sock.sendall(_request_head(api, "POST", "/volunteers", head) + b"4\r\n{}{}\r\n0\r\n\r\n")
    started = time.monotonic()
    status, _ = _read_response(sock, timeout=10)
    sock.close()
    assert status == 400
    assert time.monotonic() - started < 5


BAD_BODIES = {
    "duplicate-member": b'{"name": "A", "name": "B", "kind": "team", "region": "140402"}',
    "nul": b'{"org_id": "nul-org", "name": "A\\u0000B", "kind": "team", "region": "140402"}',
    "lone-surrogate": b'{"org_id": "sur-org", "name": "A\\ud800", "kind": "team", "region": "1"}',
    "raw-invalid-utf8": b'{"org_id": "raw-org", "name": "A\xed\xa0\x80", "kind": "team"}',
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_bad_characters_and_duplicate_members_are_refused_and_never_stored(
    api: Api, name: str
) -> None:
    size = api.ok(api.client.get("/readyz"), 200)["log_size"]
    response = api.client.post(
        "/orgs",
        content=BAD_BODIES[name],
        headers={
            **api.headers("a", idempotency="edge-" + name),
            "Content-Type": "application/json",
        },
    )
    assert_problem(response, 400)
    assert api.ok(api.client.get("/readyz"), 200)["log_size"] == size


def test_a_lone_surrogate_in_a_verification_body_is_400_not_500(api: Api) -> None:
    response = api.client.post(
        "/verify",
        content=b'{"credential": "\\udfff"}',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400)


@pytest.mark.parametrize(
    "path",
    [
        "/volunteers/V%00AAAAAAAAAAAA",
        "/time-banks/accounts/b:vol:VAAAAAAAAAAAAA?cursor=%ED%A0%80",
        "/orgs?cursor=%00",
        "/orgs/%ED%A0%80",
    ],
)
def test_bad_characters_in_paths_and_queries_are_400(api: Api, path: str) -> None:
    assert_problem(api.client.get(path, headers=api.headers("a")), 400)


def test_metric_labels_stay_bounded_whatever_methods_clients_invent(api: Api) -> None:
    for invented in ("FOO", "BAR", "PROPFIND"):
        api.client.request(invented, "/healthz")
    metrics = api.client.get("/metrics").text
    assert "FOO" not in metrics and "PROPFIND" not in metrics
    assert 'method="OTHER"' in metrics


def test_html_pages_carry_security_headers(api: Api) -> None:
    page = api.client.get("/verify/C2025-AAAAAAAAAA")
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert json.loads(api.client.get("/healthz").text) == {"status": "ok"}
    assert api.client.get("/healthz").headers["x-content-type-options"] == "nosniff"
