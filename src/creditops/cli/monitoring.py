"""Forecasts and alerts: `creditops forecast`, `creditops check` and `creditops alerts`, and the
formatting helpers the monitoring and governance commands share.

The services (and with them numpy, apprise, openpyxl, jinja2) are imported inside the commands,
so that `creditops --help` stays quick.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from creditops.cli.ledger import AsOfOption, DbOption, JsonOption
from creditops.cli.output import console, err_console, print_json, print_table
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


def register(app: typer.Typer, report: typer.Typer) -> None:
    """Adds this module's commands to the main app."""
    app.add_typer(forecast_app, name="forecast")
    forecast_app.command("show", hidden=True)(forecast)
    forecast_app.command("backtest")(backtest)
    app.command("check")(check)
    app.add_typer(alerts_app, name="alerts")
    alerts_app.command("list")(alerts_list)
    alerts_app.command("ack")(alerts_ack)
    alerts_app.command("resolve")(alerts_resolve)


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


def open_workspace(db: str | None) -> Any:
    from creditops.services import workspace

    return workspace.open_workspace(db)


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
    workspace = open_workspace(db)
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
    workspace = open_workspace(db)
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

    workspace = open_workspace(db)
    report = run_check(workspace, as_of, dry_run=dry_run, digest=digest)
    workspace.close()
    labels: dict[str, str] = {}
    if dry_run:
        from creditops.adapters.notify import chat_target_key
        from creditops.config import load_settings
        from creditops.services.alert_routing import split_urls

        for url in split_urls(load_settings().notify_urls):
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

    workspace = open_workspace(db)
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

    workspace = open_workspace(db)
    alert = set_state(workspace, alert_id, "acknowledged", note=note)
    workspace.close()
    console.print(f"alert {alert.id} acknowledged by {alert.state_changed_by}", highlight=False)


def alerts_resolve(alert_id: AlertId, note: NoteOption = None, db: DbOption = None) -> None:
    """Resolve an alert; its undelivered messages are dropped."""
    from creditops.services.alerts import set_state

    workspace = open_workspace(db)
    alert = set_state(workspace, alert_id, "resolved", note=note)
    workspace.close()
    console.print(f"alert {alert.id} resolved by {alert.state_changed_by}", highlight=False)

