"""One URL names a ledger's store: memory://, sqlite:///path, postgresql://user@host:port/db."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger import StorageError
from ledger.storage.url import DEFAULT_URL_ENV, parse_store_url


def test_memory_url() -> None:
    store = parse_store_url("memory://")
    assert store.kind == "memory"
    assert store.path is None


def test_sqlite_url_with_an_absolute_path(tmp_path: Path) -> None:
    store = parse_store_url(f"sqlite:///{tmp_path}/ledger.db")
    assert store.kind == "sqlite"
    assert store.path == tmp_path / "ledger.db"


def test_sqlite_url_with_a_relative_path_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = parse_store_url("sqlite:///data/ledger.db")
    assert store.path == tmp_path / "data" / "ledger.db"


def test_sqlite_url_path_is_percent_decoded() -> None:
    store = parse_store_url("sqlite:////srv/my%20ledger/ledger.db")
    assert store.path == Path("/srv/my ledger/ledger.db")


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite://host/ledger.db"])
def test_sqlite_urls_without_a_file_path_are_refused_with_the_right_form(url: str) -> None:
    with pytest.raises(StorageError, match="sqlite:///"):
        parse_store_url(url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:ledger.db", Path.cwd() / "ledger.db"),
        ("sqlite:/srv/ledger.db", Path("/srv/ledger.db")),
    ],
    ids=["no-slash", "one-slash"],
)
def test_a_sqlite_url_in_another_form_is_refused_or_names_the_file_it_says(
    url: str, expected: Path
) -> None:
    # Such a URL must never silently open a different file ("edger.db", "./srv/ledger.db").
    try:
        store = parse_store_url(url)
    except StorageError:
        return
    assert store.path == expected


def test_postgresql_url_with_every_part() -> None:
    store = parse_store_url("postgresql://alice:s%40cret@db.example:6543/volunteers?schema=city_1")
    assert store.kind == "postgresql"
    assert (store.user, store.password, store.host, store.port) == (
        "alice",
        "s@cret",
        "db.example",
        6543,
    )
    assert (store.dbname, store.schema) == ("volunteers", "city_1")


def test_postgresql_url_defaults() -> None:
    store = parse_store_url("postgresql://localhost/volunteers")
    assert (store.user, store.password, store.port, store.schema) == (
        "postgres",
        "",
        5432,
        "public",
    )
    assert store.host == "localhost"


def test_postgres_scheme_is_an_alias() -> None:
    assert parse_store_url("postgres://u@h:5433/d").kind == "postgresql"


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("postgresql://u@h:5432/", "must name a database"),
        ("postgresql://u@h:5432", "must name a database"),
        ("postgresql://u@h:port/d", "port"),
        ("postgresql://u@h/d?schema=Bad-Schema", "schema"),
        ("postgresql://u@h/d?schema=1abc", "schema"),
        ("postgresql://u@h/d?schema=a;drop", "schema"),
    ],
)
def test_bad_postgresql_urls_are_refused_saying_why(url: str, complaint: str) -> None:
    with pytest.raises(StorageError, match=complaint):
        parse_store_url(url)


@pytest.mark.parametrize(
    "url", ["mysql://u@h/d", "http://example.com", "ledger.db", "/tmp/ledger.db", "file:///x.db"]
)
def test_unknown_schemes_are_refused_listing_the_known_forms(url: str) -> None:
    with pytest.raises(StorageError, match="memory://") as caught:
        parse_store_url(url)
    assert "postgresql://" in str(caught.value)


def test_no_url_and_no_environment_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEFAULT_URL_ENV, raising=False)
    with pytest.raises(StorageError, match=DEFAULT_URL_ENV):
        parse_store_url(None)
    with pytest.raises(StorageError, match=DEFAULT_URL_ENV):
        parse_store_url("")


def test_the_environment_variable_names_the_store_when_no_url_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(DEFAULT_URL_ENV, "memory://")
    assert parse_store_url().kind == "memory"


def test_postgresql_never_enables_database_functions() -> None:
    env = parse_store_url("postgresql://u@h/d").eventsourcing_env()
    assert env["POSTGRES_ENABLE_DB_FUNCTIONS"].lower() in ("n", "no", "false", "0", "")
    assert env["POSTGRES_SCHEMA"] == "public"


def test_every_store_maps_to_the_ledgers_own_recorder_and_mapper(tmp_path: Path) -> None:
    for url in ("memory://", f"sqlite:///{tmp_path}/l.db", "postgresql://u@h/d"):
        env = parse_store_url(url).eventsourcing_env()
        assert env["APPLICATION_RECORDER_TOPIC"].startswith("ledger.storage.")
        assert env["MAPPER_TOPIC"] == "ledger.mapper:SignedEventMapper"


def test_a_read_only_store_creates_no_tables_and_waits_briefly_for_a_connection() -> None:
    store = parse_store_url("postgresql://postgres@standby:5433/ledger?schema=city")
    replica = store.as_read_only()
    assert replica.read_only and not store.read_only
    assert (replica.host, replica.port, replica.schema) == ("standby", 5433, "city")
    env = replica.eventsourcing_env()
    assert env["CREATE_TABLE"] == "n" and env["POSTGRES_CONNECT_TIMEOUT"] == "2"
    assert "CREATE_TABLE" not in store.eventsourcing_env()


@pytest.mark.parametrize("url", ["memory://", "sqlite:///standby.db"])
def test_only_a_postgresql_store_can_be_a_read_replica(url: str) -> None:
    with pytest.raises(StorageError, match="a read replica is a PostgreSQL standby"):
        parse_store_url(url).as_read_only()
