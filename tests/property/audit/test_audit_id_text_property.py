"""The audit reads each stored originator id as the text ``str(convert(raw))`` would give: the
ids it has written out lately are kept, and a kept text must be the one the id would get again,
whatever ids came between, however often the store of texts is started afresh."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.audit import sources


def convert(raw: Any) -> Any:
    """As a store that keeps UUIDs as text converts them (and passes on what it cannot)."""
    try:
        return UUID(raw) if isinstance(raw, str) else raw
    except ValueError:
        return raw


ids = st.uuids().flatmap(
    lambda u: st.sampled_from([u.hex, str(u), u.hex.upper(), u, "x" + u.hex[1:]])
)


@settings(max_examples=200)
@given(st.lists(ids, max_size=40), st.integers(1, 5))
def test_a_kept_id_text_is_the_text_the_id_gets(raws: list[Any], kept: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sources, "ID_TEXTS", kept)
        text = sources._id_text(convert)
        for raw in raws + raws[::-1]:
            assert text(raw) == str(convert(raw))
