"""RFC 8785 (JSON Canonicalization Scheme) for the JSON subset the ledger signs.

Signed documents hold only strings, integers, booleans, null, lists and objects. Floats are
refused: JCS serialises numbers as IEEE 754 doubles, so only integers within +/-(2**53 - 1)
round-trip identically through every JCS implementation, and those are the only numbers allowed.
"""

from __future__ import annotations

import json
import json.encoder
import json.scanner
import re
from typing import Any

from .errors import InvalidInputError

MAX_SAFE_INTEGER = 2**53 - 1

_encode_string = json.JSONEncoder(ensure_ascii=False).encode


def canonical_json(document: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``document``.

    Raises :class:`InvalidInputError` for floats, integers beyond the safe range, non-string
    object keys, lone surrogates and any type outside the JSON subset.
    """
    _check(document, "$")
    return _dump_checked(document)


def _dump_checked(document: Any) -> bytes:
    """JCS of a document already known to hold only the allowed types.

    The standard library's encoder sorts keys by code point; JCS sorts by UTF-16 code unit.
    The two orders differ only for characters from U+E000 up, so a document containing any
    falls back to the exact, slower writer.
    """
    text = _fast_dump(document)
    if not text.isascii() and _HIGH.search(text):  # ASCII text has no such character
        parts: list[str] = []
        _write(document, parts, "$")
        text = "".join(parts)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidInputError(f"text contains a lone surrogate: {error}") from None


_fast_dump = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
).encode
_HIGH = re.compile("[\ue000-\U0010ffff]")


def _check(value: Any, path: str) -> None:
    if value is None or value is True or value is False or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InvalidInputError(f"{path}: integer {value} is outside +/-(2**53 - 1)")
        if type(value) is not int:
            raise InvalidInputError(f"{path}: {type(value).__name__} is not a JSON type")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(f"{path}: object keys must be strings, got {key!r}")
            _check(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
    elif isinstance(value, float):
        raise InvalidInputError(f"{path}: floats are not allowed in signed documents ({value!r})")
    else:
        raise InvalidInputError(f"{path}: {type(value).__name__} is not a JSON type")


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


def is_canonical(data: bytes) -> bool:
    """True when ``data`` is exactly the canonical form of the JSON it holds."""
    try:
        parse_canonical(data)
    except InvalidInputError:
        return False
    return True


def parse_canonical(data: bytes) -> Any:
    """The JSON ``data`` holds; :class:`InvalidInputError` unless ``data`` is exactly its
    canonical form. A duplicate key need not be looked for: what it parses to serialises
    differently.

    The text is compared, not its UTF-8 bytes: ``data`` decoded strictly holds no lone
    surrogate, so the serialised text equals it exactly when its bytes would. The scanner and
    the encoder are called without the standard library's wrappers (the audit calls this once
    per event)."""
    try:
        text = data.decode("utf-8")
        document, end = _scan_once(text, 0)
        same = end == len(text) and _canonical_text(document) == text
    except (ValueError, UnicodeDecodeError, StopIteration):
        same = False
    if not same:
        raise InvalidInputError("not canonical JSON (RFC 8785)")
    return document


def _canonical_text(document: Any) -> str:
    """JCS of a parsed document (only the allowed types, no cycles) as text."""
    text = "".join(_encode_parsed(document, 0))
    if not text.isascii() and _HIGH.search(text):
        parts: list[str] = []
        _write(document, parts, "$")
        text = "".join(parts)
    return text


def _safe_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise InvalidInputError(f"integer {text} is outside +/-(2**53 - 1)")
    return value


def _refuse_float(text: str) -> Any:
    raise InvalidInputError(f"numbers must be integers, got {text!r}")


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidInputError(f"duplicate object key {key!r}")
        result[key] = value
    return result


# One decoder for every call: ``json.loads`` with hooks would build a new one each time.
_strict_decoder = json.JSONDecoder(
    parse_float=_refuse_float, parse_constant=_refuse_float, parse_int=_safe_int
)
_strict_decode = _strict_decoder.decode
# The decoder's scanner alone: a value at the start of the text and where it ends (raises
# StopIteration when there is none), without ``decode``'s whitespace handling around it.
_scan_once = json.scanner.make_scanner(_strict_decoder)  # type: ignore[arg-type]


def _not_json(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not a JSON type")


# ``_fast_dump`` without ``JSONEncoder.encode``'s wrapping and circularity check, for documents
# that were just parsed (so hold only JSON types and no cycle); the same C encoder when there is
# one, so the same text.
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_encode_parsed: Any = (
    _c_make_encoder(
        None, _not_json, json.encoder.encode_basestring, None, ":", ",", True, False, False
    )
    if _c_make_encoder is not None
    else lambda document, _level: (_fast_dump(document),)
)


def _utf16_order(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _write(value: Any, parts: list[str], path: str) -> None:
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, str):
        parts.append(_encode_string(value))
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InvalidInputError(f"{path}: integer {value} is outside +/-(2**53 - 1)")
        parts.append(str(int(value)))
    elif isinstance(value, dict):
        _write_object(value, parts, path)
    elif isinstance(value, list | tuple):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _write(item, parts, f"{path}[{index}]")
        parts.append("]")
    elif isinstance(value, float):
        raise InvalidInputError(f"{path}: floats are not allowed in signed documents ({value!r})")
    else:
        raise InvalidInputError(f"{path}: {type(value).__name__} is not a JSON type")


def _write_object(value: dict[Any, Any], parts: list[str], path: str) -> None:
    for key in value:
        if not isinstance(key, str):
            raise InvalidInputError(f"{path}: object keys must be strings, got {key!r}")
    parts.append("{")
    for index, key in enumerate(sorted(value, key=_utf16_order)):
        if index:
            parts.append(",")
        parts.append(_encode_string(key))
        parts.append(":")
        _write(value[key], parts, f"{path}.{key}")
    parts.append("}")
