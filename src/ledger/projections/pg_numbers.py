"""Whole numbers stay whole on PostgreSQL.

The views hold integers only (minutes, counts, credit), but PostgreSQL widens ``SUM`` over
``bigint`` to ``numeric``, which psycopg reads as ``Decimal``, which JSON then writes as a string
(``"681"`` where SQLite gives ``681``). The views' connection reads ``numeric`` as ``int``, so
every reader, route and page sees the same numbers on every store; a fractional value, which no
view ever stores, is an error rather than a silent rounding.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from psycopg.adapt import Loader

from ..errors import StorageError


class WholeNumericLoader(Loader):
    """Text-format ``numeric`` to ``int``."""

    def load(self, data: Any) -> int:
        text = bytes(data).decode("ascii")
        value = Decimal(text)
        if value != value.to_integral_value():
            raise StorageError(f"a view returned the fraction {text}; views hold whole numbers")
        return int(value)


def read_numeric_as_int(connection: Any) -> None:
    """Register the loader on one connection (the views' own, not the global adapters)."""
    connection.adapters.register_loader("numeric", WholeNumericLoader)
