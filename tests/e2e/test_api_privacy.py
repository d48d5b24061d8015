"""Erasure over real HTTP: only the volunteer's organisations (and above) with the ``erase``
scope may erase; afterwards personal data answers 410 Gone, certificates, packages and pages
show no name, and a retried registration returns the first result and stores nothing."""

from __future__ import annotations

from api_support import Api, assert_problem, idem

NAME = "欧阳测试"
MASKED = "欧***"


def named_volunteer_with_certificate(api: Api) -> tuple[str, str, str]:
    """A volunteer registered with personal data (and the key used), who consented to their
    masked name on certificates, and a certificate that shows it."""
    registration = idem()
    made = api.ok(
        api.post(
            "/volunteers",
            {"personal": {"name": NAME, "phone": "13811112222"}},
            idempotency=registration,
        )
    )
    number = made["value"]["number"]
    for purpose in ("share-personal-data", "certificate-name"):
        api.ok(api.post(f"/volunteers/{number}/consents", {"purpose": purpose, "given": True}))
    certificate = api.ok(
        api.post(
            "/certificates",
            {
                "number": number,
                "period_from": "2025-01-01",
                "period_to": "2025-12-31",
                "issuer_contact": "Volunteer office",
                "include_masked_name": True,
            },
        )
    )["value"]["certificate_number"]
    return number, registration, certificate


def test_erasure_is_authorised_idempotent_and_leaves_no_name(api: Api) -> None:
    number, registration, certificate = named_volunteer_with_certificate(api)
    assert MASKED in api.get(f"/certificates/{certificate}").text
    assert MASKED in api.get(f"/verify/{certificate}").text

    assert_problem(api.post(f"/volunteers/{number}/erasure", key="a_read"), 403, "scope-missing")
    assert_problem(api.post(f"/volunteers/{number}/erasure", key="b"), 403, "key-not-authorised")
    assert_problem(api.post("/volunteers/VAAAAAAAAAAAAA/erasure"), 404, "not-found")
    assert (
        api.ok(api.get(f"/volunteers/{number}/personal", key="a"), 200)["personal"]["name"] == NAME
    )

    erased = api.ok(api.post(f"/volunteers/{number}/erasure"), 200)
    assert erased["number"] == number and not erased["already_erased"]
    again = api.ok(api.post(f"/volunteers/{number}/erasure", key="root"), 200)
    assert again["already_erased"] and again["leaf_index"] == erased["leaf_index"]
    leaf = api.ok(api.get(f"/leaves/{erased['leaf_index']}"), 200)
    assert "PersonalDataErased" in str(leaf) and NAME not in str(leaf)

    assert_problem(api.get(f"/volunteers/{number}/personal", key="a"), 410, "personal-data-erased")
    found = api.ok(api.get(f"/certificates/{certificate}"), 200)
    assert found["personal_data_erased"] and found["credential"] is None
    for path in (f"/certificates/{certificate}/credential", f"/certificates/{certificate}/package"):
        assert_problem(api.get(path), 410, "personal-data-erased")
    page = api.get(f"/verify/{certificate}")
    assert page.status_code == 200 and "personal-data-erased" in page.text
    assert "The personal data was erased" in page.text
    verdict = api.ok(api.post("/verify", {"certificate_number": certificate}, key=None), 200)
    assert verdict["valid"] and "erased" in verdict["reason"]
    for response in (
        api.get(f"/certificates/{certificate}"),
        page,
        api.get(f"/volunteers/{number}", key="a"),
    ):
        assert MASKED not in response.text and NAME not in response.text

    retried = api.post(
        "/volunteers",
        {"personal": {"name": "另一个名字", "phone": "13900000000"}},
        idempotency=registration,
    )
    assert api.ok(retried, 201)["value"]["number"] == number
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert_problem(api.get(f"/volunteers/{number}/personal", key="a"), 410, "personal-data-erased")
