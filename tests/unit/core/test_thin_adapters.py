"""[architecture] The HTTP layer and the command line are thin adapters: they read the ledger
through its public methods, never through its internals (the trust directory, the recorder, the
writer, the engine application). The organisation reads they need are library reads, tested
here against the trust directory's own answers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from ledger_testing import create_city

from ledger import Ledger, NotFoundError
from ledger.commands.typed import COMMANDS

ROOT = Path(__file__).resolve().parents[3]
INTERNALS = {"directory", "recorder", "writer", "app"}
INTERNALS |= {f"_{name}" for name in INTERNALS}
KNOWN: set[tuple[str, str]] = set()


def _reaches(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Attribute) or node.attr not in INTERNALS:
            continue
        # a private internal is reached whatever the receiver; a public name only on ``ledger``
        if node.attr.startswith("_") or (
            isinstance(node.value, ast.Name) and node.value.id == "ledger"
        ):
            found.add(node.attr)
    return found


@pytest.mark.parametrize(
    "path",
    sorted([*ROOT.glob("api/**/*.py"), *ROOT.glob("src/ledger/cli/*.py")]),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_adapters_do_not_reach_into_the_ledger(path: Path) -> None:
    relative = str(path.relative_to(ROOT))
    reached = {attr for attr in _reaches(path) if (relative, attr) not in KNOWN}
    assert not reached, f"{relative} reaches ledger.{', ledger.'.join(sorted(reached))}"


# The record review routes still call the Ledger's methods.
CALLING_METHODS = {"api/routes/records.py"}


@pytest.mark.parametrize(
    "path", sorted(ROOT.glob("api/**/*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_routes_run_typed_commands(path: Path) -> None:
    relative = str(path.relative_to(ROOT))
    called = {
        node.func.attr
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "ledger"
        and node.func.attr in COMMANDS
    }
    if relative in CALLING_METHODS:
        assert called, f"{relative} runs typed commands now: drop it from CALLING_METHODS"
    else:
        assert not called, f"{relative} calls {sorted(called)}: run the typed commands instead"


def test_an_organisations_keys_and_name_are_library_reads() -> None:
    with Ledger("memory://") as ledger:
        create_city(ledger)
        second = ledger.new_key("city", for_org="org-a", idempotency_key="a2").value.key_id
        first = next(k for k in ledger.organisation("org-a")["keys"] if k != second)
        ledger.revoke_key(
            "city", for_org="org-a", key_id=first, reason="lost", idempotency_key="rv"
        )
        keys = ledger.organisation_keys("org-a")
        assert set(keys) == set(ledger.organisation("org-a")["keys"]) == {first, second}
        assert keys[first] == ledger.key(first) and keys[second] == ledger.key(second)
        assert keys[first]["revoked_at_leaf"] is not None and keys[first]["revoked_reason"]
        assert keys[second]["revoked_at_leaf"] is None
        assert all(k["org"] == "org-a" for k in keys.values())
        assert ledger.organisation_name("org-a") == "Organisation A"
        for read in (ledger.organisation_keys, ledger.organisation_name):
            with pytest.raises(NotFoundError):
                read("org-nowhere")


def test_a_name_registered_by_another_process_is_found(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(store) as reader, Ledger(store) as writer:
        create_city(writer)
        assert reader.organisation_name("org-b") == "Organisation B"
        writer.register_organisation(
            "city", org_id="org-c", name="Organisation C", kind="organisation",
            region="140404", idempotency_key="org-c",
        )  # fmt: skip
        assert reader.organisation_name("org-c") == "Organisation C"
        assert set(reader.organisation_keys("org-a")) == set(writer.organisation_keys("org-a"))
