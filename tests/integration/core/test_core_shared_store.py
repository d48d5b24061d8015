"""Two ledgers opened on the same SQLite file or PostgreSQL schema see one consistent ledger."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from core_support import SQL_STORES, create_city, key_of, refused, volunteer_aggregate_id

from ledger import Ledger, MemoryKeystore, RuleViolationError


def agree(ledger: Ledger, org: str, number: str) -> None:
    """The volunteer's home organisation org-a agrees that ``org`` may admit them."""
    asked = ledger.request_agreement(
        org, number=number, rights=["membership"], idempotency_key=f"ask-{org}"
    )
    ledger.grant_agreement(
        "org-a",
        number=number,
        agreement_id=asked.value.agreement_id,
        idempotency_key=f"grant-{org}",
    )


@pytest.mark.parametrize("kind", SQL_STORES)
def test_two_ledgers_on_one_store_see_each_others_writes(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    keystore = MemoryKeystore()
    first = open_ledger(url, keystore=keystore)
    number = create_city(first)["number"]
    second = open_ledger(url, keystore=keystore)
    assert second.log_size() == first.log_size()
    assert second.volunteer(number) == first.volunteer(number)

    agree(second, "org-b", number)
    second.join("org-b", number=number, idempotency_key="join-b")
    assert first.volunteer(number)["members_of"] == ["org-a", "org-b"]
    first.leave("org-b", number=number, idempotency_key="leave-b")
    assert second.volunteer(number)["members_of"] == ["org-a"]

    # A key registered through one is trusted by the other at once.
    new_key = second.new_key("city", for_org="org-a", idempotency_key="org-a-key-2").value.key_id
    first.register_organisation(
        "org-a",
        org_id="team-1",
        name="T",
        kind="team",
        region="1404",
        idempotency_key="team-1",
        signer=keystore.get("org-a", new_key),
    )
    assert second.organisation("team-1")["parent"] == "org-a"

    size = first.log_size()
    assert second.log_size() == size
    leaves = first._recorder.select_leaves(0, 10**6)
    assert [leaf.leaf_index for leaf in leaves] == list(range(size))
    assert [e.envelope for e in (first.event_at(i) for i in range(size))] == [
        e.envelope for e in (second.event_at(i) for i in range(size))
    ]


@pytest.mark.parametrize("kind", SQL_STORES)
def test_idempotency_holds_across_two_ledgers(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    keystore = MemoryKeystore()
    first = open_ledger(url, keystore=keystore)
    number = create_city(first)["number"]
    second = open_ledger(url, keystore=keystore)
    agree(first, "org-b", number)
    original = first.join("org-b", number=number, idempotency_key="join-b")
    size = first.log_size()
    retried = second.join("org-b", number=number, idempotency_key="join-b")
    assert retried.replayed and retried.events == original.events
    assert second.log_size() == size


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_second_ledger_cannot_create_the_store_again(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    first = open_ledger(url)
    create_city(first)
    second = open_ledger(url)
    with refused(second, RuleViolationError, match="created once"):
        second.create(
            name="Rival", root_org_id="rival", root_name="Rival", region="1404", origin="r/log"
        )


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_reader_without_private_keys_verifies_everything(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    writer = open_ledger(url)
    number = create_city(writer)["number"]
    agree(writer, "org-b", number)
    writer.join("org-b", number=number, idempotency_key="join-b")
    reader = open_ledger(url, keystore=MemoryKeystore())
    assert reader.keystore.key_ids("org-a") == []
    events = reader.events(volunteer_aggregate_id(number))
    assert [e.type for e in events] == [
        "VolunteerRegistered",
        "AgreementRequested",
        "AgreementGranted",
        "MembershipJoined",
    ]
    assert [e.org for e in events] == ["org-a", "org-b", "org-a", "org-b"]
    assert events[-1].key_id == key_of(writer, "org-b").key_id
    for leaf in range(reader.log_size()):
        assert reader.event_at(leaf).leaf_index == leaf


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_ledger_reopened_after_close_finds_everything(
    kind: str, store_url_for: Callable[[str], str]
) -> None:
    url = store_url_for(kind)
    keystore = MemoryKeystore()
    with Ledger(url, keystore=keystore) as ledger:
        number = create_city(ledger)["number"]
        size = ledger.log_size()
    with Ledger(url, keystore=keystore) as ledger:
        assert ledger.log_size() == size
        assert ledger.volunteer(number)["registered_by"] == "org-a"
        agree(ledger, "org-b", number)
        ledger.join("org-b", number=number, idempotency_key="after-reopen")
        assert ledger.log_size() == size + 3


def test_concurrent_writers_on_one_sqlite_file_lose_nothing(
    store_url_for: Callable[[str], str],
) -> None:
    url = store_url_for("sqlite")
    keystore = MemoryKeystore()
    writers, per_writer = 4, 5
    with Ledger(url, keystore=keystore) as setup:
        number = create_city(setup)["number"]
        for index in range(writers):
            setup.register_organisation(
                "city",
                org_id=f"org-w{index}",
                name="W",
                kind="organisation",
                region="1404",
                idempotency_key=f"w{index}",
            )
            setup.new_key("city", for_org=f"org-w{index}", idempotency_key=f"w{index}-k0")
            agree(setup, f"org-w{index}", number)
            setup.new_key("city", for_org=f"org-w{index}", idempotency_key=f"w{index}-key")
        size = setup.log_size()
    ledgers = [Ledger(url, keystore=keystore) for _ in range(writers)]
    barrier = threading.Barrier(writers)

    def work(index: int) -> list[str]:
        ledger, org = ledgers[index], f"org-w{index}"
        barrier.wait(timeout=30)
        ledger.join(org, number=number, idempotency_key="join")
        made = [
            str(ledger.register_volunteer(org, idempotency_key=f"r{n}").value.number)
            for n in range(per_writer)
        ]
        made.append(str(ledger.register_volunteer("org-a", idempotency_key="shared").value.number))
        return made

    try:
        with ThreadPoolExecutor(writers) as pool:
            results = list(pool.map(work, range(writers)))
    finally:
        for ledger in ledgers:
            ledger.close()
    assert len({r[-1] for r in results}) == 1  # the shared key registered one volunteer
    own = [n for r in results for n in r[:-1]]
    assert len(set(own)) == writers * per_writer
    with Ledger(url, keystore=keystore) as ledger:
        assert ledger.log_size() == size + writers + writers * per_writer + 1
        leaves = ledger._recorder.select_leaves(0, 10**6)
        assert [leaf.leaf_index for leaf in leaves] == list(range(ledger.log_size()))
        assert len(ledger._recorder.select_notifications(1, 10**6)) == ledger.log_size()
        assert ledger.volunteer(number)["members_of"] == sorted(
            ["org-a", *(f"org-w{i}" for i in range(writers))]
        )
