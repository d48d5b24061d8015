"""Collecting surplus holdings over HTTP: refused input changes nothing and reads as a problem."""

from __future__ import annotations

from api_support import Api, assert_problem


def test_collecting_from_an_unknown_bank_or_with_no_numbers_is_a_problem(api: Api) -> None:
    number = api.register_volunteer(key="b")
    assert_problem(
        api.post("/time-banks/no-such-bank/collections", {"numbers": [number]}, key="b"), 404
    )
    assert_problem(api.post("/time-banks/no-such-bank/collections", {"numbers": []}, key="b"), 422)
    assert_problem(
        api.post("/time-banks/no-such-bank/collections", {"numbers": [number]}, key=None), 401
    )
