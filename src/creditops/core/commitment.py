"""Sizing a credit commitment from simulated consumption, and what longer validity is worth.

Input: consumption paths (one per simulated future), each summed over the first 12, 18 and 24
months after the commitment starts. The recommended volume at confidence α is the volume the
paths consume in the first year with probability α: the (1 − α) quantile of first-year
consumption, rounded down to whole packs when a pack size is given.

Lapse of a volume V bought at the start (first-year view: later purchases are not modelled, and
the bought volume is drawn first because it expires first):

- 12-month validity: max(0, V − C12); 18 months: max(0, V − C18); 24 months: max(0, V − C24);
- carry-forward of a share s of what is unused after 12 months into the next 12 months:
  (1 − s) · L12 + max(0, s · L12 − (C24 − C12)), where L12 = max(0, V − C12).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Context, Decimal, localcontext
from enum import StrEnum

from creditops.core.errors import Problem
from creditops.core.numbers import ZERO

_CONTEXT = Context(prec=40)


class Validity(StrEnum):
    MONTHS_12 = "12 months"
    MONTHS_18 = "18 months"
    MONTHS_24 = "24 months"
    CARRY_FORWARD = "12 months + carry-forward"


@dataclass(frozen=True)
class ConsumptionPath:
    first_12_months: Decimal
    first_18_months: Decimal
    first_24_months: Decimal


def quantile(values: Sequence[Decimal], fraction: Decimal) -> Decimal:
    """Linear interpolation between order statistics (numpy's default method)."""
    ordered = sorted(values)
    with localcontext(_CONTEXT):
        position = (len(ordered) - 1) * fraction
        below = int(position.to_integral_value(rounding=ROUND_FLOOR))
        above = min(below + 1, len(ordered) - 1)
        return ordered[below] + (position - below) * (ordered[above] - ordered[below])


def committed_volume(paths: Sequence[ConsumptionPath], confidence: Decimal,
                     pack_size: Decimal | None = None) -> Decimal:
    volume = quantile([path.first_12_months for path in paths], 1 - confidence)
    if pack_size:
        with localcontext(_CONTEXT):
            volume = (volume / pack_size).to_integral_value(rounding=ROUND_FLOOR) * pack_size
    return max(volume, ZERO)


def lapse(volume: Decimal, path: ConsumptionPath, validity: Validity,
          carry_forward_share: Decimal = ZERO) -> Decimal:
    if validity is Validity.MONTHS_18:
        return max(ZERO, volume - path.first_18_months)
    if validity is Validity.MONTHS_24:
        return max(ZERO, volume - path.first_24_months)
    unused = max(ZERO, volume - path.first_12_months)
    if validity is Validity.MONTHS_12:
        return unused
    carried = unused * carry_forward_share
    second_year = path.first_24_months - path.first_12_months
    return unused - carried + max(ZERO, carried - second_year)


def expected_lapse(volume: Decimal, paths: Sequence[ConsumptionPath], validity: Validity,
                   carry_forward_share: Decimal = ZERO) -> Decimal:
    with localcontext(_CONTEXT):
        total = sum((lapse(volume, path, validity, carry_forward_share) for path in paths), ZERO)
        return total / len(paths)


@dataclass(frozen=True)
class LapseOption:
    validity: Validity
    expected_lapse: Decimal
    avoided: Decimal  # against 12-month validity


@dataclass(frozen=True)
class CommitmentSizing:
    confidence: Decimal
    volume: Decimal
    first_year: dict[Decimal, Decimal]  # P10, P50, P90 of first-year consumption
    options: tuple[LapseOption, ...]
    paths: int


PERCENTILES = (Decimal("0.10"), Decimal("0.50"), Decimal("0.90"))


def size_commitment(paths: Sequence[ConsumptionPath], confidence: Decimal,
                    carry_forward_share: Decimal = ZERO,
                    pack_size: Decimal | None = None) -> CommitmentSizing:
    volume = committed_volume(paths, confidence, pack_size)
    base = expected_lapse(volume, paths, Validity.MONTHS_12)
    options = []
    for validity in Validity:
        if validity is Validity.CARRY_FORWARD and not carry_forward_share:
            continue
        expected = expected_lapse(volume, paths, validity, carry_forward_share)
        options.append(LapseOption(validity, expected, base - expected))
    return CommitmentSizing(
        confidence=confidence,
        volume=volume,
        first_year={fraction: quantile([p.first_12_months for p in paths], fraction)
                    for fraction in PERCENTILES},
        options=tuple(options),
        paths=len(paths),
    )


def commitment_problems(confidence: Decimal, carry_forward_share: Decimal,
                        pack_size: Decimal | None) -> list[Problem]:
    found = []
    if not 0 < confidence < 1:
        found.append(Problem("must be between 0 and 1 (0.90 means 90%)", column="--confidence"))
    if not 0 <= carry_forward_share <= 1:
        found.append(Problem("must be between 0 and 1 (0.25 carries a quarter forward)",
                             column="--carry-forward"))
    if pack_size is not None and pack_size <= 0:
        found.append(Problem("must be positive", column="--pack-size"))
    return found
