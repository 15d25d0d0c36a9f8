"""Renewal economics use cases: the true-up model, its simulation and the commitment optimiser.

Figures stay exact decimals; rounding to cents happens in the views (``*_view`` functions) that
the CLI and the web app print.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import numpy as np

from creditops.adapters import simulation_trueup as vectorised
from creditops.adapters.renewal_workbook import Cell, Table, write_workbook
from creditops.adapters.scenario_file import ScenarioFile, read_scenario
from creditops.core.numbers import ZERO, round_money, round_to
from creditops.core.trueup import (
    Clause,
    ClauseResult,
    Figures,
    Product,
    ScenarioResult,
    contracted_by_month,
    later_settlement_costs,
    model_scenario,
    month_start,
    price_table,
    subscription_cost,
)

RATIO_PLACES = 6
PERCENTILES = (Decimal("0.10"), Decimal("0.50"), Decimal("0.90"))


# --- The deterministic model ---------------------------------------------------------------------


@dataclass(frozen=True)
class TrueUpModel:
    file: ScenarioFile
    result: ScenarioResult


def model_trueup(path: Path) -> TrueUpModel:
    file = read_scenario(path)
    return TrueUpModel(file, model_scenario(file.scenario))


def ratio_text(value: Decimal | None) -> str | None:
    """A ratio as a decimal string with six places (JSON)."""
    return None if value is None else format(round_to(value, RATIO_PLACES), "f")


def money_text(value: Decimal) -> str:
    """Money rounded half up to cents, as a decimal string (JSON)."""
    return format(round_money(value), "f")


def figures_view(figures: Figures) -> dict[str, object]:
    return {
        "trueup_total": money_text(figures.trueup_total),
        "trueup_by_year": [money_text(amount) for amount in figures.trueup_by_year],
        "beyond_term": money_text(figures.beyond_term),
        "original_contract_value": money_text(figures.original_contract_value),
        "trueup_pct_of_original": ratio_text(figures.trueup_pct_of_original),
        "effective_discount": ratio_text(figures.effective_discount),
        "licences_added": figures.licences_added,
        "trueup_by_month": [money_text(amount) for amount in figures.trueup_by_month],
    }


def clause_view(result: ClauseResult) -> dict[str, object]:
    clause = result.clause
    return {
        "id": clause.id,
        "name": clause.name,
        "pricing": clause.pricing.value,
        "cap": None if clause.cap is None else format(clause.cap, "f"),
        "timing": clause.timing.value,
        "coterm": clause.coterm,
        "backbill": clause.backbill,
        **figures_view(result.figures),
        "products": {product.product.id: figures_view(product.figures)
                     for product in result.products},
    }


def trueup_view(model: TrueUpModel) -> dict[str, object]:
    """The JSON document of ``trueup model --json``."""
    result = model.result
    return {
        "scenario": model.file.scenario.name,
        "currency": model.file.scenario.currency,
        "clauses": [clause_view(clause) for clause in result.clauses],
        "spread": money_text(result.spread),
        "best_clause": result.best.clause.id,
        "worst_clause": result.worst.clause.id,
        "later_settlement_costs_more": [
            {"earlier": case.earlier.clause.id, "later": case.later.clause.id,
             "extra": money_text(case.extra)}
            for case in later_settlement_costs(result)
        ],
    }


# --- Monte Carlo ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostSummary:
    """Summary of a simulated cost over paths (exact decimals)."""

    mean: Decimal
    percentiles: dict[Decimal, Decimal]
    share_with_trueup: Decimal  # fraction of paths with any true-up cost


@dataclass(frozen=True)
class ClauseSimulation:
    clause: Clause
    total: CostSummary
    products: dict[str, CostSummary]


@dataclass(frozen=True)
class Simulation:
    file: ScenarioFile
    paths: int
    seed: int
    clauses: tuple[ClauseSimulation, ...]


def _percentile(ranking: np.ndarray, exact: Callable[[int], Decimal],
                fraction: Decimal) -> Decimal:
    """Linear interpolation between order statistics (numpy's default ``linear`` method),
    evaluated on the exact figures of the paths the floats rank there."""
    order = np.argsort(ranking, kind="stable")
    position = (len(order) - 1) * fraction
    below = int(position.to_integral_value(rounding=ROUND_FLOOR))
    above = min(below + 1, len(order) - 1)
    low, high = exact(int(order[below])), exact(int(order[above]))
    return low + (position - below) * (high - low)


def _summarise(parts: Sequence[tuple[np.ndarray, Sequence[Decimal]]]) -> CostSummary:
    """``parts``: per product, licence-months (paths × price years) and prices per price year."""
    paths = parts[0][0].shape[0]
    ranking = sum((months @ vectorised.as_floats(prices) for months, prices in parts),
                  np.zeros(paths))

    def exact(path: int) -> Decimal:
        return sum((int(count) * price for months, prices in parts
                    for count, price in zip(months[path], prices, strict=True)), ZERO)

    summed = sum((sum((int(count) * price for count, price in
                       zip(months.sum(axis=0), prices, strict=True)), ZERO)
                  for months, prices in parts), ZERO)
    any_trueup = sum((months.sum(axis=1) for months, _ in parts), np.zeros(paths, dtype=np.int64))
    return CostSummary(
        mean=summed / paths,
        percentiles={fraction: _percentile(ranking, exact, fraction) for fraction in PERCENTILES},
        share_with_trueup=Decimal(int(np.count_nonzero(any_trueup))) / paths,
    )


def _sample_needed(file: ScenarioFile, paths: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    years = file.scenario.term.years
    return {product.id: vectorised.sample_needed(product, years, paths, rng)
            for product in file.scenario.products}


def simulate_file(file: ScenarioFile, paths: int | None = None,
                  seed: int | None = None) -> Simulation:
    """P10/P50/P90 and mean of the true-up cost of each clause over sampled growth paths."""
    paths = paths or file.simulation.paths
    seed = file.simulation.seed if seed is None else seed
    scenario = file.scenario
    years = scenario.term.years
    needed = _sample_needed(file, paths, seed)
    deltas = {product.id: vectorised.first_needed(needed[product.id],
                                                  contracted_by_month(product, years))
              for product in scenario.products}
    results = []
    for clause in scenario.clauses:
        kernel = vectorised.ClauseKernel.of(clause, years)
        parts = {product.id: (vectorised.licence_months(deltas[product.id], kernel),
                              price_table(product, clause, years))
                 for product in scenario.products}
        results.append(ClauseSimulation(
            clause=clause,
            total=_summarise(list(parts.values())),
            products={product_id: _summarise([part]) for product_id, part in parts.items()},
        ))
    return Simulation(file, paths, seed, tuple(results))


def simulate_trueup(path: Path, paths: int | None = None, seed: int | None = None) -> Simulation:
    return simulate_file(read_scenario(path), paths, seed)


def _distribution_view(summary: CostSummary) -> dict[str, object]:
    return {
        "mean": money_text(summary.mean),
        **{f"p{int(fraction * 100)}": money_text(value)
           for fraction, value in summary.percentiles.items()},
        "share_of_paths_with_trueup": ratio_text(summary.share_with_trueup),
    }


def simulation_view(simulation: Simulation) -> dict[str, object]:
    return {
        "scenario": simulation.file.scenario.name,
        "currency": simulation.file.scenario.currency,
        "paths": simulation.paths,
        "seed": simulation.seed,
        "clauses": [{
            "id": result.clause.id,
            **_distribution_view(result.total),
            "products": {product_id: _distribution_view(summary)
                         for product_id, summary in result.products.items()},
        } for result in simulation.clauses],
    }


# --- Commitment optimiser ------------------------------------------------------------------------


@dataclass(frozen=True)
class CurvePoint:
    quantity: int
    subscription: Decimal
    expected_trueup: Decimal

    @property
    def expected_total(self) -> Decimal:
        return self.subscription + self.expected_trueup


@dataclass(frozen=True)
class ProductOptimum:
    product: Product
    best: CurvePoint
    current: CurvePoint  # at the quantity the file contracts
    curve: tuple[CurvePoint, ...]  # every flat quantity searched


@dataclass(frozen=True)
class ClauseOptimum:
    clause: Clause
    products: tuple[ProductOptimum, ...]


@dataclass(frozen=True)
class Optimisation:
    file: ScenarioFile
    paths: int
    seed: int
    clauses: tuple[ClauseOptimum, ...]


def optimise_file(file: ScenarioFile, paths: int | None = None,
                  seed: int | None = None) -> Optimisation:
    """The flat contracted quantity minimising expected subscription + true-up, per clause and
    product. The search runs from the lower of the file's quantity and the fewest licences needed
    at term start to the higher of the file's quantity and the most ever needed; ties go to the
    smaller quantity. The same growth paths serve every clause."""
    paths = paths or file.simulation.paths
    seed = file.simulation.seed if seed is None else seed
    scenario = file.scenario
    years = scenario.term.years
    needed = _sample_needed(file, paths, seed)
    results = []
    for clause in scenario.clauses:
        kernel = vectorised.ClauseKernel.of(clause, years)
        products = []
        for product in scenario.products:
            licences = needed[product.id]
            lowest = min(product.quantity, int(licences[:, 0].min()))
            highest = max(product.quantity, int(licences.max()))
            curve = vectorised.quantity_curve(licences, kernel, lowest, highest)
            prices = price_table(product, clause, years)
            points = []
            for quantity, months in zip(curve.quantities, curve.licence_months, strict=True):
                summed = sum((int(count) * price for count, price in
                              zip(months, prices, strict=True)), ZERO)
                points.append((int(quantity), summed))
            # Compare exact sums over paths (N × subscription + Σ true-up) so ties stay ties.
            scaled = [(paths * subscription_cost(product, quantity, years) + summed, quantity)
                      for quantity, summed in points]
            best_quantity = min(scaled)[1]
            curve_points = tuple(CurvePoint(quantity, subscription_cost(product, quantity, years),
                                            summed / paths) for quantity, summed in points)
            by_quantity = {point.quantity: point for point in curve_points}
            products.append(ProductOptimum(product, by_quantity[best_quantity],
                                           by_quantity[product.quantity], curve_points))
        results.append(ClauseOptimum(clause, tuple(products)))
    return Optimisation(file, paths, seed, tuple(results))


def optimise_trueup(path: Path, paths: int | None = None,
                    seed: int | None = None) -> Optimisation:
    return optimise_file(read_scenario(path), paths, seed)


def curve_around(optimum: ProductOptimum, points: int, step: int | None = None) -> list[CurvePoint]:
    """``points`` curve points centred on the optimum (fewer at the ends of the searched range),
    plus the file's quantity."""
    curve = optimum.curve
    first = curve[0].quantity
    if step is None:
        step = max(1, (curve[-1].quantity - first) // max(points - 1, 1) // 2)
    half = points // 2
    wanted = {optimum.best.quantity + offset * step for offset in range(-half, half + 1)}
    wanted.add(optimum.current.quantity)
    return [point for point in curve if point.quantity in wanted]


def _point_view(point: CurvePoint, best: CurvePoint) -> dict[str, object]:
    return {
        "quantity": point.quantity,
        "subscription": money_text(point.subscription),
        "expected_trueup": money_text(point.expected_trueup),
        "expected_total": money_text(point.expected_total),
        "over_optimum": money_text(point.expected_total - best.expected_total),
    }


def optimisation_view(result: Optimisation, points: int = 11,
                      step: int | None = None) -> dict[str, object]:
    return {
        "scenario": result.file.scenario.name,
        "currency": result.file.scenario.currency,
        "paths": result.paths,
        "seed": result.seed,
        "clauses": [{
            "id": clause.clause.id,
            "products": {optimum.product.id: {
                "best_quantity": optimum.best.quantity,
                "best": _point_view(optimum.best, optimum.best),
                "file_quantity": optimum.current.quantity,
                "at_file_quantity": _point_view(optimum.current, optimum.best),
                "curve": [_point_view(point, optimum.best)
                          for point in curve_around(optimum, points, step)],
            } for optimum in clause.products},
        } for clause in result.clauses],
    }


# --- Workbook ------------------------------------------------------------------------------------


def trueup_tables(model: TrueUpModel) -> list[Table]:
    """The sheets of ``trueup model --xlsx``: clauses side by side, by month, products, adds."""
    scenario = model.file.scenario
    result = model.result
    years = scenario.term.years
    year_columns = [f"year {year + 1}" for year in range(years)]
    summary_header = ["clause", "name", "pricing", "cap", "timing", "coterm", "backbill",
                      "true-up total", *year_columns, "beyond term", "original contract value",
                      "% of original", "effective discount", "licences added"]
    money = frozenset(["true-up total", *year_columns, "beyond term", "original contract value",
                       "unit price", "cost", *(c.clause.id for c in result.clauses)])
    ratio = frozenset(["% of original", "effective discount"])

    def figures_row(figures: Figures) -> list[Cell]:
        return [round_money(figures.trueup_total),
                *(round_money(amount) for amount in figures.trueup_by_year),
                round_money(figures.beyond_term), round_money(figures.original_contract_value),
                _rounded_ratio(figures.trueup_pct_of_original),
                _rounded_ratio(figures.effective_discount), figures.licences_added]

    def clause_cells(clause: Clause) -> list[Cell]:
        return [clause.id, clause.name, clause.pricing.value, clause.cap, clause.timing.value,
                clause.coterm, clause.backbill]

    summary = [clause_cells(c.clause) + figures_row(c.figures) for c in result.clauses]
    products = [[c.clause.id, p.product.id, *figures_row(p.figures)]
                for c in result.clauses for p in c.products]
    by_month: list[list[Cell]] = [
        [month + 1, month_start(scenario.term.start, month), month // 12 + 1,
         *(round_money(c.figures.trueup_by_month[month]) for c in result.clauses)]
        for month in range(scenario.term.months)]
    adds: list[list[Cell]] = [[c.clause.id, add.product_id, add.schedule.month + 1,
             month_start(scenario.term.start, add.schedule.month), add.quantity,
             add.schedule.settlement_month + 1, add.schedule.price_year + 1,
             round_money(add.unit_price), add.schedule.billing_start + 1,
             add.schedule.billed_months, round_money(add.cost)]
            for c in result.clauses for p in c.products for add in p.adds]
    return [
        Table("Clauses", summary_header, summary, money, ratio),
        Table("Products", ["clause", "product", *summary_header[7:]], products, money, ratio),
        Table("By month", ["month", "starts", "contract year",
                           *(c.clause.id for c in result.clauses)], by_month, money),
        Table("Adds", ["clause", "product", "first needed (month)", "starts", "licences",
                       "settled (month)", "price year", "unit price", "billed from (month)",
                       "billed months", "cost"], adds, money),
    ]


def _rounded_ratio(value: Decimal | None) -> Decimal | None:
    return None if value is None else round_to(value, RATIO_PLACES)


def write_trueup_workbook(model: TrueUpModel, out: Path) -> None:
    write_workbook(out, trueup_tables(model))
