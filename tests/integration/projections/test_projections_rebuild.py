"""Rebuild equals live: views kept up to date while a city is built have the same digest as the
same views dropped and rebuilt from the events, whole or one view at a time; and the command
line (``ledger projections digest|rebuild``, ``ledger project``) prints and keeps the same."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from projections_support import KINDS, LOCAL_KINDS, Demo, demo_ledgers, views_url_for

from ledger import Ledger, MemoryKeystore, NotFoundError
from ledger.cli import main
from ledger.demo import build_demo
from ledger.projections import VIEWS, Projections

__all__ = ["demo_ledgers", "views_url_for"]  # fixtures used here

LIVE_VOLUNTEERS = 12


@pytest.fixture(params=KINDS)
def demo(request: pytest.FixtureRequest, demo_ledgers: Callable[[str], Demo]) -> Demo:
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
    return demo_ledgers(request.param)


def last_position(ledger: Ledger) -> int:
    return int(ledger._recorder.max_notification_id() or 0)


def test_views_kept_live_while_a_city_is_built_equal_a_rebuild(
    store_url: str, views_url_for: Callable[[str], str]
) -> None:
    """A background runner keeps the views in the ledger's own database while the demo city is
    written; its digest equals a rebuild in place and a catch-up from empty elsewhere."""
    kind = store_url.split(":", 1)[0]  # memory, sqlite or postgresql
    with Ledger(store_url, keystore=MemoryKeystore()) as ledger:
        views = ledger.projections()
        views.start(interval=0.01)
        try:
            build_demo(ledger, volunteers=LIVE_VOLUNTEERS, seed=5)
            views.wait_for(last_position(ledger), timeout=60)
        finally:
            views.stop()
        live = views.digest()
        assert set(views.positions().values()) == {last_position(ledger)}
        views.rebuild()
        assert views.digest() == live
        assert set(views.positions().values()) == {last_position(ledger)}
        views.close()
        elsewhere = ledger.projections(views_url_for(kind), verify=False)
        assert elsewhere.catch_up(batch=37) > 0
        assert elsewhere.digest() == live
        elsewhere.close()


ONE_VIEW_CASES = [
    *[("memory", name) for name in sorted(VIEWS)],
    *[("sqlite", name) for name in sorted(VIEWS)],
    pytest.param("postgresql", "organisations", marks=pytest.mark.postgres),
]


@pytest.mark.parametrize(("kind", "name"), ONE_VIEW_CASES)
def test_rebuilding_one_view_repairs_it_and_leaves_the_others_alone(
    kind: str, name: str, demo_ledgers: Callable[[str], Demo], views_url_for: Callable[[str], str]
) -> None:
    demo = demo_ledgers(kind)
    views = demo.views(views_url_for(kind), verify=False)
    try:
        views.catch_up()
        clean = views.digest()
        others = [n for n in VIEWS if n != name]
        # damage the chosen view and one other behind the runner's back
        victim = next(iter(VIEWS[others[0]].tables))
        with views.database.transaction() as cursor:
            for table in (next(iter(VIEWS[name].tables)), victim):
                cursor.execute(f"DELETE FROM {table}")
        damaged = views.digest()
        assert damaged[name] != clean[name] and damaged[others[0]] != clean[others[0]]
        views.rebuild([name])
        repaired = views.digest()
        assert repaired[name] == clean[name]
        assert repaired[others[0]] == damaged[others[0]], "a view that was not named was rebuilt"
        assert set(views.positions().values()) == {demo.replay_position()}
        views.rebuild()
        assert views.digest() == clean
    finally:
        views.close()


def test_rebuilding_an_unknown_view_is_refused(demo_ledgers: Callable[[str], Demo]) -> None:
    views = demo_ledgers("memory").views(None)
    try:
        with pytest.raises(NotFoundError, match="no view"):
            views.rebuild(["nonsense"])
        assert set(views.positions()) == set(VIEWS)
    finally:
        views.close()


@pytest.mark.parametrize("demo", LOCAL_KINDS, indirect=True)
def test_the_digest_depends_on_content_only(
    demo: Demo, views_url_for: Callable[[str], str]
) -> None:
    """The same events give the same digest whatever the batch size, with or without
    signature checks; changing one figure changes exactly that view's digest."""
    digests = []
    for batch, verify in ((1000, True), (3, False)):
        views = demo.views(views_url_for(demo.kind), verify=verify)
        views.catch_up(batch=batch)
        digests.append(views.digest())
        if batch == 3:
            with views.database.transaction() as cursor:
                cursor.execute(
                    "UPDATE view_volunteers SET approved_minutes = approved_minutes + 1 "
                    "WHERE number = ?",
                    [demo.replay.volunteers[0]],
                )
            changed = views.digest()
            assert [n for n in VIEWS if changed[n] != digests[0][n]] == ["volunteers"]
        views.close()
    assert digests[0] == digests[1]
    assert set(digests[0]) == set(VIEWS)


# The command line


def _printed(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    lines = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip()]
    return {line[0]: line[1] for line in lines if len(line) == 2}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_cli_digest_and_rebuild_print_the_same_digests(
    kind: str,
    demo_ledgers: Callable[[str], Demo],
    views_url_for: Callable[[str], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    demo = demo_ledgers(kind)
    assert main(["projections", "digest", "--db", demo.url]) == 0
    digest = _printed(capsys)
    assert int(digest.pop("position")) == demo.replay_position()
    assert set(digest) == set(VIEWS)
    assert main(["projections", "rebuild", "--db", demo.url]) == 0
    assert _printed(capsys) == digest
    assert main(["projections", "rebuild", "--db", demo.url, "--view", "timebank"]) == 0
    assert _printed(capsys) == digest
    elsewhere = views_url_for(kind)
    assert (
        main(["projections", "digest", "--db", demo.url, "--views-db", elsewhere, "--no-verify"])
        == 0
    )
    assert {k: v for k, v in _printed(capsys).items() if k != "position"} == digest
    views = demo.views(None)
    assert views.digest() == digest
    views.close()


def test_the_cli_refuses_an_unknown_view(
    demo_ledgers: Callable[[str], Demo], capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_ledgers("sqlite")
    with pytest.raises(SystemExit):
        main(["projections", "rebuild", "--db", demo.url, "--view", "nonsense"])
    assert "invalid choice" in capsys.readouterr().err


def test_ledger_project_keeps_the_views_up_to_date(
    demo_ledgers: Callable[[str], Demo],
    views_url_for: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``ledger project`` runs the pull loop until interrupted (Ctrl-C ends it cleanly)."""
    demo = demo_ledgers("sqlite")
    rounds: list[int] = []
    original = Projections.catch_up

    def catch_up_then_interrupt(self: Projections, **kwargs: int) -> int:
        applied = original(self, **kwargs)
        rounds.append(applied)
        if len(rounds) == 2:
            raise KeyboardInterrupt
        return applied

    monkeypatch.setattr(Projections, "catch_up", catch_up_then_interrupt)
    elsewhere = views_url_for("sqlite")
    assert main(["project", "--db", demo.url, "--views-db", elsewhere, "--interval", "0"]) == 0
    assert "keeping views" in capsys.readouterr().out
    assert rounds[0] > 0 and rounds[1] == 0
    monkeypatch.undo()
    views = demo.ledger.projections(elsewhere)
    try:
        assert set(views.positions().values()) == {demo.replay_position()}
        assert views.catch_up() == 0
    finally:
        views.close()
