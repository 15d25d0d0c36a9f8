"""Future consumption from a pilot, by moving-block bootstrap of its daily usage.

Blocks of consecutive pilot days (a week by default, so weekday patterns survive) are drawn with
replacement and laid end to end for two years; an optional annual growth rate scales day t by
(1 + g)^(t / 365). Sums over the first 12, 18 and 24 months come back as decimals rounded to
``places`` decimal places: the only floats are inside the simulation.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from creditops.core.commitment import ConsumptionPath
from creditops.core.numbers import round_to

DAYS_12 = 365
DAYS_18 = 548
DAYS_24 = 730
_CHUNK = 2_000


def bootstrap_consumption(daily: Sequence[Decimal], *, paths: int, seed: int,
                          block_days: int = 7, annual_growth: Decimal = Decimal(0),
                          places: int = 6) -> list[ConsumptionPath]:
    usage = np.array([float(value) for value in daily], dtype=np.float64)
    block = max(1, min(block_days, usage.size))
    starts_available = usage.size - block + 1
    blocks = -(-DAYS_24 // block)
    growth = (1 + float(annual_growth)) ** (np.arange(DAYS_24) / DAYS_12)
    offsets = np.arange(block)
    rng = np.random.default_rng(seed)
    sums = []
    for first in range(0, paths, _CHUNK):
        count = min(_CHUNK, paths - first)
        starts = rng.integers(0, starts_available, size=(count, blocks))
        days = (starts[:, :, None] + offsets).reshape(count, -1)[:, :DAYS_24]
        cumulative = np.cumsum(usage[days] * growth, axis=1)
        sums.append(cumulative[:, [DAYS_12 - 1, DAYS_18 - 1, DAYS_24 - 1]])
    totals = np.concatenate(sums)
    return [ConsumptionPath(*(round_to(Decimal(repr(float(value))), places) for value in row))
            for row in totals]
