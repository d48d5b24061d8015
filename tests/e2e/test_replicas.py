"""Read replicas: ``ledger serve --db PRIMARY --read-db STANDBY`` on a real PostgreSQL hot
standby (``scripts/pg-standby.sh`` makes one of the test server on port 5433).

Reads served by the standby verify with nothing but the log key, a client that wrote reads its
own write when it sends back ``Ledger-Log-Size``, and the standby's log is the primary's.
Skipped with the reason when no standby answers, except under CI (``CI=true``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from api_support import (
    LEDGER_CLI,
    ORIGIN,
    Api,
    build_city,
    log_keys,
    start_ledger_serve,
    unb64,
)
from e2e_environment import LOCAL_LINKS
from postgres_testing import drop_schema, new_schema, require_postgres

from ledger import DirectoryKeystore, Ledger
from ledger.certificates.acceptance import check_package
from ledger.errors import NotFoundError, StorageError
from ledger.log import (
    leaf_hash,
    open_checkpoint,
    parse_verifier_key,
    verify_inclusion,
    verify_receipt,
)
from ledger.replica import open_replica

STANDBY_URL = os.environ.get("LEDGER_TEST_STANDBY_URL", "postgresql://postgres@127.0.0.1:5433/test")
pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _standby_problem() -> str | None:
    try:
        import psycopg

        with psycopg.connect(STANDBY_URL.split("?")[0], connect_timeout=3) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    except Exception as error:
        return f"no PostgreSQL standby at {STANDBY_URL} (scripts/pg-standby.sh makes one): {error}"
    if row is None or row[0] is not True:
        return f"{STANDBY_URL} is not a hot standby (pg_is_in_recovery() is false)"
    return None


def require_standby() -> None:
    problem = _standby_problem()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI requires the standby: {problem}")
        pytest.skip(problem)


def standby_url_of(primary_url: str) -> str:
    return STANDBY_URL.split("?")[0] + "?" + primary_url.partition("?")[2]


def wait_for_standby(primary_url: str, timeout: float = 30.0) -> None:
    """Until the standby holds the primary's whole log (its schema replayed first)."""
    with Ledger(primary_url) as primary:
        size = primary.log_size()
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open_replica(standby_url_of(primary_url), primary) as replica:
                    if replica.log_size() >= size:
                        return
            except Exception:
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                raise AssertionError(f"the standby did not reach {size} leaves in {timeout} s")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def replica_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    require_postgres()
    require_standby()
    cwd = tmp_path_factory.mktemp("replica-server")
    db_url = new_schema()
    try:
        city = build_city(db_url, cwd)
        wait_for_standby(db_url)
        env = {**LOCAL_LINKS, "LEDGER_READ_WAIT_SECONDS": "5"}
        server = start_ledger_serve(
            db_url, cwd, workers=2, env=env, extra=["--read-db", standby_url_of(db_url)]
        )
        client = httpx.Client(base_url=server.base_url, timeout=60.0)
        try:
            yield Api(server, city, client, "postgresql", db_url)
        finally:
            client.close()
            server.stop()
    finally:
        drop_schema(db_url)


def write(api: Api) -> tuple[int, str]:
    """Register a volunteer; its leaf index and the response's read-your-writes token."""
    response = api.post("/volunteers", {})
    made = api.ok(response)
    token = response.headers["Ledger-Log-Size"]
    leaf = int(made["events"][0]["leaf_index"])
    assert int(token) > leaf
    return leaf, token


def verified_leaf(api: Api, leaf: int, token: str | None) -> tuple[dict[str, object], str]:
    """``/leaves/{leaf}`` checked with the log key only; the evidence and who served it."""
    headers = {} if token is None else {"Ledger-Log-Size": token}
    response = api.client.get(f"/leaves/{leaf}", headers=headers)
    assert response.status_code == 200, response.text
    evidence = response.json()
    verifiers = [parse_verifier_key(line) for line in log_keys(api)]
    checkpoint = open_checkpoint(evidence["checkpoint"], verifiers, origin=ORIGIN)
    assert checkpoint.size == evidence["tree_size"] > leaf
    envelope = evidence["envelope"].encode("utf-8")
    proof = [unb64(h) for h in evidence["inclusion_proof"]]
    verify_inclusion(leaf_hash(envelope), leaf, checkpoint.size, proof, checkpoint.root_hash)
    return evidence, response.headers["Ledger-Read-From"]


def test_a_client_reads_its_own_writes_from_the_standby(replica_api: Api) -> None:
    served = []
    for _ in range(5):
        leaf, token = write(replica_api)
        evidence, read_from = verified_leaf(replica_api, leaf, token)
        assert evidence["leaf_index"] == leaf
        served.append(read_from)
    # the standby replays a loopback primary in well under the 5 s a read may wait
    assert served == ["replica"] * 5


def test_a_record_read_back_after_writing_it(replica_api: Api) -> None:
    activity = replica_api.publish_activity()
    volunteer = replica_api.take_volunteers(1)[0]
    response = replica_api.post(
        f"/activities/{activity}/records", {"number": volunteer, "minutes": 90}
    )
    record_id = replica_api.ok(response)["value"]["record_id"]
    token = response.headers["Ledger-Log-Size"]
    read = replica_api.client.get(f"/records/{record_id}", headers={"Ledger-Log-Size": token})
    assert read.status_code == 200, read.text
    assert read.headers["Ledger-Read-From"] == "replica"
    assert record_id in read.text and "90" in read.text


def test_a_receipt_from_the_standby_verifies_offline(replica_api: Api) -> None:
    leaf, token = write(replica_api)
    response = replica_api.client.get(f"/receipts/{leaf}", headers={"Ledger-Log-Size": token})
    assert response.status_code == 200, response.text
    assert response.headers["Ledger-Read-From"] == "replica"
    envelope = verified_leaf(replica_api, leaf, token)[0]["envelope"]
    assert isinstance(envelope, str)
    verifiers = [parse_verifier_key(line) for line in log_keys(replica_api)]
    checkpoint = verify_receipt(response.text, envelope.encode("utf-8"), verifiers)
    assert checkpoint.size > leaf


def test_tiles_from_the_standby_are_immutable_and_rebuild_the_checkpoint(
    replica_api: Api,
) -> None:
    response = replica_api.client.get("/log/checkpoint")
    assert response.headers["Ledger-Read-From"] == "replica"
    again = replica_api.client.get("/log/checkpoint")  # the kept note: labelled as it was read
    assert (again.text, again.headers["Ledger-Read-From"]) == (response.text, "replica")
    verifiers = [parse_verifier_key(line) for line in log_keys(replica_api)]
    checkpoint = open_checkpoint(response.text, verifiers, origin=ORIGIN)
    assert checkpoint.size > 256
    tile = replica_api.client.get("/log/tile/entries/000")
    assert tile.status_code == 200
    assert tile.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert tile.headers["Ledger-Read-From"] == "replica"
    partial = checkpoint.size % 256
    if partial:
        last = replica_api.client.get(f"/log/tile/0/{checkpoint.size // 256:03d}.p/{partial}")
        assert last.status_code == 200
        assert "immutable" not in last.headers["cache-control"]


def test_a_token_the_standby_cannot_reach_is_served_by_the_primary(replica_api: Api) -> None:
    leaf, token = write(replica_api)
    beyond = str(int(token) + 1_000_000)
    started = time.monotonic()
    _, read_from = verified_leaf(replica_api, leaf, beyond)
    assert read_from == "primary"
    assert time.monotonic() - started >= 5.0  # it waited its bound for the standby first


@pytest.mark.parametrize("token", ["abc", "-1", "1e9", "9" * 40, ""])
def test_a_malformed_token_asks_for_nothing(replica_api: Api, token: str) -> None:
    response = replica_api.client.get("/leaves/0", headers={"Ledger-Log-Size": token})
    assert response.status_code == 200
    assert response.headers["Ledger-Read-From"] == "replica"


def test_a_refused_write_carries_no_token(replica_api: Api) -> None:
    response = replica_api.post("/volunteers", {}, key="not-a-key")
    assert response.status_code == 401
    assert "Ledger-Log-Size" not in response.headers


def test_the_standby_log_equals_the_primary_log(replica_api: Api) -> None:
    write(replica_api)
    wait_for_standby(replica_api.db_url)
    with Ledger(replica_api.db_url, keystore=None) as primary:
        size = primary.log_size()
        with open_replica(standby_url_of(replica_api.db_url), primary) as replica:
            assert replica.log_size() >= size
            assert replica.log.root(size) == primary.log.root(size)
            assert replica.log.entry(size - 1) == primary.log.entry(size - 1)
            assert replica.log.checkpoints()[: len(primary.log.checkpoints())] == (
                primary.log.checkpoints()
            )


def test_the_standby_refuses_writes_of_its_own(replica_api: Api) -> None:
    """Even with the ledger's keys, a command run on the standby writes nothing anywhere."""
    keys = DirectoryKeystore(replica_api.server.cwd / "ledger-keys")
    with Ledger(replica_api.db_url, keystore=keys) as primary:
        size = primary.log_size()
        replica = open_replica(standby_url_of(replica_api.db_url), primary)
        with replica, pytest.raises(StorageError, match="read-only"):
            replica.register_organisation(
                replica_api.city.root,
                org_id="never-written",
                name="Never written",
                kind="organisation",
                region="140402",
                idempotency_key="replica-write",
            )
        assert primary.log_size() == size
        with pytest.raises(NotFoundError):
            primary._directory.refresh()
            primary._directory.organisation("never-written")


def test_a_read_db_that_is_not_postgresql_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [*LEDGER_CLI, "serve", "--db", "memory://", "--read-db", "sqlite:///standby.db"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "a read replica is a PostgreSQL standby" in result.stderr


def test_a_certificate_issued_is_verified_from_the_standby(replica_api: Api) -> None:
    number = replica_api.ok(replica_api.post("/volunteers", {}))["value"]["number"]
    response = replica_api.post(
        "/certificates",
        {
            "number": number,
            "period_from": "2025-01-01",
            "period_to": "2025-12-31",
            "issuer_contact": "Volunteer office",
        },
    )
    certificate = replica_api.ok(response)["value"]["certificate_number"]
    token = {"Ledger-Log-Size": response.headers["Ledger-Log-Size"]}

    package = replica_api.client.get(f"/certificates/{certificate}/package", headers=token)
    assert package.status_code == 200, package.text
    assert package.headers["Ledger-Read-From"] == "replica"
    verifiers = [parse_verifier_key(line) for line in log_keys(replica_api)]
    verdict = check_package(package.json(), verifiers)
    assert verdict.valid, verdict.reason

    page = replica_api.client.get(f"/verify/{certificate}", headers=token)
    assert page.status_code == 200
    assert page.headers["Ledger-Read-From"] == "replica"
    assert certificate in page.text


def test_a_server_whose_standby_does_not_answer_does_not_start(tmp_path: Path) -> None:
    require_postgres()
    db_url = new_schema()
    try:
        build_city(db_url, tmp_path, volunteers=1, fillers=0)
        silent = "postgresql://postgres@127.0.0.1:1/test?" + db_url.partition("?")[2]
        with pytest.raises(RuntimeError, match="server exited"):
            start_ledger_serve(db_url, tmp_path, extra=["--read-db", silent]).stop()
    finally:
        drop_schema(db_url)


def test_views_come_from_the_standby_unless_the_read_follows_a_write(replica_api: Api) -> None:
    response = replica_api.post("/volunteers", {})
    replica_api.ok(response)
    token = {"Ledger-Log-Size": response.headers["Ledger-Log-Size"]}
    primary = replica_api.client.get(f"/orgs/{replica_api.city.root}/figures", headers=token)
    assert primary.status_code == 200, primary.text
    assert primary.headers["Ledger-Read-From"] == "primary"
    # the standby's views are the primary's, a moment later
    deadline = time.monotonic() + 30
    while True:
        standby = replica_api.client.get(f"/orgs/{replica_api.city.root}/figures")
        assert standby.status_code == 200, standby.text
        assert standby.headers["Ledger-Read-From"] == "replica"
        if standby.json() == primary.json() or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert standby.json() == primary.json()
    board = replica_api.client.get("/leaderboards/organisations")
    assert board.status_code == 200 and board.headers["Ledger-Read-From"] == "replica"


class Relay:
    """A TCP relay to the standby that can be cut, as a network failure would cut it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.sockets: list[socket.socket] = [self.listener]
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                return
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def test_reads_go_to_the_primary_while_the_standby_is_cut_off(tmp_path: Path) -> None:
    require_postgres()
    require_standby()
    db_url = new_schema()
    standby = urlsplit(STANDBY_URL)
    relay = Relay((standby.hostname or "127.0.0.1", standby.port or 5432))
    try:
        city = build_city(db_url, tmp_path, volunteers=1, fillers=0)
        wait_for_standby(db_url)
        through_relay = standby._replace(netloc=f"postgres@127.0.0.1:{relay.port}").geturl()
        through_relay = through_relay.split("?")[0] + "?" + db_url.partition("?")[2]
        server = start_ledger_serve(db_url, tmp_path, extra=["--read-db", through_relay])
        api = Api(server, city, httpx.Client(base_url=server.base_url, timeout=60.0), "pg", db_url)
        try:
            assert api.client.get("/leaves/0").headers["Ledger-Read-From"] == "replica"
            figures = api.client.get(f"/orgs/{city.root}/figures")
            assert figures.headers["Ledger-Read-From"] == "replica"
            relay.cut()
            for _ in range(3):
                leaf, token = write(api)
                _, read_from = verified_leaf(api, leaf, token)
                assert read_from == "primary"
                assert api.client.get("/leaves/0").headers["Ledger-Read-From"] == "primary"
                figures = api.client.get(f"/orgs/{city.root}/figures")
                assert figures.status_code == 200, figures.text
                assert figures.headers["Ledger-Read-From"] == "primary"
        finally:
            api.client.close()
            server.stop()
    finally:
        relay.cut()
        drop_schema(db_url)
