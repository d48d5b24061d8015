"""[architecture] `Ledger`'s public surface is small and documented: every public attribute and
method (no leading underscore) has its line in docs/architecture.md, every line there names
something real, and the internals (engine application, recorder, writer, trust directory) are
private."""

from __future__ import annotations

import re
from pathlib import Path

from ledger_testing import create_city

from ledger import Ledger

ROOT = Path(__file__).resolve().parents[3]
SECTION = "## The public surface of `Ledger`"
INTERNALS = ("app", "recorder", "writer", "directory")
REACH = re.compile(r"\._(?:" + "|".join(INTERNALS) + r")\b")  # `x._recorder` and the like


def documented() -> set[str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    body = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^- `(\w+)`: \S", body, flags=re.MULTILINE))


def public(ledger: Ledger) -> set[str]:
    return {name for name in {*dir(type(ledger)), *vars(ledger)} if not name.startswith("_")}


def test_every_public_name_is_documented_and_every_documented_name_exists() -> None:
    with Ledger("memory://") as ledger:
        names = public(ledger)
    listed = documented()
    assert names - listed == set(), "public on Ledger but not in docs/architecture.md"
    assert listed - names == set(), "in docs/architecture.md but not on Ledger"


def test_the_internals_are_private() -> None:
    with Ledger("memory://") as ledger:
        names = public(ledger)
        for internal in INTERNALS:
            assert internal not in names
            assert hasattr(ledger, f"_{internal}")


def test_a_new_public_attribute_is_caught() -> None:
    with Ledger("memory://") as ledger:
        ledger.recorder = ledger._recorder  # type: ignore[attr-defined]
        assert public(ledger) - documented() == {"recorder"}


def test_refresh_reference_and_last_position_read_the_store() -> None:
    with Ledger("memory://") as ledger:
        assert ledger.last_position() == 0
        create_city(ledger)
        before = ledger.last_position()
        assert before > 0
        ledger.set_daily_limit("city", minutes=600, idempotency_key="limit-600")
        assert ledger.last_position() == before + 1
        ledger.refresh()
        assert ledger.reference().daily_limit_minutes == 600
        assert ledger.reference() is ledger._directory.reference


def test_shared_counters_count_in_the_store_for_every_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger(url) as first, Ledger(url) as second:
        counters, other = first.shared_counters(), second.shared_counters()
        assert counters.side_increment("auth-failures", "000002:a") == 1
        assert other.side_increment("auth-failures", "000002:a") == 2
        assert counters.side_get("auth-failures", "000002:a") is not None
        other.side_increment("auth-failures", "000001:b")
        counters.side_delete_before("auth-failures", "000002:")
        assert other.side_get("auth-failures", "000001:b") is None
        assert other.side_get("auth-failures", "000002:a") is not None


def test_the_adapters_use_only_the_public_surface() -> None:
    """The HTTP layer and the command line are adapters over the public surface: neither reaches
    a ledger's internals."""
    adapters = [*(ROOT / "api").rglob("*.py"), *(ROOT / "src" / "ledger" / "cli").rglob("*.py")]
    assert adapters
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in adapters
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if REACH.search(line)
    ]
    assert found == []


def test_the_adapter_check_sees_a_reach() -> None:
    assert REACH.search("ledger._recorder.side_put(x)")
    assert not REACH.search("ledger.run(command)")
