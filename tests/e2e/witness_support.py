"""Helpers for the witness end-to-end tests (imported by name; not a test module).

Cities are made with the library in a directory of their own (the keystore sits beside the
SQLite file), then served by ``ledger serve``; witnesses are ``ledger witness serve`` processes
with their own key and store. Everything runs as real processes over loopback.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx
from api_support import LEDGER_CLI, Server, free_port, start_ledger_serve, start_process

from ledger.log import NoteVerifier, parse_verifier_key


@dataclass
class CityLedger:
    name: str
    directory: Path
    db_url: str
    api_key: str
    log_key: NoteVerifier
    server: Server | None = None

    @property
    def origin(self) -> str:
        return self.log_key.name

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.base_url


@dataclass
class WitnessProcess:
    name: str
    key: NoteVerifier
    server: Server


def make_city(root: Path, name: str) -> CityLedger:
    """A ledger with one organisation (org-a) and an API key of it, made with the library."""
    from ledger import Ledger
    from ledger.apikeys import create_api_key

    directory = root / name
    directory.mkdir()
    db_url = f"sqlite:///{directory / 'ledger.db'}"
    with Ledger(db_url) as ledger:
        ledger.create(
            name=f"{name} ledger",
            root_org_id="city",
            root_name=f"{name} federation",
            region="140400",
            origin=f"{name}.example/ledger",
        )
        ledger.register_organisation(
            "city", org_id="org-a", name="Org A", kind="organisation", region="140402",
            idempotency_key="org-a",
        )  # fmt: skip
        ledger.new_key("city", for_org="org-a", idempotency_key="org-a-key")
        api_key = create_api_key(ledger, "org-a", ["register", "read"])
        log_key = parse_verifier_key(ledger.log.verifier_keys()[0])
    return CityLedger(name, directory, db_url, api_key, log_key)


def witness_key(directory: Path, name: str) -> NoteVerifier:
    """``ledger witness key``: create the key file once and read the vkey it prints."""
    printed = subprocess.run(
        [*LEDGER_CLI, "witness", "key", "--name", name, "--key", str(directory / "witness.pem")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return parse_verifier_key(printed)


def start_witness(root: Path, name: str, logs: list[NoteVerifier]) -> WitnessProcess:
    directory = root / name.replace("/", "_")
    directory.mkdir(exist_ok=True)
    key = witness_key(directory, name)
    port = free_port()
    command = [*LEDGER_CLI, "witness", "serve", "--name", name]
    command += ["--key", str(directory / "witness.pem"), "--store", str(directory / "state.db")]
    command += ["--port", str(port)]
    for log in logs:
        command += ["--log", log.key_string]
    return WitnessProcess(name, key, start_process(command, directory, {}, port))


def serve_city(city: CityLedger, witnesses: list[WitnessProcess]) -> None:
    configured = ";".join(f"{w.key.key_string} {w.server.base_url}" for w in witnesses)
    city.server = start_ledger_serve(
        city.db_url,
        city.directory,
        env={"LEDGER_WITNESSES": configured, "LEDGER_CHECKPOINT_EVERY_SECONDS": "3600"},
    )


def register_volunteer(city: CityLedger, key: str) -> int:
    """Register one volunteer over HTTP; return the leaf index of its event."""
    response = httpx.post(
        city.url + "/volunteers",
        json={},
        headers={"Authorization": f"Bearer {city.api_key}", "Idempotency-Key": key},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["events"][0]["leaf_index"])


def checkpoint(city: CityLedger) -> str:
    response = httpx.get(city.url + "/log/checkpoint", timeout=30)
    assert response.status_code == 200, response.text
    return response.text


def add_checkpoint(witness: WitnessProcess, body: str) -> httpx.Response:
    return httpx.post(witness.server.base_url + "/add-checkpoint", content=body, timeout=30)


class HeldLink:
    """A slow network path to a real witness: an HTTP forwarder on loopback that holds every
    request until :meth:`release` (or ``hold_at_most`` seconds), then passes it on unchanged."""

    def __init__(self, target: str, hold_at_most: float = 60.0) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        link = self
        self.target = target
        self.released = threading.Event()
        self.arrived = 0
        self._count = threading.Lock()

        class Forward(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with link._count:
                    link.arrived += 1
                link.released.wait(hold_at_most)
                answer = httpx.post(
                    link.target + self.path,
                    content=body,
                    headers={"Content-Type": self.headers.get("Content-Type", "text/plain")},
                    timeout=30,
                )
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("content-type", "text/plain"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()


def serve_city_through(
    city: CityLedger, endpoints: list[tuple[NoteVerifier, str]], env: dict[str, str]
) -> None:
    """Serve ``city`` asking the witnesses at the given (key, URL) pairs."""
    configured = ";".join(f"{key.key_string} {url}" for key, url in endpoints)
    city.server = start_ledger_serve(
        city.db_url, city.directory, env={"LEDGER_WITNESSES": configured, **env}
    )
