"""The forecast's exact-decimal side: summaries of simulated quantiles, probabilities, run-out
dates, and the back-test's error measures."""

from __future__ import annotations

from decimal import Decimal as D

from creditops.core.forecast import (
    BacktestCase,
    Band,
    SimulatedPool,
    SimulatedTranche,
    date_band,
    day_instant,
    probability,
    summarise_errors,
    summarise_pool,
    summarise_tranche,
)
from tests.monitoring.helpers import t

AS_OF = t("2026-10-01")


def tranche(**changes: object) -> SimulatedTranche:
    values: dict[str, object] = dict(
        grant_id="g", start=t("2026-01-01"), end=t("2027-01-01"), end_reason="expired",
        quantity=Band(D(1000), D(1000), D(1000)), remaining_at_start=D("400.5"),
        consumed=Band(D("100.123"), D("200.456"), D("300.789")),
        lapse=Band(D("99.995"), D("200.004"), D(300)),
        lapse_pct=Band(D("0.099995"), D("0.200004"), D("0.3")), over_threshold=501,
        ran_dry=10, run_out_day=(40, None, None), paths=1000)
    values.update(changes)
    return SimulatedTranche(**values)  # type: ignore[arg-type]


def test_probability_and_run_out_dates() -> None:
    assert probability(1, 3) == D("0.333")
    assert probability(5, 0) == D(0)
    assert day_instant(AS_OF, None) is None
    assert day_instant(AS_OF, 3) == t("2026-10-04")
    band = date_band(AS_OF, (0, 10, None))
    assert band.p10 == AS_OF and band.p50 == t("2026-10-11") and band.p90 is None


def test_tranche_summary_rounds_explicitly_and_classifies() -> None:
    summary = summarise_tranche(tranche(), AS_OF, D("0.005"))
    assert summary.lapse == Band(D("100"), D("200"), D("300"))  # 99.995 → 100.00 → 100
    assert summary.consumption == Band(D("100.12"), D("200.46"), D("300.79"))
    assert summary.lapse_pct == Band(D("0.1"), D("0.2"), D("0.3"))
    assert summary.lapse_value == Band(D("0.50"), D("1.00"), D("1.50"))
    assert summary.probability_over_threshold == D("0.501") and summary.status == "at_risk"
    assert summary.run_out.p10 == t("2026-11-10") and summary.run_out.p50 is None
    assert summary.run_out_probability == D("0.01") and summary.remaining == D("400.5")
    calm = summarise_tranche(tranche(over_threshold=499, remaining_at_start=None), AS_OF, D(1))
    assert calm.status == "on_track" and calm.remaining is None
    open_ended = summarise_tranche(tranche(end=None, end_reason=None, lapse=None,
                                           lapse_pct=None), AS_OF, D(1))
    assert open_ended.status == "open" and open_ended.lapse is None
    assert open_ended.probability_over_threshold is None and open_ended.lapse_value is None
    voided = summarise_tranche(tranche(end_reason="voided"), AS_OF, D(1))
    assert voided.status == "voided" and voided.lapse is None


def test_pool_summary() -> None:
    simulated = SimulatedPool(
        pool_id="p", paths=1000, days=92, consumption=Band(D(1), D("2.345"), D(3)),
        overage=Band(D(0), D(10), D(20)), run_out_day=(5, None, None), ran_out=150,
        tranches=(tranche(),), history_days=182, trend_per_week=D("0.0123456"))
    forecast = summarise_pool(simulated, AS_OF, D("0.005"), D("0.01"), D("0.2"), 7)
    assert forecast.horizon_end == t("2027-01-01") and forecast.seed == 7
    assert forecast.consumption.p50 == D("2.35")
    assert forecast.overage_value == Band(D("0.00"), D("0.10"), D("0.20"))
    assert forecast.run_out.p10 == t("2026-10-06") and forecast.run_out_probability == D("0.15")
    assert forecast.trend_per_week == D("0.0123") and len(forecast.grants) == 1
    flat = summarise_pool(SimulatedPool(**{**simulated.__dict__, "trend_per_week": None}),
                          AS_OF, D(1), D(1), D("0.2"), 0)
    assert flat.trend_per_week is None


def case(predicted: Band, actual: str, quantity: str = "1000", chance: str = "0.5",
         baseline: str = "0", lead: int = 90) -> BacktestCase:
    return BacktestCase("p", "g", t("2026-01-01"), lead, D(quantity), predicted, D(chance),
                        D(actual), D(baseline), D("0.2"))


def test_error_summary() -> None:
    cases = [
        case(Band(D(100), D(200), D(300)), "250", chance="0.25", baseline="400"),
        case(Band(D(0), D(100), D(150)), "0", chance="0"),
        case(Band(D(500), D(600), D(700)), "800", chance="1", baseline="600"),
        case(Band(D(0), D(0), D(0)), "0", quantity="0"),
    ]
    summary = summarise_errors(cases)
    assert summary.cases == 4
    assert summary.mae_pct == D("0.1167")  # (50 + 100 + 200) / 1000 / 3
    assert summary.bias_pct == D("-0.05")  # (−50 + 100 − 200) / 1000 / 3
    assert summary.mape == D("0.225")  # (50/250 + 200/800) / 2
    assert summary.coverage == D("0.75")  # 250 and 0 and 0 inside, 800 outside
    assert cases[0].actual_over and not cases[1].actual_over
    assert summary.brier == D("0.2031")  # ((0.25−1)² + 0 + 0 + (0.5−0)²) / 4
    assert summary.baseline_mae_pct == D("0.1167")  # (150 + 0 + 200) / 1000 / 3
    empty = summarise_errors([])
    assert empty.cases == 0 and empty.mae_pct is None and empty.mape is None
