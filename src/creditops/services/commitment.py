"""Commitment sizing: how much to commit for the next year from a pilot's daily consumption."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from creditops.adapters.renewal_files import read_daily_usage
from creditops.adapters.simulation_commitment import bootstrap_consumption
from creditops.core.commitment import (
    CommitmentSizing,
    commitment_problems,
    size_commitment,
)
from creditops.core.errors import InputError, Problem
from creditops.core.numbers import ZERO
from creditops.services.renewal import money_text

CONFIDENCE_LEVELS = (Decimal("0.50"), Decimal("0.80"), Decimal("0.90"), Decimal("0.95"))
MIN_PILOT_DAYS = 7


@dataclass(frozen=True)
class Pilot:
    first_day: date
    last_day: date
    days: int
    total: Decimal

    @property
    def daily_mean(self) -> Decimal:
        return self.total / self.days


@dataclass(frozen=True)
class CommitmentReport:
    pilot: Pilot
    sizing: CommitmentSizing
    by_confidence: tuple[CommitmentSizing, ...]
    unit_value: Decimal | None
    pack_size: Decimal | None
    carry_forward_share: Decimal
    annual_growth: Decimal
    seed: int


def pilot_window(daily_usage: Sequence[tuple[date, Decimal]],
                 pilot_days: int) -> tuple[Pilot, list[Decimal]]:
    """The last ``pilot_days`` days of usage; days without a record count as zero."""
    by_day = dict(daily_usage)
    last = max(by_day)
    first = max(min(by_day), last - timedelta(days=pilot_days - 1))
    days = [by_day.get(first + timedelta(days=offset), ZERO)
            for offset in range((last - first).days + 1)]
    return Pilot(first, last, len(days), sum(days, ZERO)), days


def size_from_usage(daily_usage: Sequence[tuple[date, Decimal]], *, pilot_days: int = 90,
                    confidence: Decimal = Decimal("0.90"), paths: int = 10_000, seed: int = 1,
                    carry_forward_share: Decimal = ZERO, pack_size: Decimal | None = None,
                    unit_value: Decimal | None = None, annual_growth: Decimal = ZERO,
                    block_days: int = 7) -> CommitmentReport:
    """Recommended first-year commitment from daily usage (any source: a CSV today, a pool's
    usage from the workspace), with the expected lapse under each validity option."""
    problems = commitment_problems(confidence, carry_forward_share, pack_size)
    if not daily_usage:
        problems.append(Problem("no usage to size a commitment from"))
    if problems:
        raise InputError(problems)
    pilot, days = pilot_window(daily_usage, pilot_days)
    if pilot.days < MIN_PILOT_DAYS:
        raise InputError(Problem(f"the pilot covers {pilot.days} days; at least "
                                 f"{MIN_PILOT_DAYS} are needed", column="--pilot-days"))
    simulated = bootstrap_consumption(days, paths=paths, seed=seed, block_days=block_days,
                                      annual_growth=annual_growth)
    sizing = size_commitment(simulated, confidence, carry_forward_share, pack_size)
    table = tuple(size_commitment(simulated, level, carry_forward_share, pack_size)
                  for level in CONFIDENCE_LEVELS if level != confidence)
    return CommitmentReport(pilot, sizing, tuple(sorted((*table, sizing),
                                                        key=lambda s: s.confidence)),
                            unit_value, pack_size, carry_forward_share, annual_growth, seed)


def usage_from_csv(path: Path) -> list[tuple[date, Decimal]]:
    """Daily usage from a CSV of date, quantity."""
    return read_daily_usage(path)


def _quantity(value: Decimal) -> str:
    return format(value.quantize(Decimal(1)) if value == value.to_integral_value()
                  else value.quantize(Decimal("0.01")), "f")


def commitment_view(report: CommitmentReport) -> dict[str, object]:
    def sizing_view(sizing: CommitmentSizing) -> dict[str, object]:
        return {
            "confidence": format(sizing.confidence, "f"),
            "volume": _quantity(sizing.volume),
            "value": None if report.unit_value is None
            else money_text(sizing.volume * report.unit_value),
            "lapse": [{
                "validity": option.validity.value,
                "expected_lapse": _quantity(option.expected_lapse),
                "avoided": _quantity(option.avoided),
                "avoided_value": None if report.unit_value is None
                else money_text(option.avoided * report.unit_value),
            } for option in sizing.options],
        }

    pilot = report.pilot
    return {
        "pilot": {"first_day": pilot.first_day.isoformat(), "last_day": pilot.last_day.isoformat(),
                  "days": pilot.days, "total": _quantity(pilot.total),
                  "daily_mean": _quantity(pilot.daily_mean)},
        "paths": report.sizing.paths,
        "seed": report.seed,
        "annual_growth": format(report.annual_growth, "f"),
        "carry_forward_share": format(report.carry_forward_share, "f"),
        "pack_size": None if report.pack_size is None else format(report.pack_size, "f"),
        "first_year_consumption": {f"p{int(fraction * 100)}": _quantity(value)
                                   for fraction, value in report.sizing.first_year.items()},
        "recommended": sizing_view(report.sizing),
        "by_confidence": [sizing_view(sizing) for sizing in report.by_confidence],
    }
