"""Partner incentive programs: `creditops partners run | diagnose | simulate`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from creditops.cli.output import console, err_console, print_json, print_table
from creditops.core.errors import InputError, Problem

if TYPE_CHECKING:
    from creditops.core.incentive_diagnostics import Diagnosis, Simulation
    from creditops.core.incentive_payouts import ProgramResult
    from creditops.services.partners import Engine


def _service() -> Any:
    # Imported on use: DuckDB, Arrow and the report templates are not needed for `--help`.
    from creditops.services import partners

    return partners


def _reports() -> Any:
    from creditops.adapters import partner_reports

    return partner_reports

partners_app = typer.Typer(
    help="Partner incentive programs: payouts explained line by line, locked periods, "
    "diagnostics before launch, replays over past periods.", no_args_is_help=True)

ProgramArgument = Annotated[Path, typer.Argument(help="The program (YAML).")]
PartnersOption = Annotated[Path, typer.Option(
    "--partners", help="Partners CSV: partner_id, name, tier, type, region (+ attributes).")]
EventsOption = Annotated[Path, typer.Option(
    "--events", help="Activity events, CSV or Parquet: id, partner_id, at, kind, amount, ref.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
EngineOption = Annotated[str, typer.Option(
    "--engine", help="columnar (DuckDB, the default) or reference (row by row, slow: to "
    "cross-check).")]


def register(app: typer.Typer, report: typer.Typer) -> None:
    """Adds `creditops partners …` to the main app."""
    app.add_typer(partners_app, name="partners")


def _engine(text: str) -> Engine:
    engines: tuple[Engine, ...] = _service().ENGINES
    for engine in engines:
        if text == engine:
            return engine
    raise InputError(Problem(f"{text!r} is not an engine (columnar or reference)",
                             column="--engine"))


def _notes(notes: tuple[str, ...] | list[str]) -> None:
    for note in notes:
        err_console.print(f"[yellow]note:[/yellow] {note}", highlight=False, soft_wrap=True)


def _amount(value: Decimal) -> str:
    return f"{value:,.2f}"


@partners_app.command("run")
def run(
    program: ProgramArgument,
    partners: PartnersOption,
    events: EventsOption,
    json_output: JsonOption = False,
    statements: Annotated[Path | None, typer.Option(
        "--statements", help="Write a statement per partner (HTML), an index and "
        "payouts.csv into this directory.")] = None,
    xlsx: Annotated[Path | None, typer.Option(
        "--xlsx", help="Write the finance workbook (partners, lines, totals).")] = None,
    lock: Annotated[bool, typer.Option(
        "--lock", help="Lock the period once computed: it is never recomputed silently.")]
        = False,
    recompute: Annotated[bool, typer.Option(
        "--recompute", help="Replay a locked period and check it matches its lock (refused "
        "when its inputs changed).")] = False,
    lock_dir: Annotated[Path | None, typer.Option(
        "--lock-dir", help="Where locks are kept (default: .creditops-locks next to the "
        "program).")] = None,
    top: Annotated[int, typer.Option("--top", help="Partners listed in the table.")] = 20,
    engine: EngineOption = "columnar",
) -> None:
    """Payouts per partner, each line with its rule, amount and the figures it came from."""
    outcome = _service().run_program(program, partners, events, lock=lock, recompute=recompute,
                                  lock_dir=lock_dir, engine=_engine(engine))
    result = outcome.result
    notes = list(outcome.notes) + [f"warning: {warning}" for warning in result.warnings]
    written = []
    if statements is not None:
        files = _reports().write_statements(result, statements, outcome.notes)
        written.append(f"{files.statements} statements, {files.index.name} and "
                       f"{files.payouts_csv.name} in {files.directory}")
    if xlsx is not None:
        written.append(f"workbook {_reports().write_workbook(result, xlsx)}")
    _notes(notes + [f"wrote {item}" for item in written])
    if json_output:
        print_json(_reports().result_document(result))
        return
    _print_result(result, top)


def _print_result(result: ProgramResult, top: int) -> None:
    console.print(f"[bold]{result.program}[/bold] {result.period} "
                  f"(baseline {result.baseline_period}), {result.currency}: "
                  f"total {_amount(result.total)} to {len(result.partners)} partners",
                  highlight=False)
    print_table("By rule", ["rule", "total"],
                [(rule, _amount(amount)) for rule, amount in result.by_rule.items()],
                numeric=["total"])
    print_table("By segment", ["segment", "total"],
                [(segment, _amount(amount)) for segment, amount in result.by_segment.items()],
                numeric=["total"])
    ranked = sorted(result.partners, key=lambda payout: (-payout.total, payout.partner_id))
    print_table(f"Top {min(top, len(ranked))} partners", ["partner", "name", "segment", "total"],
                [(payout.partner_id, payout.name, payout.segment, _amount(payout.total))
                 for payout in ranked[:top]], numeric=["total"])
    if len(ranked) > top:
        console.print(f"… {len(ranked) - top} more partners: every line with --json, "
                      "--statements DIR or --xlsx FILE", highlight=False)


@partners_app.command("diagnose")
def diagnose(
    program: ProgramArgument,
    partners: PartnersOption,
    events: EventsOption,
    json_output: JsonOption = False,
    engine: EngineOption = "columnar",
) -> None:
    """The program's flaws before launch: attainability of each goal per segment from the
    partners' own history, what per-deal rebates pay for, payout concentration, and a warning
    for each don't the program commits."""
    diagnosis = _service().diagnose_program(program, partners, events, engine=_engine(engine))
    if json_output:
        print_json(_reports().diagnosis_document(diagnosis))
        return
    _print_diagnosis(diagnosis)


def _print_diagnosis(diagnosis: Diagnosis) -> None:
    console.print(f"[bold]{diagnosis.program}[/bold] over its history period "
                  f"{diagnosis.history} (baseline {diagnosis.history_baseline}): it would "
                  f"have cost {diagnosis.currency} {_amount(diagnosis.cost)}", highlight=False)
    print_table("Attainability: partners whose own history reached each goal",
                ["rule", "goal", "segment", "reached", "share"],
                [(item.goal.rule, item.goal.label, item.segment,
                  f"{item.reached} of {item.partners}", _percent(item.share))
                 for item in diagnosis.attainability], numeric=["reached", "share"])
    print_table("Per-deal rebates against revenue above each partner's baseline",
                ["rule", "segment", "cost", "paid for baseline", "share",
                 "revenue above baseline"],
                [(item.rule, item.segment, _amount(item.cost), _amount(item.paid_anyway),
                  _percent(item.anyway_share), _amount(item.revenue_above_baseline))
                 for item in diagnosis.rebates],
                numeric=["cost", "paid for baseline", "share", "revenue above baseline"])
    print_table("Payout concentration", ["segment", "partners", "paid", "top 10%", "share"],
                [(item.segment, item.partners, item.paid_partners, item.top_partners,
                  _percent(item.top_share)) for item in diagnosis.concentration],
                numeric=["partners", "paid", "top 10%", "share"])
    if not diagnosis.findings:
        console.print("No finding: the program commits none of the don'ts.")
    for finding in diagnosis.findings:
        console.print(f"[yellow]• {finding.code}:[/yellow] {finding.message}",
                      highlight=False, soft_wrap=True)


def _percent(share: Decimal) -> str:
    return f"{share * 100:.1f}%"


@partners_app.command("simulate")
def simulate(
    program: ProgramArgument,
    partners: PartnersOption,
    events: EventsOption,
    periods: Annotated[int, typer.Option("--periods", help="How many past periods.")] = 4,
    through: Annotated[str | None, typer.Option(
        "--through", help="Last day replayed (default: the day before the program starts, "
        "or the last day of data if earlier).")] = None,
    json_output: JsonOption = False,
    engine: EngineOption = "columnar",
) -> None:
    """The program replayed over the last N periods of data: cost, payout distribution per
    segment, partners reaching each goal."""
    last = None
    if through is not None:
        try:
            last = date.fromisoformat(through)
        except ValueError:
            raise InputError(Problem(f"{through!r} is not a date (write it as 2027-01-31)",
                                     column="--through")) from None
    simulation = _service().simulate_program(program, partners, events, periods=periods,
                                          through=last, engine=_engine(engine))
    if json_output:
        print_json(_reports().simulation_document(simulation))
        return
    _print_simulation(simulation)


def _print_simulation(simulation: Simulation) -> None:
    console.print(f"[bold]{simulation.program}[/bold] replayed over "
                  f"{len(simulation.periods)} periods: {simulation.currency} "
                  f"{_amount(simulation.total_cost)} in all, "
                  f"{_amount(simulation.mean_cost)} a period", highlight=False)
    rows = []
    for period in simulation.periods:
        for item in period.distribution:
            rows.append((str(period.period), item.segment, item.partners, item.paid_partners,
                         _amount(item.total), _amount(item.median), _amount(item.p90),
                         _amount(item.largest)))
    print_table("Cost and payout distribution", ["period", "segment", "partners", "paid",
                                                 "total", "median", "p90", "max"], rows,
                numeric=["partners", "paid", "total", "median", "p90", "max"])
    print_table("Partners reaching each goal", ["period", "rule", "goal", "segment", "reached"],
                [(str(period.period), item.goal.rule, item.goal.label, item.segment,
                  f"{item.reached} of {item.partners}")
                 for period in simulation.periods for item in period.attainment],
                numeric=["reached"])
