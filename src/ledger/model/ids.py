"""Identifiers: deterministic aggregate ids from natural keys, and the formats of public ids."""

from __future__ import annotations

import base64
import re
import secrets
from functools import lru_cache
from hashlib import sha1
from typing import Annotated
from uuid import NAMESPACE_URL, UUID, SafeUUID

from pydantic import StringConstraints

OrgId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,63}$")]
VolunteerNumber = Annotated[str, StringConstraints(pattern=r"^V[A-Z2-7]{13}$")]
RegionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,12}$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
Base64Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{43}=$")]
KeyIdText = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
UUIDText = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
]

_VOLUNTEER_NUMBER = re.compile(r"^V[A-Z2-7]{13}$")
_URL_NAMESPACE = NAMESPACE_URL.bytes
_VERSION_5 = 5 << 76 | 0x8000 << 48  # the version and RFC 4122 variant bits of a name-based UUID
_NOT_VERSION = ~(0xF000 << 64 | 0xC000 << 48)
_new, _set = object.__new__, object.__setattr__


def url_uuid(name: str) -> UUID:
    """``uuid5(NAMESPACE_URL, name)``, the same UUID, at about half its cost: the id of an
    aggregate named by a natural key is worked out for nearly every event written or audited.
    The bits are set as ``UUID(bytes=..., version=5)`` sets them, and the object is filled in
    as ``UUID.__init__`` fills it (its fields are set through ``object``, as there)."""
    digest = sha1(_URL_NAMESPACE + name.encode()).digest()
    uuid = _new(UUID)
    _set(uuid, "int", int.from_bytes(digest[:16]) & _NOT_VERSION | _VERSION_5)
    _set(uuid, "is_safe", SafeUUID.unknown)
    return uuid


@lru_cache(maxsize=65536)
def organisation_aggregate_id(org_id: str) -> UUID:
    return url_uuid(f"/organisations/{org_id}")


@lru_cache(maxsize=65536)
def volunteer_aggregate_id(number: str) -> UUID:
    return url_uuid(f"/volunteers/{number}")


def new_volunteer_number() -> str:
    """A random pseudonymous number, never derived from anything personal."""
    return "V" + base64.b32encode(secrets.token_bytes(8)).decode("ascii")[:13]


def is_volunteer_number(text: str) -> bool:
    return bool(_VOLUNTEER_NUMBER.match(text))
