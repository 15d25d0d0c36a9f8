"""Usage paths for the forecast's Monte Carlo: many future daily-usage paths of one pool
(PRODUCT.md §2 and §4).

Whole weeks of the pool's recent history, aligned on the weekday ``as_of`` falls on, are drawn
with replacement and laid end to end (a block bootstrap: weekday patterns and bursts survive).
Where the weekly totals show a significant linear trend (|t| ≥ 2 over at least 8 weeks), each
drawn week is moved from the level of the week it came from to the level the trend gives the
future week (never below 0, at most 3×). Planned milestones are added on their day, on every
path. Cumulative usage of any day is read from cumulative weekly sums, never from a full
paths × days matrix.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from creditops.core.model import Usage

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
_ONE_DAY = timedelta(days=1)
TREND_MIN_WEEKS = 8
TREND_MIN_T = 2.0
TREND_MAX_FACTOR = 3.0


class UsagePaths(Protocol):
    """Daily usage of every path, per usage type ("stream"), for days 0 … days − 1."""

    paths: int
    streams: int
    block: int  # days per block of the cumulative sums (a week)

    def cumulative(self, day: int) -> Floats:
        """Usage of all streams over days [0, day), per path."""

    def cumulative_rows(self, rows: Ints, days: Ints) -> Floats:
        """The same for a subset of paths, each at its own day (arrays broadcast)."""

    def daily(self, stream: int, day: int) -> Floats:
        """Usage of one stream on one day, per path."""

    def first_reaching(self, rows: Ints, start: int, end: int, goal: Floats, strict: bool
                       ) -> Ints:
        """Per row, the first day d in [start, end) with cumulative usage through d at or
        above ``goal`` (above it when ``strict``); every row must reach it by ``end``."""


@dataclass
class ExplicitUsage:
    """Given usage: ``matrix[stream, path, day]`` (tests and reference runs)."""

    matrix: Floats
    paths: int = field(init=False)
    streams: int = field(init=False)
    block: int = 7
    _cumulative: Floats = field(init=False)

    def __post_init__(self) -> None:
        self.streams, self.paths, _ = self.matrix.shape
        merged = self.matrix.sum(axis=0)
        self._cumulative = np.concatenate(
            [np.zeros((self.paths, 1)), np.cumsum(merged, axis=1)], axis=1)

    def cumulative(self, day: int) -> Floats:
        return self._cumulative[:, day]

    def cumulative_rows(self, rows: Ints, days: Ints) -> Floats:
        return self._cumulative[rows, days]

    def daily(self, stream: int, day: int) -> Floats:
        return self.matrix[stream, :, day]

    def first_reaching(self, rows: Ints, start: int, end: int, goal: Floats, strict: bool
                       ) -> Ints:
        used = self._cumulative[rows, start + 1:end + 1]
        reached = used > goal[:, None] if strict else used >= goal[:, None]
        found: Ints = start + np.argmax(reached, axis=1)
        return found


@dataclass
class WeeklyBootstrap:
    """Blocks of ``block`` days of history (per stream: ``blocks[j, stream, day]``) drawn per
    future week and path (``picks[week, path]``), scaled by a trend factor per week and path,
    plus milestone usage per stream and day. Nothing of size paths × days is ever built; arrays
    are laid out week by week so that one week of every path is contiguous."""

    blocks: Floats  # (J, streams, block)
    picks: Ints  # (weeks, paths)
    factors: Floats | None  # (weeks, paths), or none without a trend
    planned: Floats  # (streams, days + 1): milestone usage per day (last column 0)
    paths: int = field(init=False)
    streams: int = field(init=False)
    block: int = field(init=False)
    _within: Floats = field(init=False)  # (J, block + 1): cumulative within a block, merged
    _weekly: Floats = field(init=False)  # (weeks + 1, paths): cumulative over whole weeks
    _planned_cumulative: Floats = field(init=False)  # (days + 1,)

    def __post_init__(self) -> None:
        self.paths = self.picks.shape[1]
        self.streams = self.blocks.shape[1]
        self.block = self.blocks.shape[2]
        merged = self.blocks.sum(axis=1)
        self._within = np.concatenate([np.zeros((merged.shape[0], 1)),
                                       np.cumsum(merged, axis=1)], axis=1)
        sums = self._within[:, -1][self.picks]
        if self.factors is not None:
            sums = sums * self.factors
        self._weekly = np.concatenate([np.zeros((1, self.paths)), np.cumsum(sums, axis=0)],
                                      axis=0)
        merged_plan = self.planned.sum(axis=0)
        self._planned_cumulative = np.concatenate([[0.0], np.cumsum(merged_plan)])

    def cumulative(self, day: int) -> Floats:
        week, offset = divmod(day, self.block)
        partial = self._within[self.picks[week], offset]
        if self.factors is not None:
            partial = partial * self.factors[week]
        total: Floats = self._weekly[week] + partial + self._planned_cumulative[day]
        return total

    def cumulative_rows(self, rows: Ints, days: Ints) -> Floats:
        weeks, offsets = np.divmod(days, self.block)
        partial = self._within[self.picks[weeks, rows], offsets]
        if self.factors is not None:
            partial = partial * self.factors[weeks, rows]
        total: Floats = self._weekly[weeks, rows] + partial + self._planned_cumulative[days]
        return total

    def daily(self, stream: int, day: int) -> Floats:
        week, offset = divmod(day, self.block)
        values: Floats = self.blocks[self.picks[week], stream, offset]
        if self.factors is not None:
            values = values * self.factors[week]
        return values + float(self.planned[stream, day])

    def first_reaching(self, rows: Ints, start: int, end: int, goal: Floats, strict: bool
                       ) -> Ints:
        # The week from the cumulative sums at block boundaries, then the day within it from
        # the drawn block's own cumulative pattern: small gathers only.
        block = self.block
        first, last = start // block, (end - 1) // block
        bounds = np.minimum(np.arange(first + 1, last + 2) * block, end)
        at = self._weekly[first + 1:last + 2][:, rows].T + self._planned_cumulative[bounds]
        if end % block:
            at[:, -1] = self.cumulative_rows(rows, np.full(rows.size, end))
        reached = at > goal[:, None] if strict else at >= goal[:, None]
        week = first + np.argmax(reached, axis=1)
        days = np.clip(week[:, None] * block + np.arange(1, block + 1)[None, :], start + 1, end)
        picks = self.picks[week, rows][:, None]
        partial = self._within[picks, days - week[:, None] * block]
        if self.factors is not None:
            partial = partial * self.factors[week, rows][:, None]
        at_days = self._weekly[week, rows][:, None] + partial + self._planned_cumulative[days]
        reached = at_days > goal[:, None] if strict else at_days >= goal[:, None]
        found: Ints = days[np.arange(rows.size), np.argmax(reached, axis=1)] - 1
        return found


def pool_seed(seed: int, pool_id: str) -> np.random.SeedSequence:
    """The random stream of one pool: the same whatever other pools are forecast with it."""
    digest = int.from_bytes(hashlib.sha256(pool_id.encode("utf-8")).digest()[:8], "big")
    return np.random.SeedSequence([seed, digest])


def trend_factors(weekly_totals: Floats, weeks_ahead: int) -> tuple[Floats, float] | None:
    """Per (history week, future week) the factor that moves a week's usage from its own
    level to the trend's level in the future week, and the trend's relative change per week;
    none when the history shows no significant trend. ``weekly_totals[0]`` is the most recent
    week."""
    count = weekly_totals.size
    if count < TREND_MIN_WEEKS:
        return None
    x = -np.arange(count, dtype=np.float64) - 0.5  # week centres, weeks before as_of
    slope, intercept = np.polyfit(x, weekly_totals, 1)
    if abs(slope) <= 1e-9 * max(abs(float(weekly_totals.mean())), 1e-12) or intercept <= 0.0:
        return None  # flat (up to rounding), or a level at or below zero: no level to move
    residuals = weekly_totals - (intercept + slope * x)
    spread = float(np.sum((x - x.mean()) ** 2))
    error = np.sqrt(float(np.sum(residuals ** 2)) / (count - 2) / spread)
    if error > 0.0 and abs(slope) / error < TREND_MIN_T:
        return None
    past = np.maximum(intercept + slope * x, intercept * 1e-3)
    future = np.maximum(intercept + slope * (np.arange(weeks_ahead) + 0.5), 0.0)
    factors = np.minimum(future[None, :] / past[:, None], TREND_MAX_FACTOR)
    return factors, float(slope / intercept)


@dataclass(frozen=True)
class History:
    """Daily usage per stream over the days before as_of (``daily[stream, day]``, the last
    day just before as_of) and the planned milestones."""

    daily: Floats
    planned: Floats  # (streams, days + 1)


def bootstrap(history: History, days: int, paths: int, rng: np.random.Generator,
              *, trend: bool = True) -> tuple[WeeklyBootstrap, float | None]:
    streams, span = history.daily.shape
    block = 7 if span >= 7 else max(span, 1)
    count = span // block
    if count == 0:
        blocks = np.zeros((1, streams, block))
        count = 1
    else:
        recent = history.daily[:, span - count * block:]
        # blocks[0] is the most recent week: the one that ends at as_of.
        blocks = recent.reshape(streams, count, block).transpose(1, 0, 2)[::-1].copy()
    weeks = days // block + 2
    picks = rng.integers(0, count, size=(weeks, paths))
    factors = None
    change = None
    if trend:
        found = trend_factors(blocks.sum(axis=(1, 2)), weeks)
        if found is not None:
            table, change = found
            factors = table[picks, np.arange(weeks)[:, None]]
    return WeeklyBootstrap(blocks, picks, factors, history.planned), change


def history_of(usages: Sequence[Usage], as_of: datetime, span: int, days: int,
               streams: Sequence[str | None], milestones: Sequence[tuple[datetime, str | None,
                                                                           Decimal]],
               merged: bool) -> History:
    """Daily totals per stream over the ``span`` days before ``as_of`` (negative net days count
    as none) and milestone usage per day ahead."""
    index = {stream: position for position, stream in enumerate(streams)}
    width = 1 if merged else len(streams)
    starts = [as_of - _ONE_DAY * (span - day) for day in range(span + 1)]
    daily = np.zeros((width, span))
    for usage in usages:
        if starts[0] <= usage.at < as_of:
            day = bisect.bisect_right(starts, usage.at) - 1
            daily[0 if merged else index.get(usage.usage_type, 0), day] += float(usage.quantity)
    planned = np.zeros((width, days + 1))
    ahead = [as_of + _ONE_DAY * day for day in range(days)]
    for at, usage_type, quantity in milestones:
        day = bisect.bisect_left(ahead, at)
        if at >= as_of and day < days:
            planned[0 if merged else index.get(usage_type, 0), day] += float(quantity)
    return History(np.maximum(daily, 0.0), planned)
