"""The renewal brief: gathers what is known (scenario, settlements, clause text, and the
workspace's pools when given) into one plain structure, then renders it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path

from creditops.adapters import renewal_brief as renderer
from creditops.adapters.scenario_file import ScenarioFile, read_scenario
from creditops.core.clauses import Mark
from creditops.core.renewal_brief import (
    ClauseCost,
    ClauseGap,
    HistorySummary,
    IncentiveLine,
    OutcomeLine,
    RenewalBrief,
    SuccessPlanUse,
    TrueUpExposure,
    UpliftExposure,
    UpliftLine,
    UtilisationLine,
)
from creditops.core.trueup import model_scenario
from creditops.core.uplift import compare_caps
from creditops.services.contract_terms import check_clauses, trueup_history
from creditops.services.renewal import simulate_file


class BriefFormat(StrEnum):
    HTML = "html"
    PDF = "pdf"
    XLSX = "xlsx"


@dataclass(frozen=True)
class LedgerRenewalInputs:
    """What the workspace contributes to a brief: grants with units left over, utilisation by
    kind over the term, outcomes, and success-plan use. Everything is optional."""

    contract: str = ""
    currency: str | None = None
    incentives: Sequence[IncentiveLine] = ()
    utilisation: Sequence[UtilisationLine] = ()
    outcomes: Sequence[OutcomeLine] = ()
    success_plan: SuccessPlanUse | None = None


def _trueup_exposure(file: ScenarioFile, simulation_paths: int | None) -> TrueUpExposure:
    result = model_scenario(file.scenario)
    uncertain = any(p.growth.uncertainty is not None for p in file.scenario.products)
    percentiles = {}
    if uncertain and simulation_paths != 0:
        simulation = simulate_file(file, simulation_paths)
        percentiles = {c.clause.id: tuple(c.total.percentiles.values())
                       for c in simulation.clauses}
    clauses = []
    for clause in result.clauses:
        figures = clause.figures
        p10, p50, p90 = percentiles.get(clause.clause.id, (None, None, None))
        clauses.append(ClauseCost(
            clause=clause.clause.id, name=clause.clause.name, total=figures.trueup_total,
            by_year=figures.trueup_by_year, pct_of_original=figures.trueup_pct_of_original,
            effective_discount=figures.effective_discount, p10=p10, p50=p50, p90=p90))
    return TrueUpExposure(
        scenario=file.scenario.name or file.source,
        original_contract_value=result.best.figures.original_contract_value,
        clauses=tuple(clauses), best=result.best.clause.id, worst=result.worst.clause.id,
        spread=result.spread, licences_added=result.worst.figures.licences_added)


def _uplift_exposure(file: ScenarioFile) -> UpliftExposure | None:
    if file.uplift is None:
        return None
    comparison = compare_caps(file.uplift, file.caps)
    return UpliftExposure(
        licence=file.uplift.licence, uplift=file.uplift.uplift, terms=file.uplift.terms,
        term_years=file.uplift.term_years, success_plan_pct=file.uplift.success_plan_pct,
        lines=tuple(UpliftLine(path.cap.label, path.total, path.term_totals(),
                               comparison.saving(path))
                    for path in (comparison.uncapped, *comparison.capped)))


def build_brief(*, as_of: date, scenario_path: Path | None = None,
                history_path: Path | None = None, text_path: Path | None = None,
                clause_id: str | None = None, simulation_paths: int | None = None,
                ledger: LedgerRenewalInputs | None = None) -> RenewalBrief:
    """The brief with its asks. ``simulation_paths`` = 0 skips the Monte Carlo percentiles."""
    ledger = ledger or LedgerRenewalInputs()
    file = read_scenario(scenario_path) if scenario_path is not None else None
    history = None
    if history_path is not None:
        review = trueup_history(history_path, scenario_path=scenario_path).review
        history = HistorySummary(
            total_cost=review.total_cost, pct_of_original=review.pct_of_original,
            premium=review.total_premium, pattern=review.pattern.pattern.value,
            forecast_verdict=review.forecast.verdict.value, forecast_bias=review.forecast.bias,
            disputes=len(review.disputed), cumulative=tuple(review.cumulative()))
    gaps: tuple[ClauseGap, ...] = ()
    if text_path is not None:
        check = check_clauses(scenario_path=scenario_path, text_path=text_path,
                              clause_id=clause_id, has_history=history_path is not None)
        gaps = tuple(ClauseGap(
            item=mark.item.title, kind=mark.item.kind.value, mark=mark.mark.value,
            exposure=mark.exposure.amount if mark.exposure else None,
            basis=mark.exposure.basis if mark.exposure else mark.reason,
            quote=mark.evidence[0].sentence if mark.evidence else "")
            for mark in check.marks if mark.mark is not Mark.PRESENT)
    name = (file.scenario.name if file else "") or ledger.contract
    brief = RenewalBrief(
        title=f"Renewal brief: {name}" if name else "Renewal brief",
        currency=ledger.currency or (file.scenario.currency if file else "USD"),
        as_of=as_of,
        contract=ledger.contract,
        incentives=tuple(ledger.incentives),
        utilisation=tuple(ledger.utilisation),
        outcomes=tuple(ledger.outcomes),
        success_plan=ledger.success_plan,
        trueup=_trueup_exposure(file, simulation_paths) if file else None,
        history=history,
        uplift=_uplift_exposure(file) if file else None,
        clause_gaps=gaps,
    )
    return brief.with_asks()


def write_brief(brief: RenewalBrief, output_format: BriefFormat, out: Path) -> None:
    if output_format is BriefFormat.HTML:
        renderer.write_html(brief, out)
    elif output_format is BriefFormat.PDF:
        renderer.write_pdf(brief, out)
    else:
        renderer.write_xlsx(brief, out)
