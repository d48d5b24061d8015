"""[federation] Over real HTTP: two cities served by ``ledger serve``, the sender's checkpoints
cosigned by two ``ledger witness serve`` processes. The receiver's client fetches the transfer
package from the sender's API and submits it to the receiver's, which verifies it against the
pinned sender (log key, witness quorum, proofs, key chain) and carries the minutes over; a
replay and a tampered copy are refused as problems and store nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import httpx
import pytest
from api_support import start_ledger_serve
from federation_support import START
from witness_support import start_witness

from ledger import Ledger
from ledger.apikeys import create_api_key

pytestmark = pytest.mark.slow


def _city(root: Path, name: str) -> tuple[str, dict[str, object]]:
    directory = root / name
    directory.mkdir()
    url = f"sqlite:///{directory / 'ledger.db'}"
    with Ledger(url) as ledger:
        anchors = ledger.create(
            name=f"{name} ledger",
            root_org_id=name,
            root_name=f"{name} federation",
            region="140400",
            origin=f"{name}.example/ledger",
        )
        ledger.register_organisation(
            name, org_id="org-a", name="Org A", kind="organisation", region="140402",
            idempotency_key="org-a",
        )  # fmt: skip
        ledger.new_key(name, for_org="org-a", idempotency_key="org-a-key")
    return url, anchors


def test_a_package_fetched_from_the_sender_is_verified_and_accepted_by_the_receiver(
    tmp_path: Path,
) -> None:
    from ledger.log import parse_verifier_key

    alpha_url, alpha = _city(tmp_path, "alpha")
    beta_url, beta = _city(tmp_path, "beta")
    alpha_log = parse_verifier_key(str(alpha["log_verifiers"][0]))  # type: ignore[index]
    witnesses = [start_witness(tmp_path, f"w{i}.example/witness", [alpha_log]) for i in (1, 2)]
    servers = []
    try:
        with Ledger(alpha_url) as ledger:
            ledger.add_peer("alpha", trust={**beta, "witnesses": []}, idempotency_key="pin")
            number = str(ledger.register_volunteer("org-a", idempotency_key="v").value.number)
            for day, minutes in ((0, 120), (2, 45)):
                starts = START.replace(day=START.day + day)
                activity = ledger.publish_activity(
                    "org-a", title="Desk", field="legal-aid", place="Centre", starts_at=starts,
                    ends_at=starts.replace(hour=starts.hour + 4), leader="lead",
                    content="help", idempotency_key=f"act-{day}",
                ).value.activity_id  # fmt: skip
                record = ledger.record_hours(
                    "org-a", activity_id=activity, number=number, minutes=minutes,
                    occurred_at=starts.replace(day=starts.day + 1), idempotency_key=f"rec-{day}",
                ).value.record_id  # fmt: skip
                ledger.approve_record("org-a", record_id=record, idempotency_key=f"ok-{day}")
            transfer_id = ledger.transfer_out(
                "org-a", number=number, to_origin=str(beta["origin"]), idempotency_key="out"
            ).value.transfer_id
        with Ledger(beta_url) as ledger:
            policy = {"witnesses": [w.key.key_string for w in witnesses], "quorum": 2}
            ledger.add_peer("beta", trust={**alpha, **policy}, idempotency_key="pin")
            newcomer = str(ledger.register_volunteer("org-a", idempotency_key="v").value.number)
            key = create_api_key(ledger, "org-a", ["register", "read"])
        configured = ";".join(f"{w.key.key_string} {w.server.base_url}" for w in witnesses)
        sender = start_ledger_serve(
            alpha_url, tmp_path / "alpha", env={"LEDGER_WITNESSES": configured}
        )
        servers.append(sender)
        receiver = start_ledger_serve(beta_url, tmp_path / "beta")
        servers.append(receiver)

        fetched = httpx.get(f"{sender.base_url}/federation/transfers/{transfer_id}", timeout=60)
        assert fetched.status_code == 200, fetched.text
        package = fetched.json()
        assert package["summary"]["approved_minutes"] == 165
        assert package["checkpoint"].count("\n— w") == 2  # both witnesses cosigned

        headers = {"Authorization": f"Bearer {key}"}

        def submit(body: dict[str, object], idempotency: str) -> httpx.Response:
            return httpx.post(
                f"{receiver.base_url}/federation/transfers-in",
                json=body,
                headers={**headers, "Idempotency-Key": idempotency},
                timeout=60,
            )

        # a transfer-in cannot be slipped in as a signed body: only the verifying route stores it
        for kind in ("InboundTransferAccepted", "ServiceCarriedIn"):
            body = json.dumps({"type": kind, "org": "org-a"}, separators=(",", ":"))
            slipped = httpx.post(
                f"{receiver.base_url}/events",
                json={"events": [{"body": body, "signature": "AA=="}]},
                headers=headers,
                timeout=30,
            )
            assert slipped.status_code == 403, slipped.text
            assert slipped.json()["type"].endswith("not-submittable")

        tampered = copy.deepcopy(package)
        tampered["summary"]["records"][0]["minutes"] += 60
        tampered["summary"]["approved_minutes"] += 60
        refused = submit({"number": newcomer, "package": tampered}, "t")
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "summary" in refused.json()["detail"]

        accepted = submit({"number": newcomer, "package": package}, "in")
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["value"]["minutes"] == 165
        volunteer = httpx.get(f"{receiver.base_url}/volunteers/{newcomer}", headers=headers)
        assert volunteer.json()["balance"]["approved_minutes"] == 165
        record_id = accepted.json()["value"]["record_id"]
        carried = httpx.get(f"{receiver.base_url}/federation/carried/{record_id}", timeout=30)
        assert carried.status_code == 200, carried.text
        assert carried.json()["problem"] is None
        assert carried.json()["package"]["checkpoint"] == package["checkpoint"]

        replayed = submit({"number": newcomer, "package": package}, "again")
        assert replayed.status_code in (409, 422), replayed.text
        assert "already accepted" in replayed.json()["detail"]
        volunteer = httpx.get(f"{receiver.base_url}/volunteers/{newcomer}", headers=headers)
        assert volunteer.json()["balance"]["approved_minutes"] == 165
    finally:
        for server in servers:
            server.stop()
        for witness in witnesses:
            witness.server.stop()
