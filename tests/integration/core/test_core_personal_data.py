"""Names, ID numbers and phone numbers never enter an event; they are erasable while the
volunteer's events stay verifiable under the pseudonym."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from core_support import all_states, refused, volunteer_aggregate_id

from ledger import InvalidInputError, Ledger, NotFoundError

City = tuple[Ledger, dict[str, str]]
PERSON = {
    "name": "Wei Zhangsan-Unique",
    "id_number": "140402199001011234",
    "phone": "13812345678",
    "guardian_contact": "Li Guardian-Unique",
    "is_minor": True,
}
SECRETS = [PERSON["name"], PERSON["id_number"], PERSON["phone"], PERSON["guardian_contact"]]
CHINESE = {"name": "张伟测试", "phone": "13987654321"}


def register_person(ledger: Ledger, personal: dict[str, object], key: str = "person") -> str:
    result = ledger.register_volunteer("org-a", idempotency_key=key, personal=personal)
    number = str(result.value.number)
    # Give the personal side a few events too.
    ledger.give_consent(
        "org-a", number=number, purpose="certificate-name", idempotency_key=key + "c"
    )
    asked = ledger.request_agreement(
        "org-b", number=number, rights=["membership"], idempotency_key=key + "a"
    )
    ledger.grant_agreement(
        "org-a", number=number, agreement_id=asked.value.agreement_id, idempotency_key=key + "g"
    )
    ledger.join("org-b", number=number, idempotency_key=key + "j")
    return number


def everything_stored_in_the_database(ledger: Ledger) -> bytes:
    """Every byte the store holds: the SQLite file and its WAL, or every PostgreSQL row."""
    if ledger.store.kind == "sqlite":
        assert ledger.store.path is not None
        files = Path(ledger.store.path).parent.glob(Path(ledger.store.path).name + "*")
        return b"".join(p.read_bytes() for p in files if p.is_file())
    if ledger.store.kind == "postgresql":
        import psycopg

        store = ledger.store
        chunks: list[bytes] = []
        with psycopg.connect(
            host=store.host, port=store.port, user=store.user, dbname=store.dbname
        ) as conn:
            tables = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema=%s",
                (store.schema,),
            ).fetchall()
            for (table,) in tables:
                for row in conn.execute(f'SELECT * FROM "{store.schema}"."{table}"'):
                    for value in row:
                        if isinstance(value, bytes | bytearray | memoryview):
                            chunks.append(bytes(value))
                        else:
                            chunks.append(str(value).encode("utf-8"))
        return b"\n".join(chunks)
    recorder = ledger._recorder
    side = b"".join(
        v for ns in ("personal-key", "personal-data") for _, v in recorder.side_items(ns)
    )
    claims = b"".join(
        c.result + c.request_hash.encode() for c in getattr(recorder, "_claims", {}).values()
    )
    return b"".join(all_states(ledger)) + side + claims


def test_personal_data_is_never_in_any_stored_event(city: City) -> None:
    ledger, _ = city
    register_person(ledger, PERSON, key="latin")
    register_person(ledger, CHINESE, key="chinese")
    stored = all_states(ledger)
    for secret in [*SECRETS, CHINESE["name"], CHINESE["phone"]]:
        for form in (secret.encode("utf-8"), secret.encode("unicode_escape")):
            assert not any(form in state for state in stored), secret
    for state in stored:
        assert b"is_minor" not in state


def test_personal_data_is_nowhere_in_the_store_in_plain_text(city: City) -> None:
    ledger, _ = city
    register_person(ledger, PERSON, key="latin")
    register_person(ledger, CHINESE, key="chinese")
    everything = everything_stored_in_the_database(ledger)
    for secret in [*SECRETS, CHINESE["name"], CHINESE["phone"]]:
        assert secret.encode("utf-8") not in everything, secret


def test_personal_data_reads_back_for_its_volunteer(city: City) -> None:
    ledger, _ = city
    number = register_person(ledger, PERSON)
    assert ledger.personal_data.get(number) == PERSON
    assert ledger.personal_data.has(number)


def test_erasure_removes_the_personal_data_and_the_events_still_verify(
    city: City, open_ledger: Callable[..., Ledger]
) -> None:
    ledger, _ = city
    number = register_person(ledger, PERSON)
    before = [e.envelope for e in ledger.events(volunteer_aggregate_id(number))]
    ledger.erase_personal_data(number)
    assert not ledger.personal_data.has(number)
    with pytest.raises(NotFoundError, match="erased"):
        ledger.personal_data.get(number)
    after = ledger.events(volunteer_aggregate_id(number))
    assert [e.envelope for e in after][:-1] == before
    assert [e.type for e in after] == [
        "VolunteerRegistered",
        "ConsentGiven",
        "AgreementRequested",
        "AgreementGranted",
        "MembershipJoined",
        "PersonalDataErased",
    ]
    assert after[-1].data == {"number": number}
    assert ledger.volunteer(number)["members_of"] == ["org-a", "org-b"]
    for leaf in range(ledger.log_size()):
        ledger.event_at(leaf)  # every event still verifies
    assert ledger._recorder.side_get("personal-key", number) is None
    assert ledger._recorder.side_get("personal-data", number) is None
    if ledger.store.kind != "memory":
        reader = open_ledger(ledger.store.url)
        read = reader.events(volunteer_aggregate_id(number))
        assert [e.envelope for e in read] == [e.envelope for e in after]
        assert not reader.personal_data.has(number)


def test_erasing_one_volunteer_leaves_the_others(city: City) -> None:
    ledger, _ = city
    first = register_person(ledger, PERSON, key="p1")
    second = register_person(ledger, CHINESE, key="p2")
    ledger.erase_personal_data(first)
    assert ledger.personal_data.get(second) == CHINESE


def test_personal_data_stays_out_of_the_idempotency_record(city: City) -> None:
    ledger, _ = city
    result = ledger.register_volunteer("org-a", idempotency_key="p", personal=PERSON)
    claim = ledger._recorder.find_claim("org-a", "p")
    assert claim is not None
    for secret in SECRETS:
        assert secret.encode() not in claim.result
    again = ledger.register_volunteer("org-a", idempotency_key="p", personal=PERSON)
    assert again.replayed and again.value == result.value


BAD_PERSONAL_DATA = [
    {"email": "a@example.com"},  # a field that is not personal data the ledger keeps
    {"name": ""},
    {"name": "x" * 201},
    {"name": 42},
    {"is_minor": "yes"},
]


def test_bad_personal_data_is_refused_and_nothing_is_stored(city: City) -> None:
    ledger, _ = city
    for personal in BAD_PERSONAL_DATA:
        with refused(ledger, InvalidInputError):
            ledger.register_volunteer("org-a", idempotency_key="bad-person", personal=personal)
