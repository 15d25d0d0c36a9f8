"""Utilisation plans, acceleration, outcomes, the quarterly governance review that reports on
them, and the calendar export: `creditops plan`, `accelerate`, `outcome`, `report governance`
and `calendar`.

The services (and with them SQLAlchemy, openpyxl, jinja2, icalendar) are imported inside the
commands, so that `creditops --help` stays quick.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from creditops.cli.ledger import AsOfOption, DbOption, JsonOption
from creditops.cli.monitoring import day, last_day, money, open_workspace, pct, qty
from creditops.cli.output import console, decimal_option, print_json, print_table
from creditops.core.errors import InputError, Problem
from creditops.core.numbers import round_to

plan_app = typer.Typer(help="Utilisation plans: milestones, coverage, plan-vs-actual.",
                       no_args_is_help=True)
outcome_app = typer.Typer(help="Outcomes: before/after metrics tied to pools, grants, "
                          "milestones.", no_args_is_help=True)
calendar_app = typer.Typer(help="Calendar export (iCalendar).", no_args_is_help=True)


def register(app: typer.Typer, report: typer.Typer) -> None:
    """Adds this module's commands to the main app and the `report` group."""
    app.add_typer(plan_app, name="plan")
    plan_app.command("show")(plan_show)
    plan_app.command("import")(plan_import)
    app.command("accelerate")(accelerate)
    app.add_typer(outcome_app, name="outcome")
    outcome_app.command("add")(outcome_add)
    outcome_app.command("list")(outcome_list)
    app.add_typer(calendar_app, name="calendar")
    calendar_app.command("export")(calendar_export)
    report.command("governance")(governance)


# -- plans and acceleration -----------------------------------------------------------------------

def plan_show(
    pool: Annotated[str | None, typer.Argument(help="Pool id: its milestones one by one.")]
    = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Plan coverage (planned ahead ÷ remaining), front-loading (share planned in the first
    half of the grant's life) and plan-vs-actual per pool."""
    from creditops.services.plans import workspace_plans

    workspace = open_workspace(db)
    views = workspace_plans(workspace, as_of, pool_id=pool)
    workspace.close()
    if as_json:
        print_json([{
            "pool": v.pool.id, "remaining": v.remaining, "plan_coverage": v.coverage,
            "front_loading": v.front_loading,
            "planned_to_date": v.progress.planned_to_date if v.progress else None,
            "actual_to_date": v.progress.actual_to_date if v.progress else None,
            "behind_pct": v.progress.behind_pct if v.progress else None,
            "plan_start": v.progress.start if v.progress else None,
            "milestones": [{"id": m.milestone.id, "date": day(m.milestone.at),
                            "quantity": m.milestone.quantity,
                            "description": m.milestone.description,
                            "owner": m.milestone.owner, "project": m.milestone.project,
                            "planned_cumulative": m.planned_cumulative,
                            "actual_cumulative": m.actual_cumulative}
                           for m in (v.progress.milestones if v.progress else ())],
        } for v in views])
        return
    print_table("Utilisation plans", ["pool", "milestones", "remaining", "coverage",
                                      "front-loading", "planned to date", "actual to date",
                                      "behind"],
                [[v.pool.id, len(v.milestones), f"{qty(v.remaining)} {v.pool.unit}",
                  pct(v.coverage), pct(v.front_loading),
                  qty(v.progress.planned_to_date) if v.progress else "—",
                  qty(v.progress.actual_to_date) if v.progress else "—",
                  pct(v.progress.behind_pct) if v.progress else "—"] for v in views])
    if pool and views and views[0].progress:
        progress = views[0].progress
        print_table(f"Plan of {pool} since {day(progress.start)}",
                    ["date", "planned", "description", "owner", "project",
                     "cumulative plan", "cumulative actual"],
                    [[day(m.milestone.at), qty(m.milestone.quantity), m.milestone.description,
                      m.milestone.owner, m.milestone.project, qty(m.planned_cumulative),
                      qty(m.actual_cumulative)] for m in progress.milestones])


def plan_import(file: Annotated[Path, typer.Argument(help="Milestones CSV: pool, date, "
                                                     "quantity; optional description, owner, "
                                                     "project, usage_type, id.")],
                db: DbOption = None) -> None:
    """Load milestones from a CSV (the plan of the pools it names). Recorded as an import
    that `creditops imports rollback` undoes."""
    from creditops.services.plans import import_plan

    workspace = open_workspace(db)
    summary = import_plan(workspace, file)
    workspace.close()
    console.print(f"plan {file.name} (import {summary.import_id}): {summary.created} created, "
                  f"{summary.updated} updated, {summary.unchanged} unchanged, "
                  f"{summary.deleted} removed", highlight=False)


def accelerate(
    grant: Annotated[str, typer.Argument(help="Grant id.")],
    as_of: AsOfOption = None,
    buffer_days: Annotated[int, typer.Option("--buffer-days", help="Finish this many days "
                                             "before the expiry.")] = 30,
    adopt: Annotated[bool, typer.Option("--adopt", help="Record the plan: later runs track "
                                        "actual consumption against it from today.")] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The acceleration plan of an at-risk grant: the run-rate needed to use it fully before
    its expiry (minus a buffer), the gap to the current run-rate, candidate uses from the
    plan, and a weekly tracking table."""
    from creditops.services.plans import accelerate as service

    workspace = open_workspace(db)
    view = service(workspace, grant, as_of, buffer_days=buffer_days, adopt=adopt)
    workspace.close()
    plan = view.plan
    unit = view.pool.unit
    if as_json:
        print_json({"pool": view.pool.id, "grant": plan.grant_id, "status": view.grant.status,
                    "projected_unconsumed": view.grant.projected_unconsumed,
                    "adopted": view.adopted, **{k: v for k, v in plan.__dict__.items()
                                                 if k != "weeks"},
                    "weeks": plan.weeks,
                    "candidates": [{"id": m.id, "date": day(m.at), "quantity": m.quantity,
                                    "description": m.description, "owner": m.owner,
                                    "project": m.project} for m in view.candidates]})
        return
    console.print(
        f"[bold]{plan.grant_id}[/] ({view.pool.id}): {view.grant.status}, "
        f"{qty(view.grant.remaining)} {unit} left, last day {last_day(plan.expires)}; "
        f"projected to lapse {qty(view.grant.projected_unconsumed)} "
        f"({pct(view.grant.projected_unconsumed_pct)})", highlight=False)
    buffer = f"{plan.buffer_days} days before the expiry" if plan.buffer_kept else \
        "by the expiry (closer than the buffer)"
    console.print(
        f"to use {qty(plan.to_consume)} {unit}"
        + (f" (with {qty(plan.ahead_in_burn_order)} of grants that burn first)"
           if plan.ahead_in_burn_order else "")
        + f" {buffer}, by the end of {last_day(plan.target)}: {qty(plan.needed_rate)} "
        f"{unit}/day needed, "
        f"current {qty(plan.current_rate)}/day, gap {qty(plan.gap)}/day"
        + (f" (×{qty(round_to(plan.multiplier, 2))})" if plan.multiplier else ""),
        highlight=False)
    if view.candidates:
        print_table("Candidate uses: milestones still ahead in the plan",
                    ["date", "quantity", "description", "owner", "project"],
                    [[day(m.at), qty(m.quantity), m.description, m.owner, m.project]
                     for m in view.candidates])
    else:
        console.print("no milestones ahead: add candidate uses with `creditops plan import`",
                      highlight=False)
    print_table(f"Weekly tracking from {day(plan.started)}"
                + (" (adopted plan)" if view.adopted else ""),
                ["week from", "to (last day)", "target cumulative", "actual cumulative",
                 "on track"],
                [[day(w.start), last_day(w.end), qty(round_to(w.target_cumulative, 2)),
                  qty(w.actual_cumulative),
                  "—" if w.on_track is None else ("yes" if w.on_track else "NO")]
                 for w in plan.weeks])


# -- outcomes -------------------------------------------------------------------------------------

def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(Problem(f"{text!r} is not a date (YYYY-MM-DD)", column=option)
                         ) from None


def outcome_add(
    metric: Annotated[str, typer.Option("--metric", help="What was measured, e.g. "
                                        "'user adoption'.")],
    pool: Annotated[str | None, typer.Option("--pool")] = None,
    grant: Annotated[str | None, typer.Option("--grant")] = None,
    milestone: Annotated[str | None, typer.Option("--milestone")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="e.g. %, tickets/month")] = None,
    before: Annotated[str | None, typer.Option("--before")] = None,
    after: Annotated[str | None, typer.Option("--after")] = None,
    before_date: Annotated[str | None, typer.Option("--before-date")] = None,
    after_date: Annotated[str | None, typer.Option("--after-date")] = None,
    value_used: Annotated[str | None, typer.Option("--value-used", help="Value of credits or "
                                                   "incentives used for it.")] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    db: DbOption = None,
) -> None:
    """Record a before/after outcome tied to a pool, a grant or a milestone."""
    from creditops.services.governance import outcome_from_row
    from creditops.services.plans import OutcomeInput, add_outcome

    data = OutcomeInput(metric=metric, pool_id=pool, grant_id=grant, milestone_id=milestone,
                        unit=unit, before=decimal_option(before, "--before"),
                        after=decimal_option(after, "--after"),
                        before_day=_date(before_date, "--before-date"),
                        after_day=_date(after_date, "--after-date"),
                        value_used=decimal_option(value_used, "--value-used"), note=note)
    workspace = open_workspace(db)
    row = add_outcome(workspace, data)
    workspace.close()
    change = outcome_from_row(row).change
    console.print(f"outcome {row.id} recorded: {row.metric}"
                  + (f" {'+' if change > 0 else ''}{pct(change)}" if change is not None
                     else ""), highlight=False)


def outcome_list(pool: Annotated[str | None, typer.Option("--pool")] = None,
                 as_json: JsonOption = False, db: DbOption = None) -> None:
    """Recorded outcomes."""
    from creditops.services.governance import outcome_from_row
    from creditops.services.plans import list_outcomes

    workspace = open_workspace(db)
    rows = list_outcomes(workspace, pool)
    workspace.close()
    fields = ("id", "pool_id", "grant_id", "milestone_id", "metric", "unit", "before", "after",
              "before_day", "after_day", "value_used", "note", "actor", "created_at")
    if as_json:
        print_json([{name: getattr(r, name) for name in fields}
                    | {"change": outcome_from_row(r).change} for r in rows])
        return
    print_table("Outcomes", ["id", "tied to", "metric", "before", "after", "change", "dates",
                             "value used", "note"],
                [[r.id, r.grant_id or r.milestone_id or r.pool_id, r.metric,
                  f"{qty(r.before)} {r.unit or ''}".strip(),
                  f"{qty(r.after)} {r.unit or ''}".strip(), pct(outcome_from_row(r).change),
                  f"{r.before_day or '—'} → {r.after_day or '—'}", money(r.value_used), r.note]
                 for r in rows])


# -- governance report and calendar -----------------------------------------------------------

def governance(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write "
                                                "(default governance-PERIOD.FORMAT).")] = None,
    period: Annotated[str | None, typer.Option("--period", help="2026Q3, 2026H1 or 2026 "
                                               "(default: the quarter of --as-of).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="html, xlsx or md (default: "
                                            "from the file name, else html).")] = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
) -> None:
    """The quarterly governance review: value used and lapsed by kind, value at risk, alerts,
    plan progress and outcomes."""
    from creditops.services.governance import export_governance

    workspace = open_workspace(db)
    report, output = export_governance(workspace, output, fmt, period, as_of)
    workspace.close()
    console.print(f"governance review {report.period.label} written to {output}",
                  highlight=False)
    console.print(report.headline, highlight=False)


def calendar_export(file: Annotated[Path, typer.Argument(help="The .ics file to write.")],
                    as_of: AsOfOption = None, db: DbOption = None) -> None:
    """Expiries, alert lead dates, milestones and renewal dates as an iCalendar file; a new
    export updates the events a calendar imported before (stable UIDs)."""
    from creditops.services.governance import export_calendar

    workspace = open_workspace(db)
    summary = export_calendar(workspace, file, as_of)
    workspace.close()
    console.print(f"{summary.events} events written to {file} ("
                  + ", ".join(f"{n} {kind}" for kind, n in summary.by_kind.items()) + ")",
                  highlight=False)
