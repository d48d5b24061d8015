"""RFC 8785 (JSON Canonicalization Scheme) for the JSON subset the ledger signs.

Signed documents hold only strings, integers, booleans, null, lists and objects. Floats are
refused: JCS serialises numbers as IEEE 754 doubles, so only integers within +/-(2**53 - 1)
round-trip identically through every JCS implementation, and those are the only numbers allowed.

The bytes are written by ``orjson`` (sorted keys, no whitespace): for this subset its output is
the JCS output, except that it sorts object keys by code point where JCS sorts by UTF-16 code
unit. The two orders differ only for characters from U+E000 up, so a document containing any
takes the exact, slower writer below. ``tests/unit/core/test_core_canonical.py`` compares both
ways with the independent ``rfc8785`` implementation.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from .errors import InvalidInputError

MAX_SAFE_INTEGER = 2**53 - 1

_encode_string = json.JSONEncoder(ensure_ascii=False).encode
_SORTED = orjson.OPT_SORT_KEYS
_HIGH_BYTES = re.compile(b"[\xee-\xf4]")  # UTF-8 lead bytes of U+E000 and above


def canonical_json(document: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``document``.

    Raises :class:`InvalidInputError` for floats, integers beyond the safe range, non-string
    object keys, lone surrogates and any type outside the JSON subset.
    """
    problem = _problem(document)
    if problem is not None:
        where, what = problem
        raise InvalidInputError(f"${where}: {what}")
    return _write_fast(document)


def _write_fast(document: Any) -> bytes:
    """JCS of a document of allowed types: ``orjson``'s bytes, or the exact writer's where
    those could differ or ``orjson`` refuses (a lone surrogate, a named tuple, deep nesting)."""
    try:
        data = orjson.dumps(document, option=_SORTED)
    except orjson.JSONEncodeError:
        return _exact(document)
    if not data.isascii() and _HIGH_BYTES.search(data):
        return _exact(document)
    return data


def _problem(value: Any) -> tuple[str, str] | None:
    """The first value outside the JSON subset in ``value``: where it is below ``value``
    (``.key[index]``) and what is wrong; None when there is none. The path is only written
    for a problem found, so a clean document costs one walk and no text."""
    kind = type(value)
    if kind is str or value is None or value is True or value is False:
        return None
    if kind is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return None
        return "", f"integer {value} is outside +/-(2**53 - 1)"
    if kind is dict or isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return "", f"object keys must be strings, got {key!r}"
            found = None if type(item) is str else _problem(item)
            if found is not None:
                return f".{key}{found[0]}", found[1]
        return None
    if kind is list or kind is tuple or isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = None if type(item) is str else _problem(item)
            if found is not None:
                return f"[{index}]{found[0]}", found[1]
        return None
    if isinstance(value, str):
        return None
    if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
        return "", f"integer {value} is outside +/-(2**53 - 1)"
    if isinstance(value, float):
        return "", f"floats are not allowed in signed documents ({value!r})"
    return "", f"{kind.__name__} is not a JSON type"


def number_problem(value: Any) -> str | None:
    """Where (``.key[index]``) and what the first float or integer beyond 2**53 - 1 in
    ``value``, a document parsed from JSON, is; None when every number is a safe integer."""
    problem = _problem(value)
    return None if problem is None else f"{problem[0] or '.'}: {problem[1]}"


def parse_json(data: bytes | str) -> Any:
    """Parse JSON, refusing floats, NaN/Infinity and duplicate object keys."""
    try:
        return json.loads(
            data,
            parse_float=_refuse_float,
            parse_constant=_refuse_float,
            object_pairs_hook=_refuse_duplicates,
        )
    except InvalidInputError:
        raise
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInputError(f"not valid JSON: {error}") from None


def read_own_json(data: bytes) -> Any:
    """Parse JSON this process has just written with :func:`canonical_json`, without the checks
    :func:`parse_json` makes of JSON from elsewhere (it holds no float and no duplicate key)."""
    return orjson.loads(data)


def is_canonical(data: bytes) -> bool:
    """True when ``data`` is exactly the canonical form of the JSON it holds."""
    try:
        parse_canonical(data)
    except InvalidInputError:
        return False
    return True


def parse_canonical(data: bytes, *, check_numbers: bool = True) -> Any:
    """The JSON ``data`` holds; :class:`InvalidInputError` unless ``data`` is exactly its
    canonical form. A duplicate key need not be looked for: what it parses to serialises
    differently. With ``check_numbers=False``, a float or an integer beyond 2**53 - 1 that
    serialises as it was written is left to the caller, which must look for them with
    :func:`number_problem` wherever it does not check each value's type itself."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise InvalidInputError("not canonical JSON (RFC 8785)") from None
    if check_numbers and number_problem(document) is not None:
        raise InvalidInputError("not canonical JSON (RFC 8785): numbers must be safe integers")
    if _write_fast(document) != data:
        raise InvalidInputError("not canonical JSON (RFC 8785)")
    return document


def _exact(document: Any) -> bytes:
    """JCS written member by member, keys in UTF-16 order: for documents with characters from
    U+E000 up, or that ``orjson`` does not take (named tuples, nesting deeper than 255)."""
    parts: list[str] = []
    _write(document, parts)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidInputError(f"text contains a lone surrogate: {error}") from None


def _refuse_float(text: str) -> Any:
    raise InvalidInputError(f"numbers must be integers, got {text!r}")


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidInputError(f"duplicate object key {key!r}")
        result[key] = value
    return result


def _utf16_order(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _write(value: Any, parts: list[str]) -> None:
    """Append the JCS of ``value``, a document :func:`_problem` found nothing wrong in."""
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, str):
        parts.append(_encode_string(value))
    elif isinstance(value, int):
        parts.append(str(value))
    elif isinstance(value, dict):
        parts.append("{")
        for index, key in enumerate(sorted(value, key=_utf16_order)):
            if index:
                parts.append(",")
            parts.append(_encode_string(key))
            parts.append(":")
            _write(value[key], parts)
        parts.append("}")
    else:  # a list or tuple
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _write(item, parts)
        parts.append("]")
