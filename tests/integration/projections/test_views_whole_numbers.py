"""The views' PostgreSQL connection reads ``numeric`` (what ``SUM`` of ``bigint`` gives) as int."""

from __future__ import annotations

import pytest

from ledger.errors import StorageError
from ledger.projections import ViewDatabase
from ledger.storage.url import parse_store_url


def test_a_sum_of_bigints_is_an_int_and_a_fraction_is_refused(postgres_schema: str) -> None:
    views = ViewDatabase(parse_store_url(postgres_schema))
    try:
        [(total, big)] = views.query(
            "SELECT SUM(x), SUM(x) * 1000000000000 "
            "FROM (VALUES (340::bigint), (341::bigint)) AS t(x)"
        )
        assert (total, big) == (681, 681_000_000_000_000)
        assert type(total) is int and type(big) is int
        with pytest.raises(StorageError, match="whole numbers"):
            views.query("SELECT 1.5::numeric")
    finally:
        views.close()
