"""The vectorised model against the exact one, and the simulation's summaries."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from creditops.adapters import simulation_trueup as vectorised
from creditops.adapters.scenario_file import ScenarioFile, SimulationSettings
from creditops.adapters.simulation_commitment import bootstrap_consumption
from creditops.core.trueup import (
    Distribution,
    DrawPer,
    Growth,
    GrowthModel,
    Pricing,
    Timing,
    Uncertainty,
    model_product,
    model_scenario,
)
from creditops.services.renewal import simulate_file
from tests.renewal.helpers import clause, rate_product, scenario


@pytest.mark.parametrize("model", [GrowthModel.LINEAR, GrowthModel.COMPOUND])
def test_float_headcounts_round_to_the_exact_licences(model: GrowthModel) -> None:
    """Rates drawn as floats give the same licence paths as the Decimal model fed the same
    rates, including the whole-number months where floats land a few ulps off."""
    product = rate_product(model, "0.1", 3, quantity=1000)
    rng = np.random.default_rng(5)
    rates = np.vstack([np.full(3, 0.10), np.full(3, 0.25), rng.normal(0.1, 0.08, (200, 3))])
    needed = vectorised.needed_from_rates(product, rates)
    for row, licences in zip(rates, needed, strict=True):
        exact = replace(product, growth=Growth(model, annual=tuple(Decimal(repr(float(r)))
                                                                   for r in row)))
        assert licences.tolist() == list(model_product(exact, clause(Pricing.ORIGINAL_RATE),
                                                       3).needed)


def test_distributions_draw_within_their_bounds() -> None:
    rng = np.random.default_rng(1)
    base = rate_product(GrowthModel.COMPOUND, "0.1", 4)

    def draws(spread: Uncertainty) -> np.ndarray:
        product = replace(base, growth=replace(base.growth, uncertainty=spread))
        return vectorised.draw_rates(product, 4, 2000, rng)

    normal = draws(Uncertainty(Distribution.NORMAL, sd=Decimal("0.5"), minimum=Decimal("-0.5"),
                               maximum=Decimal("0.6")))
    assert normal.min() >= -0.5 and normal.max() <= 0.6
    wild = draws(Uncertainty(Distribution.NORMAL, mean=Decimal(0), sd=Decimal(3)))
    assert wild.min() >= -0.99  # compound growth keeps 1 + g positive
    uniform = draws(Uncertainty(Distribution.UNIFORM, low=Decimal("0.1"), high=Decimal("0.2")))
    assert uniform.min() >= 0.1 and uniform.max() <= 0.2
    triangular = draws(Uncertainty(Distribution.TRIANGULAR, low=Decimal(0), mode=Decimal("0.1"),
                                   high=Decimal("0.3"), per=DrawPer.TERM))
    assert (triangular == triangular[:, :1]).all()  # one rate for the whole term
    flat = draws(Uncertainty(Distribution.TRIANGULAR, low=Decimal("0.1"), mode=Decimal("0.1"),
                             high=Decimal("0.1")))
    assert (flat == 0.1).all()
    assert (vectorised.draw_rates(base, 4, 3, rng) == 0.1).all()


def test_certain_growth_simulates_to_the_exact_figure() -> None:
    product = rate_product(GrowthModel.LINEAR, "0.1", 3)
    terms = [clause(Pricing.LIST_NO_DISCOUNT, clause_id="A"),
             clause(Pricing.CAPPED_ESCALATION, Timing.QUARTERLY, cap="0.03", clause_id="D")]
    file = ScenarioFile("f", scenario([product], terms, 3), SimulationSettings(50, 1), None, ())
    exact = {c.clause.id: c.figures.trueup_total for c in model_scenario(file.scenario).clauses}
    simulation = simulate_file(file)
    for result in simulation.clauses:
        summary = result.total
        assert set(summary.percentiles.values()) == {exact[result.clause.id]}
        assert summary.mean == exact[result.clause.id]
        assert summary.share_with_trueup == 1


def test_percentiles_match_numpy_on_the_same_paths() -> None:
    product = replace(rate_product(GrowthModel.LINEAR, "0.1", 2),
                      growth=Growth(GrowthModel.LINEAR, annual=(Decimal("0.1"),) * 2,
                                    uncertainty=Uncertainty(Distribution.NORMAL,
                                                            sd=Decimal("0.1"))))
    terms = [clause(Pricing.ORIGINAL_RATE)]
    file = ScenarioFile("f", scenario([product], terms, 2), SimulationSettings(301, 9), None, ())
    simulation = simulate_file(file)
    needed = vectorised.sample_needed(product, 2, 301, np.random.default_rng(9))
    totals = [float(model_product(product, terms[0], 2, needed=row.tolist()).figures.trueup_total)
              for row in needed]
    summary = simulation.clauses[0].total
    for fraction, value in summary.percentiles.items():
        assert float(value) == pytest.approx(np.percentile(totals, float(fraction) * 100))
    assert float(summary.mean) == pytest.approx(np.mean(totals))


def test_bootstrap_keeps_pilot_levels() -> None:
    daily = [Decimal(100)] * 5 + [Decimal(20)] * 2
    paths = bootstrap_consumption(daily, paths=50, seed=3, block_days=7)
    # whole weeks: every 7-day block sums to 540, so 365 days hold 52 weeks and a day
    assert all(Decimal(52 * 540) <= p.first_12_months <= Decimal(52 * 540 + 100) for p in paths)
    assert all(p.first_12_months < p.first_18_months < p.first_24_months for p in paths)
    grown = bootstrap_consumption([Decimal(10)] * 14, paths=3, seed=1,
                                  annual_growth=Decimal("1"))
    assert grown[0].first_24_months > Decimal(10 * 730)
