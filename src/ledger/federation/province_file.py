"""The province file: which city ledgers a province follows, and what it pins for each.

A province file is JSON::

    {"cities": [{"name": "city-a", "url": "https://a.example/", "trust": "a-trust.json"}]}

``trust`` is the trust file ``ledger init --trust-out`` writes (embedded as an object, or a path
relative to the province file). It may carry a witness quorum (``"witnesses"`` and ``"quorum"``,
or a tlog-policy text under ``"policy"``, as :mod:`ledger.trust_policy` reads them); then every
checkpoint the province believes must carry that quorum of cosignatures. The trust file must
name the root key: the organisations' keys are learned from the city's own log, chained to it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, LedgerError
from ..signing import VerifyingKey
from ..trust_policy import TrustPolicy

CITY_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


@dataclass(frozen=True)
class CitySpec:
    """One city of the province: its name, where its ledger is served, what is pinned."""

    name: str
    url: str
    policy: TrustPolicy
    root_key: VerifyingKey
    origin: str


def load_province(path: Path) -> list[CitySpec]:
    """Read and check a province file; raise :class:`InvalidInputError` naming what is wrong."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise InvalidInputError(f"cannot read the province file {path}: {error}") from None
    cities = document.get("cities") if isinstance(document, dict) else None
    if not isinstance(cities, list) or not cities:
        raise InvalidInputError(f"{path}: a province file lists its cities under 'cities'")
    specs = [_city(entry, path.parent) for entry in cities]
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"{path}: each city is listed once (names: {names})")
    return specs


def _city(entry: Any, base: Path) -> CitySpec:
    if not isinstance(entry, dict):
        raise InvalidInputError("each city is a JSON object with name, url and trust")
    name, url, trust = entry.get("name"), entry.get("url"), entry.get("trust")
    if not isinstance(name, str) or not CITY_NAME.fullmatch(name):
        raise InvalidInputError(f"city name {name!r}: lower-case letters, digits, '.', '_', '-'")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidInputError(f"city {name}: url must be an http(s) address, not {url!r}")
    try:
        if isinstance(trust, str):
            document = json.loads((base / trust).read_text(encoding="utf-8"))
            source = str(base / trust)
        elif isinstance(trust, dict):
            document, source = trust, f"the province file (city {name})"
        else:
            raise InvalidInputError("trust is the trust file's JSON or a path to it")
        policy = TrustPolicy.from_json(document, source=source)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        message = error.message if isinstance(error, LedgerError) else str(error)
        raise InvalidInputError(f"city {name}: cannot read its trust anchors: {message}") from None
    if policy.root_key is None or policy.origin is None:
        raise InvalidInputError(
            f"city {name}: the trust anchors must name the root key and the origin "
            "(the file `ledger init --trust-out` writes does)"
        )
    return CitySpec(name, url.rstrip("/"), policy, policy.root_key, policy.origin)
