"""The renewal brief as plain data, and the asks that follow from it.

Every section is optional: the brief is built from what is known (a scenario alone, or the
workspace's pools and grants as well). Money is exact; renderers round at output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Context, Decimal, localcontext
from enum import StrEnum

from creditops.core.numbers import ZERO

_CONTEXT = Context(prec=40)
LOW_UTILISATION = Decimal("0.5")  # below half used, ask for price rather than more of it
MATERIAL_FORECAST_GAP = Decimal("0.10")


class IncentiveStatus(StrEnum):
    LAPSED = "lapsed"  # expired with units unused
    UNUSED = "unused"  # still valid, units remaining at the brief's date


@dataclass(frozen=True)
class IncentiveLine:
    """One grant with units left over: from the ledger."""

    pool: str
    kind: str
    unit: str
    grant: str
    quantity: Decimal  # units unused (lapsed, or remaining)
    value: Decimal | None  # in the brief's currency
    effective: date | None
    expires: date | None
    status: IncentiveStatus


@dataclass(frozen=True)
class UtilisationLine:
    """Per kind over the term: what was granted, consumed and lost."""

    kind: str
    unit: str
    granted: Decimal
    consumed: Decimal
    lapsed: Decimal
    value_granted: Decimal | None = None
    value_lapsed: Decimal | None = None

    @property
    def utilisation(self) -> Decimal | None:
        if self.granted == 0:
            return None
        with localcontext(_CONTEXT):
            return self.consumed / self.granted


@dataclass(frozen=True)
class OutcomeLine:
    pool: str
    metric: str
    before: str
    after: str
    note: str = ""


@dataclass(frozen=True)
class SuccessPlanUse:
    plan: str
    annual_cost: Decimal | None = None
    entitled: Decimal | None = None  # sessions, hours or Accelerators in the period
    used: Decimal | None = None
    cases: int | None = None
    severity_1_cases: int | None = None
    note: str = ""

    @property
    def utilisation(self) -> Decimal | None:
        if not self.entitled or self.used is None:
            return None
        with localcontext(_CONTEXT):
            return self.used / self.entitled


@dataclass(frozen=True)
class ClauseCost:
    clause: str
    name: str
    total: Decimal
    by_year: tuple[Decimal, ...]
    pct_of_original: Decimal | None
    effective_discount: Decimal | None
    p10: Decimal | None = None
    p50: Decimal | None = None
    p90: Decimal | None = None


@dataclass(frozen=True)
class TrueUpExposure:
    scenario: str
    original_contract_value: Decimal
    clauses: tuple[ClauseCost, ...]
    best: str
    worst: str
    spread: Decimal
    licences_added: int


@dataclass(frozen=True)
class UpliftLine:
    cap: str
    total: Decimal
    by_term: tuple[Decimal, ...]
    saving: Decimal


@dataclass(frozen=True)
class UpliftExposure:
    licence: Decimal
    uplift: Decimal
    terms: int
    term_years: int
    success_plan_pct: Decimal
    lines: tuple[UpliftLine, ...]  # the first is without a cap


@dataclass(frozen=True)
class HistorySummary:
    total_cost: Decimal
    pct_of_original: Decimal | None
    premium: Decimal
    pattern: str
    forecast_verdict: str
    forecast_bias: Decimal | None
    disputes: int
    cumulative: tuple[tuple[date, Decimal], ...] = ()


@dataclass(frozen=True)
class ClauseGap:
    item: str
    kind: str
    mark: str
    exposure: Decimal | None
    basis: str
    quote: str = ""


@dataclass(frozen=True)
class Ask:
    title: str
    rationale: str
    amount: Decimal | None = None


@dataclass(frozen=True)
class RenewalBrief:
    title: str
    currency: str
    as_of: date
    contract: str = ""
    incentives: tuple[IncentiveLine, ...] = ()
    utilisation: tuple[UtilisationLine, ...] = ()
    outcomes: tuple[OutcomeLine, ...] = ()
    success_plan: SuccessPlanUse | None = None
    trueup: TrueUpExposure | None = None
    history: HistorySummary | None = None
    uplift: UpliftExposure | None = None
    clause_gaps: tuple[ClauseGap, ...] = ()
    asks: tuple[Ask, ...] = field(default=())

    def with_asks(self) -> RenewalBrief:
        return replace(self, asks=derive_asks(self))

    def incentive_total(self, status: IncentiveStatus) -> Decimal:
        return sum((line.value or ZERO for line in self.incentives if line.status is status),
                   ZERO)


def _sum_known(values: Sequence[Decimal | None]) -> Decimal | None:
    known = [value for value in values if value is not None]
    return sum(known, ZERO) if known else None


def derive_asks(brief: RenewalBrief) -> tuple[Ask, ...]:
    """The negotiation asks the data supports, the largest amounts first."""
    asks = []
    lapsed = [line for line in brief.incentives if line.status is IncentiveStatus.LAPSED]
    unused = [line for line in brief.incentives if line.status is IncentiveStatus.UNUSED]
    if lapsed:
        asks.append(Ask("Credit or carry over lapsed incentives",
                        f"{len(lapsed)} grant(s) expired with units unused; ask for carry-over, "
                        "an equivalent credit, or a swap for something of equal value.",
                        _sum_known([line.value for line in lapsed])))
    if unused:
        asks.append(Ask("Extend or carry over unused incentives",
                        f"{len(unused)} grant(s) still hold units; ask for an extension into the "
                        "next term instead of new credits, and 18- or 24-month validity.",
                        _sum_known([line.value for line in unused])))
    for line in brief.utilisation:
        share = line.utilisation
        if share is not None and share < LOW_UTILISATION:
            asks.append(Ask(f"Price instead of more {line.kind}",
                            f"only {share * 100:.0f}% of {line.kind} was used; ask for a lower "
                            "price rather than a larger allowance.", line.value_lapsed))
    asks += _contract_asks(brief)
    plan = brief.success_plan
    if plan is not None and plan.utilisation is not None and plan.utilisation < LOW_UTILISATION:
        asks.append(Ask(f"Lower the {plan.plan} price or swap entitlements",
                        f"{plan.utilisation * 100:.0f}% of the plan's entitlements were used.",
                        plan.annual_cost))
    return tuple(sorted(asks, key=lambda ask: (ask.amount is None, -(ask.amount or ZERO))))


def _contract_asks(brief: RenewalBrief) -> list[Ask]:
    asks = []
    trueup = brief.trueup
    if trueup is not None and trueup.spread > 0:
        asks.append(Ask(f"True-up adds on clause {trueup.best} terms",
                        f"clause {trueup.worst} costs {trueup.spread:,.2f} more over the term "
                        f"for {trueup.licences_added} added licences in scenario "
                        f"'{trueup.scenario}'.", trueup.spread))
    history = brief.history
    if history is not None and history.premium > 0:
        asks.append(Ask("Recognise the true-up premium paid",
                        "adds this term were billed above the original rate; use it to anchor "
                        "next term's adds on the original rate.", history.premium))
    if history is not None and history.forecast_bias is not None and (
            abs(history.forecast_bias) > MATERIAL_FORECAST_GAP):
        direction = "below" if history.forecast_bias < 0 else "above"
        asks.append(Ask("Size the commitment on actual growth",
                        f"actual adds came in {abs(history.forecast_bias) * 100:.0f}% "
                        f"{direction} the forecast ({history.forecast_verdict})."))
    uplift = brief.uplift
    if uplift is not None and len(uplift.lines) > 1:
        best = max(uplift.lines[1:], key=lambda line: line.saving)
        if best.saving > 0:
            asks.append(Ask(f"Cap the renewal uplift ({best.cap})",
                            f"against a {uplift.uplift * 100:.0f}% uplift over {uplift.terms} "
                            "terms, licence and success plan together.", best.saving))
    priced = [gap for gap in brief.clause_gaps if gap.exposure]
    if priced:
        largest = max(priced, key=lambda gap: gap.exposure or ZERO)
        asks.append(Ask("Close the true-up clause gaps",
                        f"{len(brief.clause_gaps)} checklist item(s) missing or unclear; the "
                        f"largest priced one is '{largest.item}' ({largest.basis}).",
                        largest.exposure))
    return asks
