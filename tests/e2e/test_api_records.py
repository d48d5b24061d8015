"""Record, approve, then verify the record's proof with nothing but the public keys.

Against a real server: publish an activity, record a roster, approve, and check every stored
event the way a school or an employer would, from HTTP responses alone.
"""

from __future__ import annotations

import json
import uuid

import pytest
from api_support import (
    Api,
    assert_problem,
    unb64,
    verify_event_signature,
    verify_leaf_evidence,
)
from cryptography.exceptions import InvalidSignature

from ledger.balances import VolunteerBalance
from ledger.errors import InclusionProofError
from ledger.log import leaf_hash, open_checkpoint, parse_verifier_key, verify_inclusion


def test_record_roster_approve_and_verify_the_proof_independently(api: Api) -> None:
    numbers = api.take_volunteers(3)
    activity_id = api.publish_activity()
    recorded = api.ok(
        api.post(
            f"/activities/{activity_id}/roster",
            {"entries": [{"number": n, "minutes": 60 + 15 * i} for i, n in enumerate(numbers)]},
        )
    )
    record_ids = recorded["value"]["record_ids"]
    assert [r.split("-R")[0] for r in record_ids] == numbers
    assert [e["type"] for e in recorded["events"]] == ["HoursRecorded"] * 3
    leaves = [e["leaf_index"] for e in recorded["events"]]
    assert leaves == sorted(leaves) and len(set(leaves)) == 3

    first = api.ok(api.post(f"/records/{record_ids[0]}/approve", {}))
    assert first["events"][0]["type"] == "RecordApproved"
    rest = api.ok(
        api.post(
            "/records/approvals",
            {
                "approvals": [
                    {"record_id": record_ids[1]},
                    {"record_id": record_ids[2], "approved_minutes": 60, "reason": "left early"},
                ]
            },
        )
    )
    assert [e["type"] for e in rest["events"]].count("RecordApproved") == 2

    status = api.ok(api.get(f"/records/{record_ids[2]}"), 200)
    assert status["status"] == "approved"
    assert status["minutes"] == 90 and status["recording_org"] == api.city.org_a
    assert [e["type"] for e in status["events"]] == ["HoursRecorded", "RecordApproved"]

    for event in status["events"]:
        evidence = verify_leaf_evidence(api, event["leaf_index"])
        body = evidence["event"]["body"]
        assert body["org"] == api.city.org_a and body["type"] == event["type"]
        assert body["data"]["record_id"] == record_ids[2]
    recorded_body = verify_leaf_evidence(api, leaves[2])["event"]["body"]
    assert recorded_body["data"]["minutes"] == 90
    assert recorded_body["data"]["activity_id"] == activity_id
    approved_body = verify_leaf_evidence(api, status["events"][1]["leaf_index"])["event"]["body"]
    assert approved_body["data"]["approved_minutes"] == 60
    assert approved_body["data"]["reason"] == "left early"


def test_event_by_id_carries_the_same_evidence_as_its_leaf(api: Api) -> None:
    number = api.take_volunteers(1)[0]
    activity_id = api.publish_activity()
    made = api.ok(api.post(f"/activities/{activity_id}/records", {"number": number, "minutes": 45}))
    ref = made["events"][0]
    by_id = api.ok(api.get(f"/events/{ref['aggregate_id']}/{ref['version']}"), 200)
    by_leaf = api.ok(api.get(f"/leaves/{ref['leaf_index']}"), 200)
    assert by_id["envelope"] == by_leaf["envelope"]
    assert by_id["leaf_index"] == ref["leaf_index"]
    assert by_id["event"]["notification_id"] == ref["notification_id"]
    verify_event_signature(by_id["envelope"].encode(), by_id["key"]["public_key"])
    verify_leaf_evidence(api, ref["leaf_index"])
    assert made["value"]["record_id"] == f"{number}-R1"


def test_a_tampered_envelope_does_not_verify(api: Api) -> None:
    """The independent checks are not vacuous: one changed minute breaks them."""
    number = api.take_volunteers(1)[0]
    activity_id = api.publish_activity()
    made = api.ok(api.post(f"/activities/{activity_id}/records", {"number": number, "minutes": 30}))
    evidence = verify_leaf_evidence(api, made["events"][0]["leaf_index"])
    forged = evidence["envelope"].replace('"minutes":30', '"minutes":300').encode()
    assert forged != evidence["envelope"].encode()
    with pytest.raises(InvalidSignature):
        verify_event_signature(forged, evidence["key"]["public_key"])
    verifiers = [parse_verifier_key(k) for k in api.get("/log/key").text.split()]
    checkpoint = open_checkpoint(evidence["checkpoint"], verifiers)
    with pytest.raises(InclusionProofError):
        verify_inclusion(
            leaf_hash(forged),
            evidence["leaf_index"],
            checkpoint.size,
            [unb64(h) for h in evidence["inclusion_proof"]],
            checkpoint.root_hash,
        )


def test_acting_for_a_lower_organisation_signs_with_its_key(api: Api) -> None:
    """The root's API key acts for org-a with ``X-Acting-Org``: org-a signs, and the event says
    so; the station below org-a is reachable from org-a's key too."""
    activity_id = api.publish_activity(key="root", org=api.city.org_a)
    activity = api.ok(api.get(f"/activities/{activity_id}"), 200)
    assert activity["org"] == api.city.org_a

    station_activity = api.publish_activity(key="a", org=api.city.station)
    assert api.ok(api.get(f"/activities/{station_activity}"), 200)["org"] == api.city.station

    number = api.register_volunteer(key="a", org=api.city.station)
    made = api.ok(
        api.post(
            f"/activities/{station_activity}/records",
            {"number": number, "minutes": 50},
            key="station",
        )
    )
    body = verify_leaf_evidence(api, made["events"][0]["leaf_index"])["event"]["body"]
    assert body["org"] == api.city.station
    station = api.ok(api.get(f"/orgs/{api.city.station}"), 200)
    assert body["key_id"] in station["keys"]


def test_volunteer_reads_follow_the_signed_events(api: Api) -> None:
    number = api.take_volunteers(1)[0]
    activity_id = api.publish_activity(field="legal-aid")
    made = api.ok(api.post(f"/activities/{activity_id}/records", {"number": number, "minutes": 75}))
    approved = api.ok(api.post(f"/records/{made['value']['record_id']}/approve", {}))
    volunteer = api.ok(api.get(f"/volunteers/{number}", key="a_read"), 200)
    assert volunteer["balance"]["approved_minutes"] == 75
    assert volunteer["members_of"] == [api.city.org_a]
    records = api.ok(api.get(f"/volunteers/{number}/records", key="a_read"), 200)
    assert [(r["minutes"], r["status"]) for r in records["items"]] == [(75, "approved")]

    api.wait_for_views(max(e["notification_id"] for e in approved["events"]))
    balance = api.ok(api.get(f"/volunteers/{number}/balance", key="a_read"), 200)
    assert balance["approved_minutes"] == 75, f"the views say {balance}, the events say 75"
    assert balance["by_field"] == {"legal-aid": 75}


def test_the_balance_from_the_views_is_the_balance_from_the_events(api: Api) -> None:
    """``GET /volunteers/{number}/balance`` (the views) and the ``balance`` of ``GET
    /volunteers/{number}`` (replayed from the events) are one shape, and equal once the views
    have caught up: minutes approved in part and corrected, a star and its standing, an honour."""
    number = api.take_volunteers(1)[0]
    scheme_id = f"balance-stars-{uuid.uuid4().hex[:8]}"
    made = [
        api.ok(
            api.post(
                "/star-schemes",
                {"scheme_id": scheme_id, "name": "Balance stars", "thresholds_hours": [1, 2]},
                key="root",
            )
        )
    ]
    first, second = (
        api.ok(
            api.post(
                f"/activities/{api.publish_activity(field='legal-aid')}/records",
                {"number": number, "minutes": minutes},
            )
        )["value"]["record_id"]
        for minutes in (75, 60)
    )
    made.append(api.ok(api.post(f"/records/{first}/approve", {})))
    made.append(
        api.ok(
            api.post(f"/records/{second}/approve", {"approved_minutes": 50, "reason": "left early"})
        )
    )
    made.append(
        api.ok(api.post(f"/records/{second}/correct", {"delta_minutes": -10, "reason": "misread"}))
    )
    made.append(
        api.ok(
            api.post(
                "/honours",
                {
                    "recipient_kind": "volunteer",
                    "recipient": number,
                    "honour": "Volunteer of the month",
                    "citation": "for steady service",
                    "granted_on": "2025-06-01",
                },
            )
        )
    )
    api.wait_for_views(max(e["notification_id"] for m in made for e in m["events"]))
    replayed = api.ok(api.get(f"/volunteers/{number}", key="a_read"), 200)["balance"]
    viewed = api.ok(api.get(f"/volunteers/{number}/balance", key="a_read"), 200)
    assert viewed == replayed
    assert set(viewed) == set(VolunteerBalance.__required_keys__)
    assert (viewed["approved_minutes"], viewed["approved_records"], viewed["records"]) == (
        115,
        2,
        2,
    )
    assert viewed["stars"][scheme_id] == {"level": 1, "due_level": 1, "scheme_version": 1}
    assert [h["honour_id"] for h in viewed["honours"]] == [f"{number}-H1"]


def test_correct_and_void_point_at_the_original(api: Api) -> None:
    number = api.take_volunteers(1)[0]
    activity_id = api.publish_activity()
    record_id = api.ok(
        api.post(f"/activities/{activity_id}/records", {"number": number, "minutes": 120})
    )["value"]["record_id"]
    api.ok(api.post(f"/records/{record_id}/approve", {}))
    api.ok(
        api.post(
            f"/records/{record_id}/correct",
            {"delta_minutes": -30, "reason": "volunteer reported leaving early"},
        )
    )
    # org-a may not void its own record: an authority above it does
    refused = api.post(f"/records/{record_id}/void", {"grounds": "no service was given"})
    assert_problem(refused, 403, "key-not-authorised")
    voided = api.ok(
        api.post(f"/records/{record_id}/void", {"grounds": "no service was given"}, key="root")
    )
    status = api.ok(api.get(f"/records/{record_id}"), 200)
    assert status["status"] == "voided"
    assert [e["type"] for e in status["events"]] == [
        "HoursRecorded",
        "RecordApproved",
        "RecordCorrected",
        "RecordVoided",
    ]
    body = verify_leaf_evidence(api, voided["events"][0]["leaf_index"])["event"]["body"]
    assert body["org"] == api.city.root
    assert json.dumps(body["data"]["grounds"]) == '"no service was given"'
