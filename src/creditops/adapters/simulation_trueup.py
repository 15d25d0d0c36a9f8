"""Vectorised true-up: many growth paths at once, with the exact model's definitions.

The clause side of the model (settlement month, price year, billed months) does not depend on the
growth path, so it is taken from the core once per clause (``clause_schedule``) and applied to all
paths as an integer matrix: every path's true-up is Σ over price years of price × licence-months,
with licence-months counted exactly in integers. Floats appear only where rates are drawn and
headcounts computed from them, and to rank paths; figures handed back are exact decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from creditops.core.trueup import (
    MONTHS_PER_YEAR,
    Clause,
    Distribution,
    DrawPer,
    GrowthModel,
    Product,
    clause_schedule,
    needed_licences,
)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

# Headcounts computed in floats are a few ulps off the exact value; a whole number must not
# round up to the next licence because of that.
_CEIL_TOLERANCE = 1e-9
# Compound growth takes (1 + g) to a fractional power: a drawn rate must keep it positive.
_LOWEST_COMPOUND_RATE = -0.99


@dataclass(frozen=True)
class ClauseKernel:
    """A clause as matrices over the month a licence is first needed (rows)."""

    price_year: Ints  # (months,)
    months_by_price_year: Ints  # (months, years): billed months, in the column of the price year
    months_by_bucket: Ints  # (months, years + 1): billed months per contract year, then beyond

    @classmethod
    def of(cls, clause: Clause, years: int) -> ClauseKernel:
        schedule = clause_schedule(clause, years)
        months = len(schedule)
        price_year = np.array([add.price_year for add in schedule], dtype=np.int64)
        by_price_year = np.zeros((months, years), dtype=np.int64)
        by_price_year[np.arange(months), price_year] = [add.billed_months for add in schedule]
        buckets = np.array([(*add.months_by_year, add.months_beyond_term) for add in schedule],
                           dtype=np.int64)
        return cls(price_year, by_price_year, buckets)


def draw_rates(product: Product, years: int, paths: int, rng: np.random.Generator) -> Floats:
    """Annual growth rates (paths × years) under the product's uncertainty; fixed rates when it
    has none."""
    growth = product.growth
    fixed = np.array([float(rate) for rate in growth.annual], dtype=np.float64)
    spread = growth.uncertainty
    if spread is None:
        return np.broadcast_to(fixed, (paths, years)).copy()
    draws = 1 if spread.per is DrawPer.TERM else years
    shape = (paths, draws)
    if spread.distribution is Distribution.NORMAL:
        mean = fixed[:draws] if spread.mean is None else np.full(draws, float(spread.mean))
        rates = rng.normal(mean, float(spread.sd or 0), size=shape)
        low = -np.inf if spread.minimum is None else float(spread.minimum)
        high = np.inf if spread.maximum is None else float(spread.maximum)
        rates = np.clip(rates, low, high)
    elif spread.distribution is Distribution.UNIFORM:
        rates = rng.uniform(float(spread.low or 0), float(spread.high or 0), size=shape)
    else:
        low, mode, high = (float(spread.low or 0), float(spread.mode or 0),
                           float(spread.high or 0))
        rates = (np.full(shape, low) if low == high
                 else rng.triangular(low, mode, high, size=shape))
    if growth.model is GrowthModel.COMPOUND:
        rates = np.maximum(rates, _LOWEST_COMPOUND_RATE)
    return np.broadcast_to(rates, (paths, years)).copy()


def needed_from_rates(product: Product, rates: Floats) -> Ints:
    """needed(m) = ceil(headcount(m)) for every path (rows) and month (columns)."""
    paths, years = rates.shape
    months = np.arange(MONTHS_PER_YEAR * years)
    year = months // MONTHS_PER_YEAR
    within = (months % MONTHS_PER_YEAR) / MONTHS_PER_YEAR
    initial = float(product.initial_headcount)
    if product.growth.model is GrowthModel.LINEAR:
        before = np.concatenate([np.zeros((paths, 1)), np.cumsum(rates, axis=1)[:, :-1]], axis=1)
        headcount = initial * (1 + before[:, year] + rates[:, year] * within)
    else:
        factors = 1 + rates
        before = np.concatenate([np.ones((paths, 1)), np.cumprod(factors, axis=1)[:, :-1]],
                                axis=1)
        headcount = initial * before[:, year] * factors[:, year] ** within
    slack = _CEIL_TOLERANCE * np.maximum(1.0, np.abs(headcount))
    return np.ceil(headcount - slack).astype(np.int64)


def sample_needed(product: Product, years: int, paths: int, rng: np.random.Generator) -> Ints:
    """Licence paths for one product: exact from the core when growth is certain."""
    growth = product.growth
    if growth.uncertainty is None or growth.model is GrowthModel.PATH:
        exact = np.array(needed_licences(product, years), dtype=np.int64)
        return np.broadcast_to(exact, (paths, exact.size)).copy()
    return needed_from_rates(product, draw_rates(product, years, paths, rng))


def first_needed(needed: Ints, contracted: Sequence[int]) -> Ints:
    """Δ(m) per path: licences first needed in month m beyond the contracted quantity."""
    excess = needed - np.asarray(contracted, dtype=np.int64)
    added = np.maximum.accumulate(np.maximum(excess, 0), axis=1)
    return np.diff(added, axis=1, prepend=0)


def licence_months(deltas: Ints, kernel: ClauseKernel) -> Ints:
    """Billed add licence-months per path (rows) and price year (columns)."""
    return deltas @ kernel.months_by_price_year


def licence_months_by_bucket(deltas: Ints, kernel: ClauseKernel) -> Ints:
    """Billed add licence-months per path and contract year (last column: beyond the term)."""
    return deltas @ kernel.months_by_bucket


def as_floats(prices: Sequence[Decimal]) -> Floats:
    return np.array([float(price) for price in prices], dtype=np.float64)


@dataclass(frozen=True)
class QuantityCurve:
    """Σ over paths of add licence-months by price year, for each flat contracted quantity."""

    quantities: Ints  # (points,)
    licence_months: Ints  # (points, years)
    paths: int


def quantity_curve(needed: Ints, kernel: ClauseKernel, lowest: int, highest: int) -> QuantityCurve:
    """For every flat contracted quantity q in lowest … highest: the add licence-months summed over
    paths. With a flat q, added(m) = max(0, R(m) − q) where R is the running maximum of needed,
    so Σ_paths added(m) for all q follows from one histogram of R per month."""
    paths, months = needed.shape
    lowest = max(lowest, 0)
    points = highest - lowest + 1
    running = np.maximum.accumulate(np.clip(needed, lowest, highest), axis=1) - lowest
    cells = (np.arange(months) * points)[None, :] + running
    counts = np.bincount(cells.ravel(), minlength=months * points).reshape(months, points)
    above = paths - np.cumsum(counts, axis=1)  # paths with R(m) > q
    added = np.cumsum(above[:, ::-1], axis=1)[:, ::-1]  # Σ_paths max(0, R(m) − q)
    deltas = np.diff(added, axis=0, prepend=np.zeros((1, points), dtype=np.int64))
    return QuantityCurve(
        quantities=np.arange(lowest, highest + 1, dtype=np.int64),
        licence_months=deltas.T @ kernel.months_by_price_year,
        paths=paths,
    )
