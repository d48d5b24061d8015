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


class ByteaArray(BinaryArray):
    element_oid = 17


class UuidArray(BinaryArray):
    element_oid = 2950


class Int8Array(BinaryArray):
    element_oid = 20


class Int4Array(BinaryArray):
    element_oid = 23


class Int2Array(BinaryArray):
    element_oid = 21


class TextArray(BinaryArray):
    element_oid = 25


def bytea_array(items: Sequence[bytes]) -> ByteaArray:
    return ByteaArray(len(items), (_LENGTH.pack(len(item)) + item for item in items))


def uuid_array(items: Sequence[UUID | str]) -> UuidArray:
    return UuidArray(
        len(items),
        (b"\0\0\0\x10" + (i if isinstance(i, UUID) else UUID(i)).bytes for i in items),
    )


def int8_array(items: Sequence[int]) -> Int8Array:
    return Int8Array(len(items), (_INT8.pack(8, item) for item in items))


def int4_array(items: Sequence[int]) -> Int4Array:
    return Int4Array(len(items), (_INT4.pack(4, item) for item in items))


def int2_array(items: Sequence[int]) -> Int2Array:
    return Int2Array(len(items), (_INT2.pack(2, item) for item in items))


def text_array(items: Sequence[str]) -> TextArray:
    """Text as UTF-8: the recorder's connections set ``client_encoding`` to UTF8."""
    encoded = [item.encode("utf-8") for item in items]
    return TextArray(len(items), (_LENGTH.pack(len(item)) + item for item in encoded))


def _dumper_for(array_type: type[BinaryArray], array_oid: int) -> type[Dumper]:
    class ArrayDumper(Dumper):
        format = pq.Format.BINARY
        oid = array_oid

        def dump(self, obj: BinaryArray) -> bytes:
            return obj.payload

    ArrayDumper.__name__ = f"{array_type.__name__}Dumper"
    return ArrayDumper


# Registered on psycopg's global adapters, which every connection made afterwards copies.
for _type, _oid in (
    (ByteaArray, 1001),
    (UuidArray, 2951),
    (Int8Array, 1016),
    (Int4Array, 1007),
    (Int2Array, 1005),
    (TextArray, 1009),
):
    psycopg.adapters.register_dumper(_type, _dumper_for(_type, _oid))
