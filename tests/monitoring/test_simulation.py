"""The forecast's vectorised ledger against the exact ledger on fixed usage paths, and the
bootstrap's usage paths: same seed, same paths; weekday patterns and trends kept."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal as D

import numpy as np
import pytest

from creditops.adapters.simulation_forecast import ForecastInput, simulate_pool
from creditops.adapters.simulation_usage_paths import (
    ExplicitUsage,
    History,
    bootstrap,
    trend_factors,
)
from creditops.adapters.simulation_vector_ledger import VectorLedger, build_schedule
from creditops.core.ledger import Ledger
from creditops.core.model import (
    Duration,
    Grant,
    OveragePolicy,
    Recurrence,
    Rollover,
    Usage,
)
from tests.monitoring.helpers import daily, make_pool, t

AS_OF = t("2026-10-01")
DAYS = 100
ONE_DAY = timedelta(days=1)


def merged_pool():  # type: ignore[no-untyped-def]
    return make_pool(
        Grant("expiring", D(1000), t("2026-01-01"), t("2026-10-20"),
              rollover=Rollover(D("0.5"), D(300), t("2026-12-15"))),
        Grant("long", D(2000), t("2026-01-01"), t("2027-01-31")),
        Grant("monthly", D(50), t("2026-01-01"), t("2027-06-01"), priority=5,
              recurrence=Recurrence(Duration(months=1), t("2026-01-01"))),
        Grant("later", D(500), t("2026-11-10"), t("2026-12-31")),
        Grant("voided", D(300), t("2026-01-01"), t("2027-03-01"), priority=1,
              voided_at=t("2026-11-01")),
    )


def typed_pool():  # type: ignore[no-untyped-def]
    return make_pool(
        Grant("sandbox", D(100), t("2026-01-01"), t("2026-11-15"), priority=5,
              applies_to=frozenset({"sandbox"})),
        Grant("main", D(1000), t("2026-01-01"), t("2026-10-25")),
        Grant("next", D(4000), t("2026-11-01"), t("2027-03-01")),
        overage_policy=OveragePolicy.CARRY,
    )


def exact_run(pool, history: list[Usage], streams: list[str | None], matrix: np.ndarray,
              path: int) -> tuple[Ledger, Ledger]:  # type: ignore[no-untyped-def]
    """The exact ledger with the path's usage as real usage records, and one at as_of."""
    future = [
        Usage(f"f{day:04d}-{stream}", AS_OF + ONE_DAY * day, D(int(matrix[stream, path, day])),
              streams[stream])
        for day in range(DAYS) for stream in range(len(streams))
        if matrix[stream, path, day] > 0
    ]
    before = Ledger(pool, history)
    before.advance(AS_OF)
    after = Ledger(pool, history + future)
    after.advance(AS_OF + ONE_DAY * DAYS)
    return before, after


def paths_matrix(streams: int, seed: int, high: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = rng.integers(0, high, size=(streams, 6, DAYS)).astype(np.float64)
    matrix[:, 0, :] = 0.0  # a path with no usage at all
    matrix[:, 1, :] *= 8  # a path that runs out
    return matrix


@pytest.mark.parametrize(("make", "streams", "history"), [
    (merged_pool, [None], daily("2026-07-01", 92, "12")),
    (typed_pool, ["a", "sandbox"], daily("2026-07-01", 92, "9", "a")
     + daily("2026-07-01", 92, "1", "sandbox", prefix="s")),
])
def test_vectorised_ledger_matches_the_exact_ledger(make, streams, history) -> None:  # type: ignore[no-untyped-def]
    pool = make()
    matrix = paths_matrix(len(streams), seed=len(streams), high=40)
    base = Ledger(pool, history)
    base.advance(AS_OF)
    ledger = VectorLedger(pool, base.snapshot(), DAYS, streams, 0.2)
    assert ledger.typed == (len(streams) > 1)
    state = ledger.run(ExplicitUsage(matrix))
    for path in range(matrix.shape[1]):
        before, after = exact_run(pool, history, streams, matrix, path)
        exact_lapses = {(tr.grant.id, tr.end): q for tr, q in after.lapses
                        if tr.end is not None and tr.end > AS_OF}
        # A carried-forward remainder of 0 is no grant to the exact ledger; here it is an
        # empty one that loses nothing.
        simulated = {(tr.grant.id, tr.end): state.lapse[index, path]
                     for index, tr in enumerate(ledger.tranches)
                     if not np.isnan(state.lapse[index, path])
                     and (tr.parent is None or state.quantity[index, path] > 0)}
        assert simulated == {key: float(value) for key, value in exact_lapses.items()}
        start = {g.grant.id: g.consumed for g in before.snapshot().grants}
        consumed: dict[str, float] = defaultdict(float)
        for index, tranche in enumerate(ledger.tranches):
            consumed[tranche.grant.id] += state.consumed[index, path]
        for grant in after.snapshot().grants:
            assert consumed.get(grant.grant.id, 0.0) == float(
                grant.consumed - start.get(grant.grant.id, D(0))), grant.grant.id
        end = after.snapshot()
        if pool.overage_policy is OveragePolicy.CARRY:
            assert state.debt[:, path].sum() == float(end.overage)
        else:
            assert state.overage[path] == float(end.overage - before.snapshot().overage)
        first = next((at for at, quantity in after.overage_events
                      if at >= AS_OF and quantity > 0), None)
        expected_day = -1 if first is None else (first - AS_OF) // ONE_DAY
        assert state.pool_run_out[path] == expected_day
    assert (state.pool_run_out[1] >= 0) and state.pool_run_out[0] == -1


def test_the_schedule_holds_every_stretch_of_life_in_the_horizon() -> None:
    pool = merged_pool()
    ledger = Ledger(pool, [])
    ledger.advance(AS_OF)
    schedule = build_schedule(pool, ledger.snapshot(), AS_OF + ONE_DAY * DAYS)
    names = [(tr.grant.id, tr.end_reason) for tr in schedule]
    assert ("expiring~rollover", "expired") in names and ("voided", "voided") in names
    assert names.count(("monthly", "renewed")) == 3  # Oct, Nov, Dec; Jan ends after horizon
    assert ("monthly", None) in names and ("long", None) in names
    assert ("later", "expired") in names
    never = make_pool(Grant("stillborn", D(5), t("2026-11-01"), t("2026-12-01"),
                            voided_at=t("2026-10-15")))
    empty = Ledger(never, [])
    empty.advance(AS_OF)
    assert build_schedule(never, empty.snapshot(), AS_OF + ONE_DAY * DAYS) == []


def bootstrap_history(days: int = 182) -> History:
    weekdays = np.array([10.0, 10, 10, 10, 10, 1, 1])  # a working-week pattern
    daily_usage = np.tile(weekdays, days // 7 + 1)[:days][None, :]
    return History(daily_usage, np.zeros((1, DAYS + 1)))


def test_bootstrap_paths_keep_the_weekday_pattern_and_are_reproducible() -> None:
    usage, trend = bootstrap(bootstrap_history(), DAYS, 200, np.random.default_rng(1))
    assert trend is None  # a flat history has no trend
    values = np.array([usage.daily(0, day) for day in range(DAYS)]).T  # (paths, days)
    # Every path repeats the history's week, aligned on the weekday of as_of.
    assert np.array_equal(values[:, :7], np.tile([10.0, 10, 10, 10, 10, 1, 1], (200, 1)))
    again, _ = bootstrap(bootstrap_history(), DAYS, 200, np.random.default_rng(1))
    assert np.array_equal(again.picks, usage.picks)
    cumulative = np.concatenate([np.zeros((200, 1)), np.cumsum(values, axis=1)], axis=1)
    for day in (0, 1, 6, 7, 50, DAYS):
        assert np.allclose(usage.cumulative(day), cumulative[:, day])
    rows = np.arange(200)
    days = np.array([(3 * row) % (DAYS + 1) for row in rows])
    assert np.allclose(usage.cumulative_rows(rows, days), cumulative[rows, days])


def test_bootstrap_with_little_or_no_history() -> None:
    short = History(np.array([[5.0, 7.0, 9.0]]), np.zeros((1, 11)))
    usage, _ = bootstrap(short, 10, 50, np.random.default_rng(0))
    assert usage.block == 3 and set(np.unique(usage.daily(0, 4))) <= {5.0, 7.0, 9.0}
    planned = np.zeros((1, 11))
    planned[0, 3] = 100.0
    nothing, _ = bootstrap(History(np.zeros((1, 0)), planned), 10, 50, np.random.default_rng(0))
    assert np.all(nothing.cumulative(3) == 0.0) and np.all(nothing.cumulative(4) == 100.0)


def test_a_trend_is_kept_only_where_the_history_shows_one() -> None:
    growing = np.arange(26, 0, -1, dtype=np.float64) * 10 + 100  # newest week first
    found = trend_factors(growing, 10)
    assert found is not None
    factors, change = found
    assert change > 0 and factors.shape == (26, 10)
    assert factors[0, 0] > 1 and factors[-1, 0] > factors[0, 0]
    assert (factors <= 3.0).all()
    noise = np.random.default_rng(3).normal(100, 10, 26)
    assert trend_factors(noise, 10) is None
    assert trend_factors(growing[:5], 10) is None
    assert trend_factors(np.full(26, 50.0), 10) is None
    assert trend_factors(-growing, 10) is None  # a level at or below zero is no level


def test_simulate_pool_is_deterministic_per_seed_and_pool() -> None:
    pool = merged_pool()
    rng = np.random.default_rng(5)
    history = [Usage(f"h{day}", t("2026-04-01") + ONE_DAY * day, D(int(value)), None)
               for day, value in enumerate(rng.integers(0, 25, 183))]
    ledger = Ledger(pool, history)
    ledger.advance(AS_OF)
    spec = ForecastInput(pool, ledger.snapshot(), history, [(t("2026-10-10"), None, D(500))],
                         D("0.2"), DAYS, 182)
    first = simulate_pool(spec, paths=300, seed=0)
    assert first == simulate_pool(spec, paths=300, seed=0)
    assert first != simulate_pool(spec, paths=300, seed=1)
    without = simulate_pool(ForecastInput(pool, ledger.snapshot(), history, [], D("0.2"), DAYS,
                                          182), paths=300, seed=0)
    assert first.consumption.p50 - without.consumption.p50 == D(500)  # the milestone
    assert first.history_days == 182 and first.trend_per_week is None
