"""The edge's checks on their own (the raw-socket tests in tests/e2e/test_api_edge.py run them
in a real server)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_api.edge import KNOWN_METHODS, BadInput, check_json_body, check_text, known_method


@given(st.text(min_size=1, max_size=12))
def test_metric_method_labels_are_a_bounded_set(method: str) -> None:
    assert known_method(method) in KNOWN_METHODS | {"OTHER"}


@pytest.mark.parametrize("raw", [b"%00", b"a%00b", b"%ED%A0%80", b"%FF", b"x=\xed\xa0\x80"])
def test_nul_and_invalid_utf8_in_a_path_or_query_are_refused(raw: bytes) -> None:
    with pytest.raises(BadInput) as caught:
        check_text(raw, "the query")
    assert caught.value.status == 400


@given(st.text().filter(lambda t: "\x00" not in t))
def test_any_valid_text_without_nul_passes(text: str) -> None:
    from urllib.parse import quote

    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return
    assert check_text(quote(text).encode("ascii"), "the path") == text


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "a": 2}',
        b'{"outer": {"b": 1, "b": 1}}',
        b'["\\u0000"]',
        b'{"\\u0000": 1}',
        b'{"a": "\\ud800"}',
        b'{"a": "\\udfff\\ud800"}',
        b'{"a": "\xed\xa0\x80"}',
    ],
)
def test_bad_json_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(BadInput):
        check_json_body(body, declared_json=True)


def test_good_json_and_surrogate_pairs_pass() -> None:
    check_json_body(b'{"a": "\\ud83d\\ude00", "b": [1, {"c": "\\u00e9"}]}', declared_json=True)
    check_json_body(b"not json at all", declared_json=True)  # the route says what it wanted
