"""Property: no sequence of registrations, consents, certificates, retries and erasures puts
personal data into a signed event, a log leaf, an export bundle or a public response; and a
masked name is served only while its volunteer's personal data is held."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_testing import create_city

from ledger import Ledger, MemoryKeystore
from ledger.audit.export import export_bundle
from ledger.personal_data import masked_name
from ledger_api.app import create_app
from ledger_api.settings import Settings

NAME_CHARS = "甲乙丙丁戊己庚辛壬癸"
people = st.fixed_dictionaries(
    {
        "name": st.text(NAME_CHARS, min_size=3, max_size=5),
        "phone": st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
        "id_number": st.from_regex(r"[1-6][0-9]{16}[0-9X]", fullmatch=True),
    }
)
commands = st.lists(
    st.one_of(
        st.tuples(st.just("register"), people, st.booleans()),
        st.tuples(st.just("issue"), st.integers(0, 5), st.booleans()),
        st.tuples(st.just("erase"), st.integers(0, 5), st.sampled_from(["org-a", "city"])),
        st.tuples(st.just("retry"), st.integers(0, 5), people),
    ),
    min_size=1,
    max_size=12,
)


@dataclass
class World:
    ledger: Ledger
    people: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # number, data
    erased: set[str] = field(default_factory=set)
    certificates: list[str] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)

    def run(self, command: tuple[object, ...]) -> None:
        kind, *args = command
        if kind == "register":
            person, consent = args
            assert isinstance(person, dict)
            key = f"person-{len(self.people)}"
            number = str(
                self.ledger.register_volunteer(
                    "org-a", idempotency_key=key, personal=person
                ).value.number
            )
            if consent:
                self.ledger.give_consent(
                    "org-a", number=number, purpose="certificate-name", idempotency_key=key + "c"
                )
            self.people.append((number, person))
            self.secrets |= set(person.values())
        elif self.people:
            index = int(args[0]) % len(self.people)  # type: ignore[call-overload]
            number, person = self.people[index]
            if kind == "issue":
                made = self.ledger.issue_certificate(
                    "org-a",
                    number=number,
                    period_from=date(2025, 1, 1),
                    period_to=date(2025, 12, 31),
                    issuer_contact="office",
                    include_masked_name=bool(args[1]),
                    idempotency_key=f"c{len(self.certificates)}",
                )
                self.certificates.append(str(made.value.certificate_number))
            elif kind == "erase":
                self.ledger.erase_personal_data(number, org=str(args[1]))
                self.erased.add(number)
            else:
                other = args[1]
                assert isinstance(other, dict)
                self.secrets |= set(other.values())
                again = self.ledger.register_volunteer(
                    "org-a", idempotency_key=f"person-{index}", personal=other
                )
                assert again.replayed and again.value.number == number

    def masks(self, *, erased: bool) -> set[str]:
        return {masked_name(p["name"]) for n, p in self.people if (n in self.erased) == erased} - {
            masked_name(p["name"]) for n, p in self.people if (n in self.erased) != erased
        }


def forms(text: str) -> list[bytes]:
    return [text.encode("utf-8"), text.encode("unicode_escape")]


def assert_nowhere(secrets: set[str], blobs: list[bytes], where: str) -> None:
    for secret in secrets:
        for form in forms(secret):
            assert not any(form in blob for blob in blobs), f"{secret!r} found in {where}"


def public_responses(ledger: Ledger, world: World) -> list[bytes]:
    app = create_app(Settings(database_url="memory://", run_projections=False), ledger=ledger)
    out: list[bytes] = []
    with TestClient(app) as client:
        for number in world.certificates:
            for path in ("", "/package", "/credential", "/receipt"):
                out.append(client.get(f"/certificates/{number}{path}").content)
            out.append(client.get(f"/verify/{number}").content)
            out.append(client.post("/verify", json={"certificate_number": number}).content)
        for leaf in range(ledger.log_size()):
            out.append(client.get(f"/leaves/{leaf}").content)
    return out


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands)
def test_no_command_sequence_puts_personal_data_where_it_is_public(
    sequence: list[tuple[object, ...]],
) -> None:
    with Ledger("memory://", keystore=MemoryKeystore()) as ledger:
        create_city(ledger)
        world = World(ledger)
        for command in sequence:
            world.run(command)
        everything_masked = {masked_name(s) for s in world.secrets}
        signed = [bytes(n.state) for n in ledger._recorder.select_notifications(1, 10**6)]
        leaves = [bytes(leaf.state or b"") for leaf in ledger._recorder.select_leaves(0, 10**6)]
        assert_nowhere(world.secrets | everything_masked, signed, "a signed event")
        assert_nowhere(world.secrets | everything_masked, leaves, "a log leaf")
        with tempfile.TemporaryDirectory() as folder:
            export_bundle(ledger, Path(folder) / "bundle", progress=False)
            bundle = [p.read_bytes() for p in Path(folder).rglob("*") if p.is_file()]
        assert_nowhere(world.secrets | everything_masked, bundle, "the export bundle")
        responses = public_responses(ledger, world)
        assert_nowhere(world.secrets, responses, "a public response")
        assert_nowhere(world.masks(erased=True), responses, "a public response after erasure")
