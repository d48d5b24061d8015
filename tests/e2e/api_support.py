"""Helpers for the end-to-end API tests (imported by name; not a test module).

The tests talk to a real server process over loopback HTTP. Everything a verifier does here uses
only what a stranger would have: the HTTP responses, the ``ledger.log`` verification functions,
``cryptography`` and ``rfc8785``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PROBLEM_JSON = "application/problem+json"
EVENT_CONTEXT = b"service-hour-ledger/event/v1\n"
ORIGIN = "ledger.e2e.example/log"
ALL_SCOPES = [
    "register",
    "record",
    "approve",
    "award",
    "timebank",
    "keys",
    "private",
    "read",
    "erase",
]
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
LEDGER_CLI = [sys.executable, "-m", "ledger.cli"]


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A server process we started (in its own session, so its workers stop with it)."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    cwd: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_process(
    command: list[str], cwd: Path, env: Mapping[str, str], port: int, *, timeout: float = 60.0
) -> Server:
    """Start ``command`` (a server on ``port``) and wait until ``/readyz`` answers 200."""
    log_path = cwd / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path, cwd)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.base_url + "/readyz", timeout=2.0).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server did not become ready in {timeout} s:\n{server.log()}")


def start_ledger_serve(
    db_url: str,
    cwd: Path,
    *,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    extra: list[str] | None = None,
) -> Server:
    """``ledger serve --db URL --port P --workers N [extra...]`` as a subprocess in ``cwd``."""
    port = free_port()
    command = [*LEDGER_CLI, "serve", "--db", db_url, "--port", str(port)]
    command += ["--workers", str(workers), *(extra or [])]
    return start_process(command, cwd, dict(env or {}), port)


def start_uvicorn_factory(db_url: str, cwd: Path, env: Mapping[str, str]) -> Server:
    """uvicorn on ``ledger_api.app:create_app_from_env`` with ``LEDGER_*`` settings from the env."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "ledger_api.app:create_app_from_env",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    return start_process(command, cwd, {"LEDGER_DATABASE_URL": db_url, **env}, port)


# --- the city the servers serve ------------------------------------------------------------


@dataclass
class City:
    """What was made before the server started: organisations, API keys and volunteers."""

    root: str = "city"
    org_a: str = "org-a"
    station: str = "org-a-station"
    org_b: str = "org-b"
    keys: dict[str, str] = field(default_factory=dict)
    volunteers: list[str] = field(default_factory=list)  # registered by org-a
    b_volunteers: list[str] = field(default_factory=list)  # registered by org-b


def build_city(db_url: str, cwd: Path, *, volunteers: int = 85, fillers: int = 45) -> City:
    """Create a ledger and API keys with the library, from ``cwd`` (where the keystore is).

    ``volunteers`` fresh volunteers of org-a are handed to the tests. So that the log holds
    more than 256 leaves (a full tile and more) without hundreds of commands, ``fillers`` other
    volunteers are registered and recorded on three rosters.
    """
    from ledger import DirectoryKeystore, Ledger
    from ledger.apikeys import create_api_key

    city = City()
    keystore = None if db_url.startswith("sqlite") else DirectoryKeystore(cwd / "ledger-keys")
    with Ledger(db_url, keystore=keystore) as ledger:
        ledger.create(
            name="E2E city ledger",
            root_org_id=city.root,
            root_name="E2E City Volunteer Federation",
            region="140400",
            origin=ORIGIN,
        )
        for parent, org, kind in [
            (city.root, city.org_a, "organisation"),
            (city.org_a, city.station, "station"),
            (city.root, city.org_b, "organisation"),
        ]:
            ledger.register_organisation(
                parent,
                org_id=org,
                name=f"Org {org}",
                kind=kind,
                region="140402",
                idempotency_key=f"org-{org}",
            )
            ledger.new_key(parent, for_org=org, idempotency_key=f"key-{org}")
        # the root publishes star schemes and org-b runs time banks in the tests: stars and
        # credit are signed by an automatic key of theirs that the server must hold (the API
        # only registers public keys held elsewhere)
        for org in (city.root, city.org_b):
            ledger.new_key(
                city.root,
                for_org=org,
                idempotency_key=f"auto-key-{org}",
                purpose="automatic-awards",
            )
        for i in range(volunteers):
            made = ledger.register_volunteer(city.org_a, idempotency_key=f"vol-a-{i}")
            city.volunteers.append(str(made.value.number))
        for i in range(3):
            made = ledger.register_volunteer(city.org_b, idempotency_key=f"vol-b-{i}")
            city.b_volunteers.append(str(made.value.number))
        filler_numbers = [
            str(ledger.register_volunteer(city.org_a, idempotency_key=f"filler-{i}").value.number)
            for i in range(fillers)
        ]
        now = datetime.now(UTC)
        for day in range(3 if fillers else 0):
            opened = ledger.publish_activity(
                city.org_a,
                idempotency_key=f"opening-activity-{day}",
                title="Opening days",
                field="large-event-service",
                place="City square",
                starts_at=now - timedelta(hours=4),
                ends_at=now - timedelta(hours=3),
                leader="leader-00",
                content="opening day stewards",
            )
            ledger.record_roster(
                city.org_a,
                activity_id=opened.value.activity_id,
                idempotency_key=f"opening-roster-{day}",
                entries=[{"number": n, "minutes": 1} for n in filler_numbers],
            )
        ledger.log.sign_checkpoint()
        city.keys = {
            "root": create_api_key(ledger, city.root, ALL_SCOPES),
            "a": create_api_key(ledger, city.org_a, ALL_SCOPES),
            "a_read": create_api_key(ledger, city.org_a, ["read"]),
            "b": create_api_key(ledger, city.org_b, ALL_SCOPES),
            "station": create_api_key(ledger, city.station, ["record", "approve", "read"]),
        }
    return city


def create_views(db_url: str) -> None:
    """Create the view tables once, before several workers start, as an operator's migration
    step would (``test_two_workers_start_on_a_fresh_schema`` covers starting without it)."""
    from ledger import Ledger, MemoryKeystore

    with Ledger(db_url, keystore=MemoryKeystore()) as ledger:
        ledger.projections().close()


# --- a client -------------------------------------------------------------------------------


def idem() -> str:
    return "e2e-" + uuid.uuid4().hex


def new_number() -> str:
    return "V" + "".join(BASE32[b % 32] for b in os.urandom(13))


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def activity_body(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {
        "title": "Riverside clean-up",
        "field": "community-governance",
        "place": "Riverside park",
        "starts_at": utc(now - timedelta(hours=3)),
        "ends_at": utc(now - timedelta(hours=1)),
        "leader": "leader-01",
        "content": "litter picking along the river",
    }
    body.update(changes)
    return body


@dataclass
class Api:
    """A server, the city behind it, and a client that sends keys and idempotency keys."""

    server: Server
    city: City
    client: httpx.Client
    kind: str  # "sqlite" or "postgresql"
    db_url: str
    _next_volunteer: int = 0

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def headers(
        self, key: str | None = "a", *, idempotency: str | None = None, org: str | None = None
    ) -> dict[str, str]:
        headers = {}
        if key is not None:
            headers["Authorization"] = f"Bearer {self.city.keys.get(key, key)}"
        if idempotency is not None:
            headers["Idempotency-Key"] = idempotency
        if org is not None:
            headers["X-Acting-Org"] = org
        return headers

    def get(self, path: str, *, key: str | None = None, **kw: Any) -> httpx.Response:
        return self.client.get(path, headers=self.headers(key), **kw)

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        key: str | None = "a",
        idempotency: str | None = None,
        org: str | None = None,
        method: str = "POST",
    ) -> httpx.Response:
        headers = self.headers(key, idempotency=idempotency or idem(), org=org)
        return self.client.request(
            method, path, json=body if body is not None else {}, headers=headers
        )

    def ok(self, response: httpx.Response, status: int = 201) -> dict[str, Any]:
        assert response.status_code == status, (response.status_code, response.text)
        data: dict[str, Any] = response.json()
        return data

    def take_volunteers(self, count: int) -> list[str]:
        """Volunteers of org-a no other test has used (each test gets fresh people)."""
        chosen = self.city.volunteers[self._next_volunteer : self._next_volunteer + count]
        self._next_volunteer += count
        assert len(chosen) == count, "the city ran out of volunteers; build a bigger one"
        return chosen

    def publish_activity(self, key: str = "a", org: str | None = None, **changes: Any) -> str:
        made = self.ok(self.post("/activities", activity_body(**changes), key=key, org=org))
        return str(made["value"]["activity_id"])

    def register_volunteer(self, key: str = "a", org: str | None = None) -> str:
        made = self.ok(self.post("/volunteers", {}, key=key, org=org))
        return str(made["value"]["number"])

    def wait_for_views(self, notification_id: int, timeout: float = 20.0) -> None:
        """Views are eventually consistent: wait until they have applied ``notification_id``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = self.client.get("/readyz").json()
            if ready["views_position"] >= notification_id:
                return
            # with several workers the views are caught up by whichever worker reads them
            self.client.get("/stats/city")
            time.sleep(0.1)
        raise AssertionError(f"views did not reach {notification_id} in {timeout} s")


def assert_problem(
    response: httpx.Response, status: int, problem_type: str | None = None
) -> dict[str, Any]:
    """An RFC 9457 problem: the media type and the four members, with a useful detail."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON, response.headers
    problem: dict[str, Any] = response.json()
    assert isinstance(problem.get("type"), str) and problem["type"], problem
    assert isinstance(problem.get("title"), str) and problem["title"], problem
    assert problem.get("status") == status, problem
    assert isinstance(problem.get("detail"), str) and problem["detail"], problem
    if problem_type is not None:
        assert problem["type"].rsplit("/", 1)[-1] == problem_type, problem
    return problem


# --- independent verification: only cryptography, rfc8785 and ledger.log -------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def key_id_of(public_key_raw: bytes) -> str:
    return hashlib.sha256(public_key_raw).digest()[:16].hex()


def verify_event_signature(envelope_bytes: bytes, public_key_b64: str) -> dict[str, Any]:
    """docs/signing.md, "Verifying a stored event yourself", steps 1 to 5; return the body."""
    envelope = json.loads(envelope_bytes)
    assert set(envelope) == {"body", "recorded_at", "signature"}, sorted(envelope)
    assert rfc8785.dumps(envelope) == envelope_bytes, "the envelope is not canonical JSON"
    body: dict[str, Any] = envelope["body"]
    raw_key = unb64(public_key_b64)
    assert key_id_of(raw_key) == body["key_id"], "the body names another key"
    signature = unb64(envelope["signature"])
    Ed25519PublicKey.from_public_bytes(raw_key).verify(
        signature, EVENT_CONTEXT + rfc8785.dumps(body)
    )
    return body


def verify_leaf_evidence(api: Api, leaf_index: int) -> dict[str, Any]:
    """Fetch ``/leaves/{i}`` and check it with nothing but the log key and the org key.

    1. the log's verifier key from ``/log/key`` opens the checkpoint note (its signature);
    2. the leaf hash of the envelope bytes is proven into that checkpoint's root;
    3. the organisation's signature over the body verifies with the key from ``/keys/{id}``,
       and that key belongs to the body's organisation and was registered before the leaf.
    Returns the evidence.
    """
    from ledger.log import leaf_hash, open_checkpoint, parse_verifier_key, verify_inclusion

    verifiers = [parse_verifier_key(line) for line in log_keys(api)]
    response = api.client.get(f"/leaves/{leaf_index}")
    assert response.status_code == 200, response.text
    evidence: dict[str, Any] = response.json()
    envelope = evidence["envelope"].encode("utf-8")
    hashed = leaf_hash(envelope)
    assert b64(hashed) == evidence["leaf_hash"]
    checkpoint = open_checkpoint(evidence["checkpoint"], verifiers, origin=ORIGIN)
    assert checkpoint.size == evidence["tree_size"] > leaf_index
    verify_inclusion(
        hashed,
        leaf_index,
        checkpoint.size,
        [unb64(h) for h in evidence["inclusion_proof"]],
        checkpoint.root_hash,
    )
    body = json.loads(envelope)["body"]
    key_response = api.client.get(f"/keys/{body['key_id']}")
    assert key_response.status_code == 200, key_response.text
    key = key_response.json()
    assert key["org"] == body["org"]
    assert key["registered_at_leaf"] <= leaf_index
    assert key["revoked_at_leaf"] is None or leaf_index < key["revoked_at_leaf"]
    assert verify_event_signature(envelope, key["public_key"]) == body
    assert evidence["event"]["body"] == body and evidence["leaf_index"] == leaf_index
    return evidence


def log_keys(api: Api) -> list[str]:
    response = api.client.get("/log/key")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return [line for line in response.text.splitlines() if line]


# --- signing outside the ledger -------------------------------------------------------------


@dataclass
class OutsideKey:
    """An organisation's own Ed25519 key that never leaves the test."""

    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_raw)

    def sign(self, body: dict[str, Any]) -> tuple[str, str]:
        """(JCS(body) as text, base64 signature over the context and JCS(body))."""
        canonical = rfc8785.dumps(body)
        return canonical.decode("utf-8"), b64(self.private.sign(EVENT_CONTEXT + canonical))


def volunteer_registered_body(org: str, key_id: str, number: str, key: str) -> dict[str, Any]:
    return {
        "type": "VolunteerRegistered",
        "org": org,
        "key_id": key_id,
        "aggregate_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"/volunteers/{number}")),
        "aggregate_version": 1,
        "occurred_at": utc(datetime.now(UTC)),
        "idempotency_key": key,
        "data": {"number": number},
    }


def walk_pages(
    api: Api, path: str, limit: int, *, key: str | None = None, **params: Any
) -> Iterator[dict[str, Any]]:
    """Every page of a cursor-paginated list, following ``next_cursor`` to the end."""
    cursor = None
    for _ in range(10_000):
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        response = api.get(path, params=query, key=key)
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        yield page
        cursor = page["next_cursor"]
        if cursor is None:
            return
    raise AssertionError("pagination did not end")
