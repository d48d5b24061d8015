"""The public base URL signed into credentials, and the check that it can be reached.

A link inside a signed credential is there for good: a credential signed with
``http://0.0.0.0:8000/...`` or ``http://127.0.0.1/...`` sends every verifier to an address that
names nobody (or, worse, the verifier's own machine). So the ledger refuses to sign a credential
whose base URL names a wildcard, loopback, private, link-local or otherwise non-public address,
or a host that only resolves locally (``localhost``), unless the operator says the ledger is a
demo (``allow_local=True``).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, unquote, urlsplit

from ..errors import InvalidInputError

BADGE_STATUS_PATH = re.compile(
    r"/status-lists/badges/(?P<number>V[A-Z2-7]{13})/"
    r"(?:stars/(?P<scheme>[^/]+)/(?P<level>[1-9][0-9]?)|honours/(?P<honour>[^/]+))$"
)
LOCAL_NAMES = ("localhost", "localhost.localdomain")
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")


class UnsafeLinkError(InvalidInputError):
    """A credential would carry a link no verifier elsewhere can follow."""


def public_base_url(url: str, *, allow_local: bool = False) -> str:
    """``url`` without a trailing slash, once it is checked fit to sign into credentials."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeLinkError(f"the public base URL {url!r} is not an http(s) URL with a host")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise UnsafeLinkError(
            f"the public base URL {url!r} must not carry a query, fragment or user name"
        )
    reason = local_address_reason(parts.hostname)
    if reason and not allow_local:
        raise UnsafeLinkError(
            f"refusing to sign links to {parts.hostname} ({reason}): verifiers elsewhere cannot "
            "reach it; set the public base URL (LEDGER_PUBLIC_URL) to the address the public "
            "uses, or mark the ledger a demo"
        )
    return parts.geturl().rstrip("/")


def local_address_reason(host: str) -> str | None:
    """Why ``host`` is not a public address, or None when it may be one."""
    name = host.lower().rstrip(".")
    if name in LOCAL_NAMES or name.endswith(LOCAL_SUFFIXES):
        return "a name that resolves only locally"
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return "the wildcard address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_private or address.is_link_local:
        return "a private or link-local address"
    if address.is_multicast or not address.is_global:
        return "not a public unicast address"
    return None


class CredentialLinks:
    """Every URL the ledger signs into a credential, from one checked public base URL.

    The paths are the API's: a deployment serves each of them (see ``docs/certificates.md``).
    """

    def __init__(self, base_url: str, *, allow_local: bool = False) -> None:
        self.base = public_base_url(base_url, allow_local=allow_local)

    @property
    def context(self) -> str:
        from ..credentials.jsonld_documents import ledger_context_url

        return ledger_context_url(self.base)

    def certificate_page(self, certificate_number: str) -> str:
        return f"{self.base}/verify/{certificate_number}"

    def certificate_status_note(self, certificate_number: str) -> str:
        return f"{self.base}/verify/{certificate_number}/status"

    def certificate_status_list(self, certificate_number: str) -> str:
        return f"{self.base}/status-lists/certificates/{certificate_number}"

    def star_status_list(self, number: str, scheme_id: str, level: int) -> str:
        return f"{self.base}/status-lists/badges/{number}/stars/{quote(scheme_id, safe='')}/{level}"

    def honour_status_list(self, number: str, honour_id: str) -> str:
        return f"{self.base}/status-lists/badges/{number}/honours/{quote(honour_id, safe='')}"


def parse_badge_status_list_url(
    url: str,
) -> tuple[str, str | None, int | None, str | None] | None:
    """``(number, scheme_id, level, honour_id)`` from a badge status list URL made by
    :class:`CredentialLinks` (on any host), or None when ``url`` is not one."""
    match = BADGE_STATUS_PATH.search(urlsplit(url).path)
    if match is None:
        return None
    if match["honour"] is not None:
        return match["number"], None, None, unquote(match["honour"])
    return match["number"], unquote(match["scheme"]), int(match["level"]), None
