"""The quarterly governance review (PRODUCT.md §4): value used and lapsed by kind, value at
risk, alerts, plan progress and outcomes, for one period."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from creditops.core.numbers import ZERO, normalize, round_money, round_to


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date  # exclusive: the day after the last day


def parse_period(text: str) -> Period:
    """A quarter (``2026Q3``, ``2026-Q3``), a half year (``2026H1``) or a year (``2026``)."""
    cleaned = text.strip().upper().replace("-", "")
    quarter = re.fullmatch(r"(\d{4})Q([1-4])", cleaned)
    half = re.fullmatch(r"(\d{4})H([12])", cleaned)
    year = re.fullmatch(r"(\d{4})", cleaned)
    if quarter:
        number, index, months = int(quarter.group(1)), int(quarter.group(2)), 3
        label = f"{number}-Q{index}"
    elif half:
        number, index, months = int(half.group(1)), int(half.group(2)), 6
        label = f"{number}-H{index}"
    elif year:
        number, index, months = int(year.group(1)), 1, 12
        label = str(number)
    else:
        raise ValueError(f"{text!r} is not a period; expected a quarter such as 2026Q3, a half "
                         "year such as 2026H1, or a year such as 2026")
    first_month = (index - 1) * months + 1
    last = first_month + months
    end = date(number + 1, 1, 1) if last > 12 else date(number, last, 1)
    return Period(label, date(number, first_month, 1), end)


def quarter_of(day: date) -> Period:
    return parse_period(f"{day.year}Q{(day.month - 1) // 3 + 1}")


@dataclass(frozen=True)
class PoolPeriod:
    """What one pool did over the period and the year to date, in units and money."""

    pool_id: str
    name: str | None
    kind: str
    unit: str
    unit_value: Decimal
    consumed: Decimal
    lapsed: Decimal
    consumed_ytd: Decimal
    lapsed_ytd: Decimal
    remaining: Decimal
    at_risk: Decimal  # units of at-risk grants projected to lapse
    overage_value: Decimal
    status: str


@dataclass(frozen=True)
class KindSummary:
    kind: str
    pools: int
    used_value: Decimal
    lapsed_value: Decimal
    used_value_ytd: Decimal
    lapsed_value_ytd: Decimal
    remaining_value: Decimal
    at_risk_value: Decimal
    overage_value: Decimal


def summarise_kinds(rows: Iterable[PoolPeriod]) -> list[KindSummary]:
    """Money by kind (rounded to cents after summing), kinds in alphabetical order."""
    by_kind: dict[str, list[PoolPeriod]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)

    def total(items: list[PoolPeriod], quantity: str) -> Decimal:
        return round_money(sum((getattr(r, quantity) * r.unit_value for r in items), ZERO))

    return [
        KindSummary(
            kind=kind, pools=len(items),
            used_value=total(items, "consumed"), lapsed_value=total(items, "lapsed"),
            used_value_ytd=total(items, "consumed_ytd"),
            lapsed_value_ytd=total(items, "lapsed_ytd"),
            remaining_value=total(items, "remaining"), at_risk_value=total(items, "at_risk"),
            overage_value=round_money(sum((r.overage_value for r in items), ZERO)),
        )
        for kind, items in sorted(by_kind.items())
    ]


def total_kinds(kinds: Sequence[KindSummary]) -> KindSummary:
    def add(name: str) -> Decimal:
        return sum((getattr(k, name) for k in kinds), ZERO)

    return KindSummary("total", sum(k.pools for k in kinds), add("used_value"),
                       add("lapsed_value"), add("used_value_ytd"), add("lapsed_value_ytd"),
                       add("remaining_value"), add("at_risk_value"), add("overage_value"))


@dataclass(frozen=True)
class Outcome:
    metric: str
    unit: str | None
    before: Decimal | None
    after: Decimal | None
    before_day: date | None
    after_day: date | None
    value_used: Decimal | None
    pool_id: str | None
    grant_id: str | None
    note: str | None = None

    @property
    def change(self) -> Decimal | None:
        """after − before relative to before (0.2 = +20%); none without both or from 0."""
        if self.before is None or self.after is None or self.before == ZERO:
            return None
        return normalize(round_to((self.after - self.before) / abs(self.before), 4))


def outcome_headline(outcome: Outcome, source: str, currency: str) -> str:
    """``USD 50,000.00 of success-fund → adoption +20%`` — value used, where from, result."""
    spent = f"{currency} {round_money(outcome.value_used):,.2f} of {source}" \
        if outcome.value_used is not None else source
    suffix = "%" if outcome.unit == "%" else f" {outcome.unit}" if outcome.unit else ""
    if outcome.change is not None:
        result = f"{outcome.metric} {normalize(round_to(outcome.change * 100, 1)):+f}%"
    elif outcome.before is not None and outcome.after is not None:
        result = f"{outcome.metric} {normalize(outcome.after - outcome.before):+f}{suffix}"
    elif outcome.after is not None:
        result = f"{outcome.metric} {normalize(outcome.after):f}{suffix}"
    else:
        result = outcome.metric
    return f"{spent} → {result}"


@dataclass(frozen=True)
class RiskLine:
    pool_id: str
    grant_id: str
    last_day: date | None
    projected: Decimal
    projected_pct: Decimal
    value: Decimal
    owner: str | None


@dataclass(frozen=True)
class PlanLine:
    pool_id: str
    planned_to_date: Decimal
    actual_to_date: Decimal
    behind_pct: Decimal | None
    coverage: Decimal | None
    front_loading: Decimal | None
    next_milestone: str | None


@dataclass(frozen=True)
class AlertLine:
    id: int
    raised: datetime
    rule: str
    subject: str
    title: str
    state: str


@dataclass(frozen=True)
class GovernanceReport:
    title: str
    currency: str
    period: Period
    as_of: datetime
    kinds: tuple[KindSummary, ...]
    total: KindSummary
    pools: tuple[PoolPeriod, ...]
    at_risk: tuple[RiskLine, ...]
    alerts_by_rule: dict[str, int]
    open_alerts: tuple[AlertLine, ...]
    plans: tuple[PlanLine, ...]
    outcomes: tuple[tuple[Outcome, str], ...]  # with its headline

    @property
    def headline(self) -> str:
        return (f"{self.currency} {self.total.used_value_ytd:,.2f} of credits and incentives "
                f"used this year ({self.currency} {self.total.used_value:,.2f} in "
                f"{self.period.label}); {self.currency} {self.total.lapsed_value_ytd:,.2f} "
                f"lapsed this year; {self.currency} {self.total.at_risk_value:,.2f} at risk "
                "of lapsing.")
