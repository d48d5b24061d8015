"""The package's public surface is exactly its ``__all__``."""

from __future__ import annotations

import inspect

import ledger.credentials as credentials


def test_all_lists_every_public_name_and_nothing_else() -> None:
    public = {
        name
        for name, value in vars(credentials).items()
        if not name.startswith("_") and not isinstance(value, type(credentials))
    }
    assert sorted(credentials.__all__) == sorted(public)


def test_every_public_function_says_why_in_a_docstring() -> None:
    undocumented = [
        name
        for name in credentials.__all__
        if inspect.isfunction(getattr(credentials, name)) and not getattr(credentials, name).__doc__
    ]
    assert undocumented == []
