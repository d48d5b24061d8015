"""Links signed into credentials name public addresses only, unless the operator says demo."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.certificates.links import CredentialLinks, UnsafeLinkError, public_base_url
from ledger.errors import InvalidInputError

REFUSED = [
    "http://0.0.0.0:8000",
    "http://[::]:8000",
    "http://127.0.0.1:8000",
    "http://127.8.9.10",
    "http://[::1]:8000/",
    "http://[::ffff:127.0.0.1]",
    "http://localhost:8000",
    "http://api.localhost",
    "http://printer.local",
    "https://10.1.2.3",
    "https://172.16.0.1",
    "https://192.168.1.20/ledger",
    "https://169.254.169.254",
    "https://[fc00::1]",
    "https://[fe80::1]",
    "https://100.64.0.1",
]


@pytest.mark.parametrize("url", REFUSED)
def test_wildcard_loopback_and_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeLinkError, match="refusing to sign links"):
        public_base_url(url)


@pytest.mark.parametrize("url", REFUSED)
def test_a_demo_may_sign_local_links(url: str) -> None:
    assert public_base_url(url, allow_local=True) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "https://volunteer.changzhi.example/",
        "https://8.8.8.8",
        "http://volunteer.example.org:8443/x",
    ],
)
def test_public_addresses_are_accepted_without_a_trailing_slash(url: str) -> None:
    assert public_base_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org",
        "example.org",
        "https://",
        "https://a.example/?x=1",
        "https://u:p@a.example",
    ],
)
def test_what_is_not_a_plain_http_base_url_is_refused_even_for_a_demo(url: str) -> None:
    with pytest.raises(InvalidInputError):
        public_base_url(url, allow_local=True)


@given(st.ip_addresses())
def test_an_ip_literal_is_accepted_exactly_when_it_is_global(
    address: ipaddress._BaseAddress,
) -> None:
    host = f"[{address}]" if address.version == 6 else str(address)
    mapped = getattr(address, "ipv4_mapped", None) or address
    public = mapped.is_global and not mapped.is_multicast
    try:
        public_base_url(f"https://{host}")
    except UnsafeLinkError:
        assert not public
    else:
        assert public


def test_every_link_starts_with_the_base() -> None:
    links = CredentialLinks("https://volunteer.example.org/ledger/")
    urls = [
        links.context,
        links.certificate_page("C2025-AAAAAAAAAA"),
        links.certificate_status_note("C2025-AAAAAAAAAA"),
        links.certificate_status_list("C2025-AAAAAAAAAA"),
        links.star_status_list("VAAAAAAAAAAAAA", "city/stars", 2),
        links.honour_status_list("VAAAAAAAAAAAAA", "h 1"),
    ]
    assert all(url.startswith("https://volunteer.example.org/ledger/") for url in urls)
    assert urls[4].endswith("/stars/city%2Fstars/2") and urls[5].endswith("/honours/h%201")


def test_serving_on_a_wildcard_address_links_to_loopback_not_to_the_wildcard() -> None:
    from ledger.cli.serve import default_public_url

    assert default_public_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert default_public_url("::", 8000) == "http://127.0.0.1:8000"
    assert default_public_url("::1", 8000) == "http://[::1]:8000"
    assert default_public_url("volunteer.example.org", 80) == "http://volunteer.example.org:80"
    with pytest.raises(UnsafeLinkError):
        public_base_url(default_public_url("0.0.0.0", 8000))


def test_badge_status_list_urls_parse_back_on_any_host() -> None:
    from ledger.certificates.links import parse_badge_status_list_url

    links = CredentialLinks("https://a.example/x")
    star = links.star_status_list("VAAAAAAAAAAAAA", "city/stars", 2)
    honour = links.honour_status_list("VAAAAAAAAAAAAA", "h 1/2")
    assert parse_badge_status_list_url(star) == ("VAAAAAAAAAAAAA", "city/stars", 2, None)
    assert parse_badge_status_list_url(honour) == ("VAAAAAAAAAAAAA", None, None, "h 1/2")
    moved = honour.replace("https://a.example/x", "http://127.0.0.1:9")
    assert parse_badge_status_list_url(moved) == ("VAAAAAAAAAAAAA", None, None, "h 1/2")
    for url in (
        "https://a.example/status-lists/certificates/C2025-AAAAAAAAAA",
        "https://a.example/status-lists/badges/VAAAAAAAAAAAAA/stars/s/0",
        "https://a.example/status-lists/badges/nobody/honours/h",
        star + "/more",
    ):
        assert parse_badge_status_list_url(url) is None, url
