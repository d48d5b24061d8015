"""Scoring is integer arithmetic with bounds and monotonicity that a reader can rely on."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger.assessment.catalogue import (
    CATALOGUE,
    indicator_score,
    personal_data_term,
    rating_for,
    total_score,
)

indicators = st.sampled_from(sorted(CATALOGUE))
values = st.integers(-(10**9), 10**9)
targets = st.integers(1, 10**9)


@given(indicators, values, values, targets)
def test_an_indicator_score_stays_in_bounds_and_moves_the_right_way(
    name: str, a: int, b: int, target: int
) -> None:
    indicator = CATALOGUE[name]
    low, high = sorted((a, b))
    s_low, s_high = (
        indicator_score(indicator, low, target),
        indicator_score(indicator, high, target),
    )
    assert 0 <= s_low <= 1000 and 0 <= s_high <= 1000
    if indicator.lower_is_better:
        assert s_low >= s_high
    else:
        assert s_low <= s_high
        assert indicator_score(indicator, target, target) == 1000


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=20), st.data())
def test_a_total_is_a_weighted_mean_within_the_scores(
    scores: list[int], data: st.DataObject
) -> None:
    cuts = sorted(
        data.draw(
            st.lists(st.integers(0, 1000), min_size=len(scores) - 1, max_size=len(scores) - 1)
        )
    )
    weights = [b - a for a, b in zip([0, *cuts], [*cuts, 1000], strict=True)]
    total = total_score(list(zip(weights, scores, strict=True)))
    assert min(scores) - 1 <= total <= max(scores)


@given(st.integers(0, 1000), st.integers(0, 1000))
def test_a_higher_score_never_earns_a_lower_band(a: int, b: int) -> None:
    bands: list[dict[str, object]] = [
        {"band": "standard", "min_score": 400},
        {"band": "city-level", "min_score": 600},
        {"band": "province-level", "min_score": 850},
    ]
    order = ["unrated", "standard", "city-level", "province-level"]
    low, high = sorted((a, b))
    assert order.index(rating_for(low, bands)) <= order.index(rating_for(high, bands))


def test_no_catalogue_indicator_names_personal_data() -> None:
    assert [name for name in CATALOGUE if personal_data_term(name)] == []
    assert personal_data_term("members-by-birth-year") == "birth"
    assert personal_data_term("id-number-checked") == "id-number"
    assert personal_data_term("weeks-with-service") is None
