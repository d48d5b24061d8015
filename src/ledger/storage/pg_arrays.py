"""One-dimensional PostgreSQL arrays, encoded in the binary wire format here.

The insert's database function takes its events as arrays (ids, versions, topics, states, ...).
psycopg dumps a Python list by first inspecting every element in Python (their types, the
largest int) and then dumping each element: for a batch of 100 events that cost about 7.7 µs per
event, most of it the list of envelope states (4.9 µs each). These wrappers carry the array
already encoded (header, then each element's length and bytes, as PostgreSQL's ``array_recv``
reads it), so the parameter costs one ``join``. The element types are fixed per wrapper, so the
statement needs no cast to know them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from uuid import UUID

import psycopg
from psycopg import pq
from psycopg.adapt import Dumper

_HEADER = struct.Struct("!iiIii")  # dimensions, has-nulls flag, element oid, length, lower bound
_EMPTY = struct.Struct("!iiI")  # no dimensions
_LENGTH = struct.Struct("!i")
_INT8 = struct.Struct("!iq")  # an element: its length (8), its value
_INT4 = struct.Struct("!ii")
_INT2 = struct.Struct("!ih")


class BinaryArray:
    """An array of one element type, encoded; made by the functions below."""

    __slots__ = ("payload",)
    element_oid = 0

    def __init__(self, count: int, elements: Iterable[bytes]) -> None:
        if count:
            self.payload = _HEADER.pack(1, 0, self.element_oid, count, 1) + b"".join(elements)
        else:
            self.payload = _EMPTY.pack(0, 0, self.element_oid)


class _ArrayDumper(Dumper):
    format = pq.Format.BINARY

    def dump(self, obj: BinaryArray) -> bytes:
        return obj.payload


def _array_type(name: str, element: str) -> type[BinaryArray]:
    """A wrapper class for arrays of one element type (named as in psycopg's registry of
    PostgreSQL's built-in types), with its dumper registered on psycopg's global adapters
    (which every connection made afterwards copies)."""
    info = psycopg.postgres.types[element]
    array_type = type(name, (BinaryArray,), {"__slots__": (), "element_oid": info.oid})
    dumper = type(f"{name}Dumper", (_ArrayDumper,), {"oid": info.array_oid})
    psycopg.adapters.register_dumper(array_type, dumper)
    return array_type


ByteaArray = _array_type("ByteaArray", "bytea")
UuidArray = _array_type("UuidArray", "uuid")
Int8Array = _array_type("Int8Array", "int8")
Int4Array = _array_type("Int4Array", "int4")
Int2Array = _array_type("Int2Array", "int2")
TextArray = _array_type("TextArray", "text")


def bytea_array(items: Sequence[bytes]) -> BinaryArray:
    return ByteaArray(len(items), (_LENGTH.pack(len(item)) + item for item in items))


def uuid_array(items: Sequence[UUID | str]) -> BinaryArray:
    return UuidArray(
        len(items),
        (b"\0\0\0\x10" + (i if isinstance(i, UUID) else UUID(i)).bytes for i in items),
    )


def int8_array(items: Sequence[int]) -> BinaryArray:
    return Int8Array(len(items), (_INT8.pack(8, item) for item in items))


def int4_array(items: Sequence[int]) -> BinaryArray:
    return Int4Array(len(items), (_INT4.pack(4, item) for item in items))


def int2_array(items: Sequence[int]) -> BinaryArray:
    return Int2Array(len(items), (_INT2.pack(2, item) for item in items))


def text_array(items: Sequence[str]) -> BinaryArray:
    """Text as UTF-8: the recorder's connections set ``client_encoding`` to UTF8."""
    encoded = [item.encode("utf-8") for item in items]
    return TextArray(len(items), (_LENGTH.pack(len(item)) + item for item in encoded))
