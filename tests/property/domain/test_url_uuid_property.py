"""``url_uuid`` is ``uuid5(NAMESPACE_URL, name)``: every aggregate id the ledger has ever written
is worked out by it now, so for any name it must give the same UUID, in every respect a caller
or a pickle can see, and refuse what ``uuid5`` refuses."""

from __future__ import annotations

import copy
import pickle
from uuid import NAMESPACE_URL, SafeUUID, uuid5

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger.model.ids import url_uuid


@settings(max_examples=500)
@given(st.text())
@example("")
@example("/volunteers/VAAAAAAAAAAAAA")
@example("/organisations/city")
@example("\U0001f600/\u00e9")
def test_url_uuid_is_uuid5_of_the_url_namespace(name: str) -> None:
    ours, theirs = url_uuid(name), uuid5(NAMESPACE_URL, name)
    assert ours == theirs
    assert ours.int == theirs.int and ours.bytes == theirs.bytes
    assert str(ours) == str(theirs) and repr(ours) == repr(theirs)
    assert hash(ours) == hash(theirs)
    assert (ours.version, ours.variant) == (5, theirs.variant)
    assert ours.is_safe is theirs.is_safe is SafeUUID.unknown
    assert pickle.loads(pickle.dumps(ours)) == theirs
    assert copy.deepcopy(ours) == theirs
    with pytest.raises(TypeError):
        ours.int = 0  # type: ignore[misc]  # as immutable as any UUID


def test_a_name_uuid5_cannot_encode_is_refused_as_uuid5_refuses_it() -> None:
    with pytest.raises(UnicodeEncodeError):
        uuid5(NAMESPACE_URL, "\ud800")
    with pytest.raises(UnicodeEncodeError):
        url_uuid("\ud800")
