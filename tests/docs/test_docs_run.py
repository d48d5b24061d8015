"""Every code block of README.md and docs/*.md outside docs/workflows/ runs as written.

Each page runs in a fresh directory: first its python blocks in order in one namespace (each
printing exactly the ``text`` block shown under it, if any), then its shell blocks in one bash
session (``shell_session.py``). What a page assumes without showing it (an open ``Ledger`` named
``ledger``, a demo city in ``ledger.db`` with its ``ledger-trust.json``, a served ledger) is set
up by ``SETUP`` below, which also checks afterwards what the page's code should have done; one
small demo city is built once per test session and copied.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from docs_blocks import ROOT, SHELL, Block, blocks_of, documents
from shell_session import BIN, Session, check_outputs, free_port

from ledger import Ledger
from ledger.apikeys import create_api_key
from ledger.client import LedgerClient
from ledger.log.policy import Policy
from ledger.signing import SigningKey, key_id_of

WORKFLOWS = ROOT / "docs" / "workflows"
PAGES = [
    p for p in documents() if not p.is_relative_to(WORKFLOWS) and any(b.runs for b in blocks_of(p))
]
SLOW = {"api.md", "audit.md"}  # a demo city served over HTTP; audits in worker processes


@pytest.fixture(scope="session")
def demo_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small deterministic demo city: ``ledger.db`` and its keystore ``ledger.db.keys``."""
    where = tmp_path_factory.mktemp("docs-demo")
    url = f"sqlite:///{where / 'ledger.db'}"
    subprocess.run(
        [str(BIN / "ledger"), "demo", "--db", url, "--volunteers", "30", "--quiet"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with Ledger(url) as ledger:
        (where / "ledger-trust.json").write_text(json.dumps(ledger.trust_anchors(), indent=2))
    return where


def copy_city(demo: Path, workdir: Path, name: str = "ledger.db") -> None:
    shutil.copy(demo / "ledger.db", workdir / name)
    shutil.copytree(demo / "ledger.db.keys", workdir / f"{name}.keys")
    shutil.copy(demo / "ledger-trust.json", workdir / "ledger-trust.json")


Setup = Callable[[Path, Path], Iterator[dict[str, Any]]]


@contextlib.contextmanager
def nothing(workdir: Path, demo: Path) -> Iterator[dict[str, Any]]:
    yield {}


@contextlib.contextmanager
def a_demo_city(workdir: Path, demo: Path) -> Iterator[dict[str, Any]]:
    copy_city(demo, workdir)
    yield {"env": {"LEDGER_DATABASE_URL": "sqlite:///ledger.db"}}


@contextlib.contextmanager
def a_city_as_city_db(workdir: Path, demo: Path) -> Iterator[dict[str, Any]]:
    copy_city(demo, workdir, "city.db")

    def the_query_found_volunteers(_: Path, namespace: dict[str, Any]) -> None:
        namespace["ledger"].close()
        found = namespace["queries"].top_volunteers(limit=20, year="2025", under_org="luzhou")
        assert found, "the demo city has volunteers under luzhou with hours in 2025"

    yield {
        "env": {"LEDGER_DATABASE_URL": "sqlite:///city.db"},
        "checks": [the_query_found_volunteers],
    }


@contextlib.contextmanager
def an_open_ledger_and_a_demo_city(workdir: Path, demo: Path) -> Iterator[dict[str, Any]]:
    """assessment.md: ``ledger``, an open ledger with a root ``changzhi`` and no schemes yet;
    its shell blocks run on the demo city."""
    copy_city(demo, workdir)
    with Ledger("sqlite:///schemes.db") as ledger:
        ledger.create(
            name="Changzhi volunteer ledger",
            root_org_id="changzhi",
            root_name="Changzhi Volunteer Federation",
            region="140400",
            origin="volunteer.changzhi.example/ledger",
        )

        def the_scheme_is_stored(_: Path, namespace: dict[str, Any]) -> None:
            [scheme] = ledger.events_of_types("AssessmentSchemePublished")
            assert scheme.body["data"]["scheme_id"] == "changzhi-units-2025"

        yield {
            "namespace": {"ledger": ledger},
            "env": {"LEDGER_DATABASE_URL": "sqlite:///ledger.db"},
            "checks": [the_scheme_is_stored],
        }


@contextlib.contextmanager
def a_demo_city_and_its_root_key(workdir: Path, demo: Path) -> Iterator[dict[str, Any]]:
    """audit.md: the demo city with its ledger-trust.json; ``root_key`` from that file."""
    copy_city(demo, workdir)
    trust = json.loads((workdir / "ledger-trust.json").read_text())

    def the_reports_are_written(where: Path, _: dict[str, Any]) -> None:
        report = json.loads((where / "report.json").read_text())
        assert report["clean"] is True
        assert (where / "audit-state.json").is_file()
        assert (where / "bundle" / "manifest.json").is_file()
        shown = [
            json.loads(b.text) for b in blocks_of(ROOT / "docs" / "audit.md") if b.lang == "json"
        ]
        trust_shown, report_shown = shown
        assert list(trust_shown) == list(trust), "audit.md shows other members of ledger-trust.json"
        assert list(report_shown) == list(report), "audit.md shows other members of a report"

    yield {
        "namespace": {"root_key": trust["root_key"]},
        "env": {"LEDGER_DATABASE_URL": "sqlite:///ledger.db"},
        "checks": [the_reports_are_written],
    }


CONTEXT = b"service-hour-ledger/event/v1\n"


@contextlib.contextmanager
def a_body_signed_outside(workdir: Path, demo: Path) -> Iterator[dict[str, Any]]:
    """signing.md: an organisation's own key, registered in the demo city; a body it signed
    (``body_bytes``, ``signature_b64``) and, for openssl, the same as files; ``lg`` open."""
    copy_city(demo, workdir)
    key = SigningKey.generate()
    raw = key.public_key.raw
    with Ledger("sqlite:///ledger.db") as lg:
        lg.register_key(
            "luzhou",
            for_org="luzhou-youth-team",
            public_key=key.public_key,
            idempotency_key="docs-own-key",
        )
        number = "VABCDEFGHIJKLM"
        body = {
            "type": "VolunteerRegistered",
            "org": "luzhou-youth-team",
            "key_id": key.key_id,
            "aggregate_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"/volunteers/{number}")),
            "aggregate_version": 1,
            "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "idempotency_key": "vol-1",
            "data": {"number": number},
        }
        body_bytes = rfc8785.dumps(body)
        signature = key.sign(CONTEXT + body_bytes)
        der = bytes.fromhex("302a300506032b6570032100") + raw
        pem = base64.encodebytes(der).decode()
        (workdir / "org-key.pem").write_text(
            f"-----BEGIN PUBLIC KEY-----\n{pem}-----END PUBLIC KEY-----\n"
        )
        (workdir / "message.bin").write_bytes(CONTEXT + body_bytes)
        (workdir / "signature.bin").write_bytes(signature)

        def the_body_is_stored_and_verifies(_: Path, namespace: dict[str, Any]) -> None:
            [ref] = namespace["result"].events
            stored = lg.event(ref.aggregate_id, ref.version)
            verified = namespace["verify_event"](stored.envelope, base64.b64encode(raw).decode())
            assert verified == body

        yield {
            "namespace": {
                "lg": lg,
                "body_bytes": body_bytes,
                "signature_b64": base64.b64encode(signature).decode(),
            },
            "checks": [the_body_is_stored_and_verifies],
        }


@contextlib.contextmanager
def two_logs_to_witness(workdir: Path, demo: Path) -> Iterator[dict[str, Any]]:
    """verification.md: the verifier keys of two logs, city-one.vkey and city-two.vkey."""
    trust = json.loads((demo / "ledger-trust.json").read_text())
    (workdir / "city-one.vkey").write_text(trust["log_verifiers"][0])
    with Ledger("memory://") as other:
        other.create(
            name="City two",
            root_org_id="city-two",
            root_name="City Two Federation",
            region="140500",
            origin="volunteer.city-two.example/ledger",
        )
        (workdir / "city-two.vkey").write_text(other.trust_anchors()["log_verifiers"][0])

    def the_witness_key_was_made(where: Path, _: dict[str, Any]) -> None:
        assert (where / "witness.pem").is_file()

    def the_page_s_functions_verify_the_demo_log(_: Path, page: dict[str, Any]) -> None:
        """The page's own verifier, inclusion, receipt and consistency code, on real data."""
        with Ledger(f"sqlite:///{demo / 'ledger.db'}") as ledger:
            log, vkey = ledger.log, trust["log_verifiers"][0]
            assert page["verifier_key"](log.origin, trust["log_keys"][vkey_id(vkey)]) == vkey
            size = log.latest_size()
            old = size // 3
            for leaf in (0, size // 2, size - 1):
                assert page["verify_receipt"](log.receipt(leaf), vkey) == log.entry(leaf)
            proof = log.consistency_proof(old, size)
            page["verify_consistency"](old, size, log.root(old), log.root(size), proof)
            receipt = log.receipt(7)
            altered = receipt.replace("\nindex 7\n", "\nindex 8\n")
            with pytest.raises(ValueError, match="inclusion proof does not verify"):
                page["verify_receipt"](altered, vkey)
            with pytest.raises(ValueError, match="consistency proof does not verify"):
                page["verify_consistency"](old, size, log.root(old + 1), log.root(size), proof)

    def the_example_policy_parses(_: Path, __: dict[str, Any]) -> None:
        [policy] = [b for b in blocks_of(ROOT / "docs" / "verification.md") if "quorum" in b.text]
        Policy.parse(policy.text)

    yield {
        "checks": [
            the_witness_key_was_made,
            the_page_s_functions_verify_the_demo_log,
            the_example_policy_parses,
        ]
    }


def vkey_id(vkey: str) -> str:
    """The log key id (``log_keys`` of the trust file) of a verifier key string."""
    material = base64.b64decode(vkey.split("+", 2)[2])
    return key_id_of(material[1:])


@contextlib.contextmanager
def an_empty_directory(workdir: Path, demo: Path) -> Iterator[dict[str, Any]]:
    """README.md: its example makes city.db."""

    def the_ledger_is_made(where: Path, _: dict[str, Any]) -> None:
        with Ledger("sqlite:///city.db") as ledger:
            assert ledger.log.size() >= 4

    yield {"checks": [the_ledger_is_made]}


@contextlib.contextmanager
def a_certificate_package(workdir: Path, demo: Path) -> Iterator[dict[str, Any]]:
    """certificates.md: a demo certificate's package, under the page's file name, and the log's
    verifier key in log.vkey."""
    with Ledger(f"sqlite:///{demo / 'ledger.db'}") as ledger:
        revoked = {
            e.body["data"]["certificate_number"]
            for e in ledger.events_of_types("CertificateRevoked")
        }
        number = next(
            e.body["data"]["certificate_number"]
            for e in ledger.events_of_types("CertificateIssued")
            if e.body["data"]["certificate_number"] not in revoked
        )
        package = ledger.certificate_package(number)
        (workdir / "log.vkey").write_text(ledger.trust_anchors()["log_verifiers"][0])
    (workdir / "C2025-2SFRCNKLZN.certificate.json").write_text(json.dumps(package))

    def it_is_valid(where: Path, _: dict[str, Any]) -> None:
        printed = (where / ".docs-session" / "0.out").read_text()
        assert printed.startswith(f"VALID: certificate {number} issued by "), printed

    yield {"checks": [it_is_valid]}


@contextlib.contextmanager
def an_organisation_with_its_key_at_home(workdir: Path, demo: Path) -> Iterator[dict[str, Any]]:
    """trust-model.md: the demo city served over HTTP; org-a registered under the root with a
    key only its key file (org-a.pem) holds, an API key of its own, and an activity it runs."""
    copy_city(demo, workdir)
    key = SigningKey.generate()
    (workdir / "org-a.pem").write_bytes(key.to_pem())
    with Ledger("sqlite:///ledger.db") as ledger:
        ledger.register_organisation(
            "changzhi", org_id="org-a", name="Org A", kind="organisation", region="140403",
            idempotency_key="docs-org-a",
        )  # fmt: skip
        ledger.register_key(
            "changzhi", for_org="org-a", public_key=key.public_key, idempotency_key="docs-key-a"
        )
        api_key = create_api_key(ledger, "org-a", ["register", "record", "approve", "read"])
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "ledger"), "serve", "--db", "sqlite:///ledger.db", "--port", str(port)],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, server)
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        with LedgerClient.with_key_file(url, api_key, workdir / "org-a.pem", org="org-a") as org:
            activity = org.publish_activity(
                idempotency_key="docs-activity", title="Riverside clean-up",
                field="community-governance", place="Riverside park",
                starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=1),
                leader="team-leader-07", content="litter picking along the river",
            ).value.activity_id  # fmt: skip

        def the_record_is_approved_and_signed_by_org_a(_: Path, page: dict[str, Any]) -> None:
            with urllib.request.urlopen(f"{url}/records/{page['record'].value.record_id}") as r:
                record = json.loads(r.read())
            assert record["status"] == "approved"
            stored = ledger_event_bodies(workdir, record)
            assert {b["org"] for b in stored} == {"org-a"}
            assert {b["key_id"] for b in stored} == {key.key_id}

        yield {
            "namespace": {"LEDGER_URL": url, "api_key": api_key, "activity": activity},
            "checks": [the_record_is_approved_and_signed_by_org_a],
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def ledger_event_bodies(workdir: Path, record: dict[str, Any]) -> list[dict[str, Any]]:
    with Ledger(f"sqlite:///{workdir / 'ledger.db'}") as ledger:
        return [ledger.event(e["aggregate_id"], e["version"]).body for e in record["events"]]


def wait_until_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        assert server.poll() is None, "ledger serve exited"
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


SETUP: dict[str, Callable[[Path, Path], contextlib.AbstractContextManager[dict[str, Any]]]] = {
    "README.md": an_empty_directory,
    "assessment.md": an_open_ledger_and_a_demo_city,
    "audit.md": a_demo_city_and_its_root_key,
    "certificates.md": a_certificate_package,
    "projections.md": a_city_as_city_db,
    "signing.md": a_body_signed_outside,
    "trust-model.md": an_organisation_with_its_key_at_home,
    "verification.md": two_logs_to_witness,
}


def run_python(block: Block, namespace: dict[str, Any]) -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block.text, block.where, "exec"), namespace)
    if block.expected is not None:
        assert printed.getvalue().rstrip() == block.expected.rstrip(), block.where


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(
            p, id=str(p.relative_to(ROOT)), marks=[pytest.mark.slow] if p.name in SLOW else []
        )
        for p in PAGES
    ],
)
def test_the_code_blocks_of_a_page_run_as_written(
    page: Path, demo_city: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    blocks = blocks_of(page)
    setup = SETUP.get(page.name, nothing)
    with setup(tmp_path, demo_city) as given:
        namespace: dict[str, Any] = {"__name__": "docs", **given.get("namespace", {})}
        python = [b for b in blocks if b.runs and b.lang == "python" and b.file is None]
        for block in python:
            run_python(block, namespace)
        shell = [b for b in blocks if b.runs and (b.lang in SHELL or b.file is not None)]
        if shell:
            session = Session(shell, tmp_path, env=given.get("env", {}))
            check_outputs(blocks, session, session.run())
        for check in given.get("checks", []):
            check(tmp_path, namespace)
