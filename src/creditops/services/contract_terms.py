"""Contract terms at renewal: the uplift over several terms and the true-up clause checklist."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from creditops.adapters.renewal_files import read_settlements
from creditops.adapters.scenario_file import ScenarioFile, read_scenario
from creditops.core.clauses import (
    ChecklistContext,
    ItemMark,
    attach_exposures,
    clause_exposures,
    propose_marks,
)
from creditops.core.errors import InputError, Problem
from creditops.core.trueup import Clause, month_start, original_contract_value
from creditops.core.trueup_history import HistoryReview, review_history
from creditops.core.uplift import (
    Cap,
    UpliftComparison,
    UpliftPath,
    UpliftTerms,
    compare_caps,
    uplift_problems,
)
from creditops.services.errors import NotFoundError
from creditops.services.renewal import money_text, ratio_text

# --- Uplift --------------------------------------------------------------------------------------

_UPLIFT_OPTIONS = {"licence": "--licence", "uplift": "--uplift", "terms": "--terms",
                   "term_years": "--term-years", "success_plan_pct": "--success-plan-pct",
                   "per_year": "--cap-per-year", "per_renewal": "--cap-per-renewal",
                   "cpi": "--cpi"}


def compare_uplift(terms: UpliftTerms, caps: Sequence[Cap]) -> UpliftComparison:
    """Licence and success plan over every term, without a cap and under each cap given."""
    problems = uplift_problems(terms, caps)
    if problems:
        raise InputError([Problem(problem.reason, column=_UPLIFT_OPTIONS.get(
            problem.column or "", problem.column)) for problem in problems])
    return compare_caps(terms, caps)


def _path_view(comparison: UpliftComparison, path: UpliftPath) -> dict[str, object]:
    return {
        "cap": path.cap.label,
        "licence_total": money_text(path.licence_total),
        "success_plan_total": money_text(path.success_plan_total),
        "total": money_text(path.total),
        "saving_vs_no_cap": money_text(comparison.saving(path)),
        "cumulative_increase": ratio_text(path.cumulative_increase),
        "by_term": [money_text(amount) for amount in path.term_totals()],
        "years": [{
            "year": year.year + 1, "term": year.term + 1,
            "requested": ratio_text(year.requested), "applied": ratio_text(year.applied),
            "licence": money_text(year.licence), "success_plan": money_text(year.success_plan),
            "total": money_text(year.total),
        } for year in path.years],
    }


def uplift_view(comparison: UpliftComparison) -> dict[str, object]:
    terms = comparison.terms
    return {
        "licence": money_text(terms.licence),
        "uplift": format(terms.uplift, "f"),
        "terms": terms.terms,
        "term_years": terms.term_years,
        "success_plan_pct": format(terms.success_plan_pct, "f"),
        "timing": terms.timing.value,
        "paths": [_path_view(comparison, path)
                  for path in (comparison.uncapped, *comparison.capped)],
    }


# --- Clause checklist ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClauseCheck:
    marks: list[ItemMark]
    scenario: ScenarioFile | None
    clause: Clause | None
    text_source: str | None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(Problem("file not found", source=str(path))) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(Problem(f"cannot read the file: {error}", source=str(path))) from None


def check_clauses(*, scenario_path: Path | None = None, text_path: Path | None = None,
                  clause_id: str | None = None, has_history: bool = False) -> ClauseCheck:
    """The seven points and five pitfalls, marked from the clause text (if any) and priced with
    the scenario (if any) under the clause ``clause_id`` (default: the scenario's first)."""
    file = read_scenario(scenario_path) if scenario_path is not None else None
    text = _read_text(text_path) if text_path is not None else None
    clause = None
    if file is not None:
        clauses = {clause.id: clause for clause in file.scenario.clauses}
        if clause_id is not None and clause_id not in clauses:
            raise NotFoundError(f"clause {clause_id!r} is not in {file.source} (it has: "
                                f"{', '.join(clauses)})")
        clause = clauses[clause_id] if clause_id is not None else file.scenario.clauses[0]
    context = ChecklistContext(
        scenario_name=(file.scenario.name or file.source) if file is not None else None,
        has_ramp=file is not None and any(product.ramp for product in file.scenario.products),
        has_history=has_history,
    )
    marks = propose_marks(text, context)
    if file is not None and clause is not None:
        marks = attach_exposures(marks, clause_exposures(file.scenario, clause))
    return ClauseCheck(marks, file, clause,
                       str(text_path) if text_path is not None else None)


def clause_check_view(check: ClauseCheck) -> dict[str, object]:
    return {
        "scenario": check.scenario.source if check.scenario else None,
        "clause": check.clause.id if check.clause else None,
        "text": check.text_source,
        "items": [{
            "key": mark.item.key,
            "kind": mark.item.kind.value,
            "title": mark.item.title,
            "protection": mark.item.protection,
            "mark": mark.mark.value,
            "reason": mark.reason,
            "evidence": [{"rule": e.rule, "sentence": e.sentence} for e in mark.evidence],
            "exposure": None if mark.exposure is None or mark.exposure.amount is None
            else money_text(mark.exposure.amount),
            "exposure_basis": None if mark.exposure is None else mark.exposure.basis,
        } for mark in check.marks],
    }


# --- True-up history -----------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    source: str
    review: HistoryReview
    currency: str


def trueup_history(path: Path, *, original_value: Decimal | None = None,
                   scenario_path: Path | None = None,
                   term_last_day: date | None = None) -> History:
    """Reviews recorded settlements; the original contract value and the term end come from the
    options or, failing those, from a scenario file."""
    settlements = read_settlements(path)
    currency = "USD"
    if scenario_path is not None:
        scenario = read_scenario(scenario_path).scenario
        currency = scenario.currency
        if original_value is None:
            original_value = sum((original_contract_value(product, scenario.term.years)
                                  for product in scenario.products), Decimal(0))
        if term_last_day is None:
            term_last_day = month_start(scenario.term.start, scenario.term.months) - timedelta(1)
    if original_value is not None and original_value < 0:
        raise InputError(Problem("cannot be negative", column="--original-value"))
    return History(str(path), review_history(settlements, original_value, term_last_day),
                   currency)


def history_view(history: History) -> dict[str, object]:
    review = history.review
    pattern = review.pattern
    forecast = review.forecast
    return {
        "source": history.source,
        "currency": history.currency,
        "cumulative_cost": money_text(review.total_cost),
        "original_contract_value": None if review.original_contract_value is None
        else money_text(review.original_contract_value),
        "pct_of_original": ratio_text(review.pct_of_original),
        "premium_over_original_rate": money_text(review.total_premium),
        "products": [{
            "product": product.product,
            "quantity_added": product.quantity_added,
            "licence_months": product.licence_months,
            "cost": money_text(product.cost),
            "at_original_rate": money_text(product.at_original_rate),
            "premium": money_text(product.premium),
            "average_price_paid": None if product.average_price is None
            else money_text(product.average_price),
            "average_original_rate": None if product.average_original_rate is None
            else money_text(product.average_original_rate),
        } for product in review.products],
        "growth_pattern": {
            "pattern": pattern.pattern.value,
            "settlement_dates": pattern.settlements,
            "variation": ratio_text(pattern.variation),
            "largest_share": ratio_text(pattern.largest_share),
            "peak_quarter": pattern.peak_quarter,
            "quarter_shares": [ratio_text(share) for share in pattern.quarter_shares],
        },
        "forecast": {
            "verdict": forecast.verdict.value,
            "forecast": forecast.forecast,
            "actual": forecast.actual,
            "bias": ratio_text(forecast.bias),
            "mean_absolute_error": ratio_text(forecast.mean_absolute_error),
        },
        "disputes": [{
            "date": item.settlement.when.isoformat(),
            "product": item.settlement.product,
            "cost": money_text(item.cost),
            "note": item.settlement.note,
        } for item in review.disputed],
        "cumulative": [{"date": when.isoformat(), "cost": money_text(cost)}
                       for when, cost in review.cumulative()],
        "settlements": [{
            "date": item.settlement.when.isoformat(),
            "product": item.settlement.product,
            "quantity_added": item.settlement.quantity_added,
            "price_paid": format(item.settlement.price_paid, "f"),
            "original_rate": format(item.settlement.original_rate, "f"),
            "months": item.months,
            "cost": money_text(item.cost),
            "premium": money_text(item.premium),
            "forecast_quantity": item.settlement.forecast_quantity,
            "disputed": item.settlement.disputed,
            "note": item.settlement.note,
        } for item in review.settlements],
    }
