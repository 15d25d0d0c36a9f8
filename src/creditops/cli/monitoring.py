"""Forecasts, alerts, plans, acceleration, outcomes, the governance review and the calendar.

The services (and with them numpy, apprise, openpyxl, jinja2) are imported inside the commands,
so that `creditops --help` stays quick.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from creditops.cli.ledger import AsOfOption, DbOption, JsonOption
from creditops.cli.output import console, decimal_option, err_console, print_json, print_table
from creditops.core.errors import InputError, Problem
from creditops.core.numbers import normalize, round_to

if TYPE_CHECKING:
    from creditops.core.forecast import Band, DateBand
    from creditops.services.alerts import CheckReport
    from creditops.services.forecast import BacktestReport, PoolOutlook

DELIVERY_FAILED = 4


class _DefaultCommandGroup(TyperGroup):
    """`creditops forecast [POOL]` and `creditops forecast backtest`: anything that is not a
    subcommand goes to the hidden default command."""

    default = "show"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args not in (["--help"], ["-h"]) and (not args or args[0] not in self.commands):
            args = [self.default, *args]
        return super().parse_args(ctx, args)


forecast_app = typer.Typer(cls=_DefaultCommandGroup, no_args_is_help=False,
                           help="Forecast consumption, run-out and lapse (P10/P50/P90): "
                                "`creditops forecast [POOL] [--as-of] [--json]` (options: "
                                "`creditops forecast show --help`); `creditops forecast "
                                "backtest` measures its accuracy.")
alerts_app = typer.Typer(help="The alerts inbox: list, acknowledge, resolve.",
                         no_args_is_help=True)
plan_app = typer.Typer(help="Utilisation plans: milestones, coverage, plan-vs-actual.",
                       no_args_is_help=True)
outcome_app = typer.Typer(help="Outcomes: before/after metrics tied to pools, grants, "
                          "milestones.", no_args_is_help=True)
calendar_app = typer.Typer(help="Calendar export (iCalendar).", no_args_is_help=True)


def register(app: typer.Typer, report: typer.Typer) -> None:
    """Adds this module's commands to the main app and the `report` group."""
    app.add_typer(forecast_app, name="forecast")
    forecast_app.command("show", hidden=True)(forecast)
    forecast_app.command("backtest")(backtest)
    app.command("check")(check)
    app.add_typer(alerts_app, name="alerts")
    alerts_app.command("list")(alerts_list)
    alerts_app.command("ack")(alerts_ack)
    alerts_app.command("resolve")(alerts_resolve)
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


# -- formatting -----------------------------------------------------------------------------------

def qty(value: Decimal | None) -> str:
    return "—" if value is None else f"{normalize(value):,f}"


def pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{normalize(round_to(value * 100, 1)):f}%"


def money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def day(instant: datetime | None) -> str:
    return "—" if instant is None else instant.date().isoformat()


def last_day(instant: datetime | None) -> str:
    return "—" if instant is None else (instant - timedelta(microseconds=1)).date().isoformat()


def band(value: Band | None) -> str:
    return "—" if value is None else f"{qty(value.p10)} / {qty(value.p50)} / {qty(value.p90)}"


def dates(value: DateBand) -> str:
    return " / ".join(day(v) if v else "—" for v in (value.p10, value.p50, value.p90))


def _open(db: str | None) -> Any:
    from creditops.services.workspace import open_workspace

    return open_workspace(db)


# -- forecast -----------------------------------------------------------------------------------

def _options(paths: int, seed: int, history_days: int, horizon_days: int | None,
             no_plan: bool, no_trend: bool) -> Any:
    from creditops.services.forecast import ForecastOptions

    try:
        return ForecastOptions(paths=paths, seed=seed, history_days=history_days,
                               horizon_days=horizon_days, use_plan=not no_plan,
                               trend=not no_trend)
    except ValueError as error:
        raise InputError(Problem(str(error))) from None


PathsOption = Annotated[int, typer.Option("--paths", help="Simulated paths per pool.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives "
                                         "the same forecast.")]
HistoryOption = Annotated[int, typer.Option("--history-days", help="Days of history the "
                                            "usage paths are drawn from.")]


def forecast_json(outlooks: Sequence[PoolOutlook]) -> list[dict[str, Any]]:
    result = []
    for outlook in outlooks:
        f = outlook.forecast
        baseline = {g.id: g for g in outlook.baseline.grants}
        result.append({
            "pool": f.pool_id, "as_of": f.as_of, "horizon_end": f.horizon_end,
            "paths": f.paths, "seed": f.seed, "risk_threshold": f.risk_threshold,
            "history_days": f.history_days, "trend_per_week": f.trend_per_week,
            "consumption": f.consumption, "overage": f.overage,
            "overage_value": f.overage_value, "run_out": f.run_out,
            "run_out_probability": f.run_out_probability,
            "grants": [{
                "grant": g.grant_id, "period_start": g.period_start, "period_end": g.period_end,
                "last_day": last_day(g.period_end) if g.period_end else None,
                "end_reason": g.end_reason, "quantity": g.quantity, "remaining": g.remaining,
                "consumption": g.consumption, "lapse": g.lapse, "lapse_pct": g.lapse_pct,
                "lapse_value": g.lapse_value,
                "probability_over_threshold": g.probability_over_threshold,
                "run_out": g.run_out, "run_out_probability": g.run_out_probability,
                "status": g.status,
                "baseline_projected_unconsumed": baseline[g.grant_id].projected_unconsumed
                if g.grant_id in baseline and g.period_start <= f.as_of else None,
            } for g in f.grants],
        })
    return result


def forecast(
    pool: Annotated[str | None, typer.Argument(help="Pool id (default: every pool).")] = None,
    as_of: AsOfOption = None,
    paths: PathsOption = 5000,
    seed: SeedOption = 0,
    history_days: HistoryOption = 182,
    horizon_days: Annotated[int | None, typer.Option(
        "--horizon-days", help="Days ahead (default: until the active grants' periods end, "
        "at most 365).")] = None,
    no_plan: Annotated[bool, typer.Option("--no-plan", help="Leave the plan's milestones "
                                          "out.")] = False,
    no_trend: Annotated[bool, typer.Option("--no-trend", help="No trend term.")] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Per pool and grant: P10/P50/P90 of consumption and of the lapse at each expiry, the
    run-out dates and the probability that the lapse exceeds the risk threshold."""
    from creditops.services.forecast import forecast_workspace

    options = _options(paths, seed, history_days, horizon_days, no_plan, no_trend)
    workspace = _open(db)
    outlooks = forecast_workspace(workspace, pool, as_of, options)
    workspace.close()
    if as_json:
        print_json(forecast_json(outlooks))
        return
    rows = []
    for outlook in outlooks:
        f = outlook.forecast
        unit = outlook.baseline.pool.unit
        baseline = {g.id: g.projected_unconsumed for g in outlook.baseline.grants}
        rows.append([f"[bold]{f.pool_id}[/]", f"to {last_day(f.horizon_end)}",
                     f"{band(f.consumption)} {unit}", "", "", "",
                     dates(f.run_out) if f.run_out_probability else "—", "",
                     qty(f.overage.p50) if f.overage.p50 else ""])
        for g in f.grants:
            rows.append([
                f"  {g.grant_id}", last_day(g.period_end), band(g.consumption), band(g.lapse),
                pct(g.lapse_pct.p50) if g.lapse_pct else "—",
                pct(g.probability_over_threshold), dates(g.run_out)
                if g.run_out_probability else "—",
                qty(round_to(baseline[g.grant_id], 2)) if g.grant_id in baseline
                and g.period_start <= f.as_of else "(later)", ""])
    first = outlooks[0].forecast if outlooks else None
    print_table(
        f"Forecast as of {first.as_of.isoformat() if first else as_of} "
        f"({first.paths if first else paths} paths, seed {seed})",
        ["pool / grant", "last day", "consumption P10/P50/P90", "lapse P10/P50/P90",
         "lapse % P50", "P(lapse > threshold)", "run-out P10/P50/P90", "baseline lapse",
         "overage P50"],
        rows)
    console.print("Lapse: units left at the last day (after any carry-forward); run-out: the "
                  "day the balance reaches zero; baseline: the register's run-rate projection.",
                  highlight=False)


def backtest_json(report: BacktestReport) -> dict[str, Any]:
    return {"as_of": report.as_of, "leads": list(report.leads), "overall": report.overall,
            "by_lead": {str(k): v for k, v in report.by_lead.items()},
            "by_pool": report.by_pool,
            "cases": [{"pool": c.pool_id, "grant": c.grant_id,
                       "last_day": last_day(c.period_end), "lead_days": c.lead_days,
                       "quantity": c.quantity, "predicted": c.predicted,
                       "probability_over": normalize(round_to(c.probability_over, 3)),
                       "actual": c.actual, "baseline": c.baseline} for c in report.cases]}


def print_backtest(report: BacktestReport) -> None:
    def row(label: str, s: Any) -> list[str]:
        return [label, str(s.cases), pct(s.mae_pct), pct(s.bias_pct), pct(s.mape),
                pct(s.coverage), "—" if s.brier is None else f"{s.brier:f}",
                pct(s.baseline_mae_pct)]

    header = ["", "cases", "MAE (% of grant)", "bias", "MAPE", "in P10–P90", "Brier",
              "baseline MAE"]
    rows = [row(f"{lead} days before", s) for lead, s in report.by_lead.items()]
    rows += [row(pool, s) for pool, s in report.by_pool.items()]
    rows.append(row("overall", report.overall))
    print_table(f"Forecast back-test: lapses up to {last_day(report.as_of)}, "
                "forecast 90/60/30 days before each ended", header, rows)


def backtest(
    as_of: AsOfOption = None,
    pool: Annotated[str | None, typer.Option("--pool", help="One pool only.")] = None,
    paths: PathsOption = 2000,
    seed: SeedOption = 0,
    history_days: HistoryOption = 182,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Replays the history: forecasts each grant period that lapsed 90, 60 and 30 days before
    its end, with only what was known then, and reports the error against what really lapsed
    (per pool, per lead time, overall; beside the run-rate baseline's error)."""
    from creditops.services.forecast import backtest_workspace

    options = _options(paths, seed, history_days, None, True, False)
    workspace = _open(db)
    report = backtest_workspace(workspace, as_of, pool_id=pool, options=options)
    workspace.close()
    if as_json:
        print_json(backtest_json(report))
        return
    print_backtest(report)
    console.print("MAE: mean |P50 − actual lapse| as a share of the grant; bias > 0 means the "
                  "lapse was over-forecast; MAPE over the cases that lapsed; Brier: the "
                  "probability of a lapse above the risk threshold against what happened "
                  "(0 is perfect).", highlight=False)


# -- check and alerts -----------------------------------------------------------------------------

def _print_check(report: CheckReport, labels: dict[str, str]) -> None:
    verb = "would raise" if report.dry_run else "raised"
    console.print(f"check as of {report.as_of.isoformat()}: {verb} {len(report.new)} new "
                  f"alert(s); {report.already} already raised before", highlight=False)
    for item in report.new:
        to = ", ".join(item["to"]) or "—"
        cc = ", ".join(item["cc"])
        console.print(f"  [{item['rule']}] {item['title']}  → {to}"
                      + (f" (cc {cc})" if cc else ""), highlight=False, markup=False)
    if not report.email_configured:
        console.print("e-mail is not configured (CREDITOPS_SMTP_URL, CREDITOPS_MAIL_FROM): "
                      "alerts are kept in the workspace (`creditops alerts list`) and sent "
                      "to chat targets only", highlight=False)
    if report.dry_run:
        for message in report.messages:
            where = ", ".join(message.to) if message.channel == "email" else labels.get(
                message.target, message.target)
            cc = f" cc {', '.join(message.cc)}" if message.cc else ""
            console.print(f"\nwould send {message.channel} to {where}{cc}\nsubject: "
                          f"{message.subject}\n{message.body}", highlight=False, markup=False)
        console.print(f"\ndry run: nothing stored, nothing sent ({report.pending} delivery "
                      "record(s) pending from earlier checks)", highlight=False)
        return
    console.print(f"sent {len(report.sent)} message(s)"
                  + (" (digest)" if report.digest else "")
                  + (f"; {report.cancelled} delivery record(s) cancelled" if report.cancelled
                     else ""), highlight=False)
    for _, error in report.failed:
        err_console.print(f"error: {error}", highlight=False, soft_wrap=True, markup=False)
    if report.failed:
        err_console.print(f"{len(report.failed)} message(s) not delivered; {report.pending} "
                          "delivery record(s) stay pending and are retried on the next check",
                          highlight=False)


def check(
    as_of: AsOfOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be raised and "
                                          "sent; store and send nothing.")] = False,
    digest: Annotated[bool | None, typer.Option("--digest/--no-digest", help="One message "
                                                "per recipient (default: the register "
                                                "file's alerts.digest).")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Evaluate the alert rules, store new alerts once, and deliver what is pending (e-mail to
    the owner with the administrator in copy; chat). Exit code 4 when a delivery failed: it
    stays pending and is retried on the next check."""
    from creditops.adapters.notify import chat_label
    from creditops.services.alerts import run_check

    workspace = _open(db)
    report = run_check(workspace, as_of, dry_run=dry_run, digest=digest)
    workspace.close()
    labels: dict[str, str] = {}
    if dry_run:
        from creditops.adapters.notify import chat_target_key
        from creditops.config import load_settings
        from creditops.services.alerts import _split_urls

        for url in _split_urls(load_settings().notify_urls):
            labels[chat_target_key(url)] = chat_label(url)
    if as_json:
        print_json({
            "as_of": report.as_of, "dry_run": report.dry_run, "digest": report.digest,
            "new": report.new, "already_raised": report.already,
            "messages": [{"channel": m.channel, "to": m.to, "cc": m.cc, "subject": m.subject,
                          "alerts": m.alert_ids} for m in report.messages],
            "sent": len(report.sent),
            "failed": [{"channel": m.channel, "to": m.to, "error": e}
                       for m, e in report.failed],
            "pending": report.pending,
        })
    else:
        _print_check(report, labels)
    if report.failed:
        raise typer.Exit(DELIVERY_FAILED)


def alerts_list(
    state: Annotated[str, typer.Option("--state", help="open, acknowledged, resolved or "
                                       "all.")] = "open",
    pool: Annotated[str | None, typer.Option("--pool", help="One pool only.")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Alerts with their state and delivery status."""
    from creditops.services.alerts import list_alerts

    workspace = _open(db)
    views = list_alerts(workspace, None if state == "all" else state, pool)
    workspace.close()
    if as_json:
        print_json([{
            "id": v.alert.id, "rule": v.alert.rule, "pool": v.alert.pool_id,
            "grant": v.alert.grant_id, "contract": v.alert.contract_id,
            "threshold": v.alert.threshold, "period": v.alert.period,
            "severity": v.alert.severity, "title": v.alert.title, "body": v.alert.body,
            "state": v.alert.state, "raised_at": v.alert.raised_at, "as_of": v.alert.as_of,
            "deliveries": [{"channel": d.channel, "to": d.label, "role": d.role,
                            "status": d.status, "attempts": d.attempts,
                            "last_error": d.last_error, "sent_at": d.sent_at}
                           for d in v.deliveries],
        } for v in views])
        return

    def delivery(view: Any) -> str:
        if not view.deliveries:
            return "in app"
        sent = sum(1 for d in view.deliveries if d.status == "sent")
        pending = [d for d in view.deliveries if d.status == "pending"]
        text = f"{sent}/{len(view.deliveries)} sent"
        if pending:
            text += f", {len(pending)} pending ({pending[0].attempts} attempts)"
        return text

    print_table(f"Alerts ({state})", ["id", "raised", "rule", "severity", "title", "state",
                                      "delivery"],
                [[v.alert.id, day(v.alert.raised_at), v.alert.rule, v.alert.severity,
                  v.alert.title, v.alert.state, delivery(v)] for v in views])


AlertId = Annotated[int, typer.Argument(help="The alert's id (see `creditops alerts list`).")]
NoteOption = Annotated[str | None, typer.Option("--note", help="Why, for the record.")]


def alerts_ack(alert_id: AlertId, note: NoteOption = None, db: DbOption = None) -> None:
    """Acknowledge an alert (who and when are kept)."""
    from creditops.services.alerts import set_state

    workspace = _open(db)
    alert = set_state(workspace, alert_id, "acknowledged", note=note)
    workspace.close()
    console.print(f"alert {alert.id} acknowledged by {alert.state_changed_by}", highlight=False)


def alerts_resolve(alert_id: AlertId, note: NoteOption = None, db: DbOption = None) -> None:
    """Resolve an alert; its undelivered messages are dropped."""
    from creditops.services.alerts import set_state

    workspace = _open(db)
    alert = set_state(workspace, alert_id, "resolved", note=note)
    workspace.close()
    console.print(f"alert {alert.id} resolved by {alert.state_changed_by}", highlight=False)


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

    workspace = _open(db)
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

    workspace = _open(db)
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

    workspace = _open(db)
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
    workspace = _open(db)
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

    workspace = _open(db)
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

    workspace = _open(db)
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

    workspace = _open(db)
    summary = export_calendar(workspace, file, as_of)
    workspace.close()
    console.print(f"{summary.events} events written to {file} ("
                  + ", ".join(f"{n} {kind}" for kind, n in summary.by_kind.items()) + ")",
                  highlight=False)
