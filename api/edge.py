"""The edge: refuse bad input before it costs anything, and send security headers.

A pure ASGI middleware, outermost, so that it runs before routing, authentication and any body
parsing:

- a body is read at most ``max_body`` bytes (declared or chunked); past that, 413 at once;
- ``Content-Length`` together with ``Transfer-Encoding`` is refused (400), as is a malformed
  ``Content-Length``;
- U+0000, lone surrogates and invalid UTF-8 in the path or query, and in a JSON body also
  duplicate object members, are refused with 400 (they would be stored, or crash a reader);
- HTML responses carry a Content-Security-Policy, ``X-Frame-Options`` and the rest; every
  response carries ``X-Content-Type-Options`` and ``Referrer-Policy``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
DOCS_POLICY = "frame-ancestors 'none'"  # the interactive docs load their own scripts
ALWAYS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]


class BadInput(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail


def known_method(method: str) -> str:
    """A metrics label for the method: one of the known ones, else ``OTHER``."""
    return method if method in KNOWN_METHODS else "OTHER"


def check_text(raw: bytes, where: str) -> str:
    """Decode percent-encoded ``raw``; refuse invalid UTF-8 (lone surrogates) and U+0000."""
    try:
        text = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(400, "invalid-input", "Invalid input", f"{where} is not UTF-8") from None
    if "\x00" in text:
        raise BadInput(400, "invalid-input", "Invalid input", f"{where} contains U+0000")
    return text


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise BadInput(400, "invalid-input", "Invalid input", f"duplicate JSON member {key!r}")
        found[key] = value
    return found


def _check_strings(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise BadInput(400, "invalid-input", "Invalid input", "the body contains U+0000")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadInput(
                400, "invalid-input", "Invalid input", "the body contains a lone surrogate"
            ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


def check_json_body(body: bytes, declared_json: bool) -> None:
    """Refuse duplicate members, U+0000 and lone surrogates in a JSON body, and a body declared
    JSON that is not UTF-8. Other malformed JSON is left to the route, which says what it
    expected."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        if declared_json:
            raise BadInput(400, "invalid-input", "Invalid input", "the body is not UTF-8") from None
        return
    try:
        document = json.loads(text, object_pairs_hook=_refuse_duplicates)
    except (ValueError, RecursionError):
        return
    _check_strings(document)


class Edge:
    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(scope, send)
        try:
            self._check_request_line(scope)
            body = await self._read_body(scope, receive)
        except BadInput as error:
            await _problem(send, error)
            return
        await self.app(scope, _replay(body, receive), send)

    def _check_request_line(self, scope: Scope) -> None:
        check_text(scope.get("raw_path") or scope["path"].encode("utf-8"), "the path")
        check_text(scope.get("query_string", b""), "the query")
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        declared = headers.get(b"content-length")
        if declared is not None and b"transfer-encoding" in headers:
            raise BadInput(
                400,
                "invalid-request",
                "Invalid request",
                "Content-Length and Transfer-Encoding together are refused",
            )
        if declared is not None and not declared.strip().isdigit():
            raise BadInput(400, "invalid-request", "Invalid request", "bad Content-Length")
        if declared is not None and int(declared) > self.max_body:
            raise self._too_large()

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, read at most ``max_body`` bytes far; None for bodiless methods."""
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise BadInput(400, "invalid-request", "Invalid request", "client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            content_type = dict(scope.get("headers", [])).get(b"content-type", b"")
            check_json_body(body, b"json" in content_type.lower())
        return body

    def _too_large(self) -> BadInput:
        return BadInput(
            413,
            "body-too-large",
            "Request body too large",
            f"request bodies are limited to {self.max_body} bytes",
        )


def _replay(body: bytes | None, receive: Receive) -> Receive:
    if body is None:
        return receive
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _with_headers(scope: Scope, send: Send) -> Send:
    docs = scope["path"].startswith(("/docs", "/redoc"))

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            names = {name.lower() for name, _ in headers}
            content_type = dict(headers).get(b"content-type", b"")
            extra = list(ALWAYS)
            if content_type.startswith(b"text/html"):
                policy = DOCS_POLICY if docs else PAGE_POLICY
                extra += [
                    (b"content-security-policy", policy.encode()),
                    (b"x-frame-options", b"DENY"),
                ]
            headers += [(name, value) for name, value in extra if name not in names]
            message["headers"] = headers
        await send(message)

    return sending


async def _problem(send: Send, error: BadInput) -> None:
    body = json.dumps(
        {
            "type": "/problems/" + error.code,
            "title": error.title,
            "status": error.status,
            "detail": error.detail,
        }
    ).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
