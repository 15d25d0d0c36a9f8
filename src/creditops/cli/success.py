"""Success plans: `creditops advisor …` (support tiers, the Signature case) and
`creditops accelerators …` (match the catalogue to the backlog, plan sessions)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from creditops.cli.ledger import DbOption
from creditops.cli.output import console, print_csv, print_json, print_table
from creditops.core.errors import InputError, Problem
from creditops.core.numbers import parse_decimal

if TYPE_CHECKING:
    from creditops.services.success import MatchReport, Method

# The service (and with it pydantic, PyYAML, numpy, icalendar) is imported inside the commands:
# `creditops --help` and every other area's commands do not pay for it.

advisor_app = typer.Typer(help="Support-tier advisor: which Success Plan pays for itself.",
                          no_args_is_help=True)
accelerators_app = typer.Typer(help="Accelerators: match the catalogue to your backlog, plan "
                               "sessions, export them to the calendar.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV for spreadsheets.")]
TiersOption = Annotated[Path | None, typer.Option(
    "--tiers", help="Your own tier catalogue (YAML); default: the shipped one.")]
CatalogueOption = Annotated[str, typer.Option(
    "--catalogue", help="Accelerator catalogue CSV (id, title, description, product, hours), "
    "or 'example' for the small example catalogue shipped with creditops.")]
BacklogOption = Annotated[Path, typer.Option(
    "--backlog", help="Backlog CSV (id, title, description, owner, priority[, questions]); "
    "Jira and Azure DevOps column names are understood.")]
MethodOption = Annotated[str, typer.Option(
    "--method", help="auto (embeddings when a model is installed, else TF-IDF), tfidf or "
    "embedding.")]
MinScoreOption = Annotated[str | None, typer.Option(
    "--min-score", help="Lowest score that counts as a fit (default 0.05 TF-IDF, 0.30 "
    "embeddings).")]


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(Problem(f"{text!r} is not a date (write it as 2026-03-31)",
                                 column=option)) from None


def _method(text: str) -> Method:
    if text == "auto":
        return "auto"
    if text == "tfidf":
        return "tfidf"
    if text == "embedding":
        return "embedding"
    raise InputError(Problem(f"{text!r} is not a method (auto, tfidf or embedding)",
                             column="--method"))


def _min_score(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return parse_decimal(text)
    except ValueError as error:
        raise InputError(Problem(str(error), column="--min-score")) from None


def _grouped(value: Any) -> str:
    """Amounts with thousands separators for people; anything else as text."""
    if value is None:
        return "none"
    if isinstance(value, Decimal):
        return f"{value:,}"
    return str(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# ---------------------------------------------------------------------------------------------
# advisor


@advisor_app.command("tiers")
def advisor_tiers(
    profile: Annotated[Path, typer.Argument(help="Advisor profile (YAML).")],
    tiers: TiersOption = None,
    as_json: JsonOption = False,
) -> None:
    """Expected annual cost of each tier, the recommendation and its reasons, break-even
    points, the FTE comparison and CSM eligibility."""
    from creditops.services import success

    document = success.advice_document(success.advise_tiers(profile, tiers))
    if as_json:
        print_json(document)
        return
    recommended = document["recommended"]
    money_columns = ["price", "incident cost", "included value", "net cost", "break-even /h"]
    print_table(
        f"Expected annual cost per tier ({document['currency']})",
        ["tier", *money_columns],
        [[("▶ " if row["tier"] == recommended else "  ") + row["tier"],
          *(_grouped(row[key]) for key in ("price", "incident_cost", "included_value",
                                           "net_cost")),
          _grouped(document["break_even"].get(row["tier"], "baseline"))]
         for row in document["tiers"]],
        numeric=money_columns,
    )
    console.print(f"[bold]Recommended: {recommended}[/bold]")
    for reason in document["reasons"]:
        console.print(f"  • {reason}", highlight=False)
    for tier, note in document["break_even_notes"].items():
        if tier != recommended:
            console.print(f"  – {note}", highlight=False)
    console.print(document["csm_reason"], highlight=False)
    console.print(document["fte_comparison"]["summary"], highlight=False)
    if document["assumptions"]:
        console.print("[bold]Assumptions to check[/bold] (low confidence or unknown; see "
                      "`creditops advisor catalogue` for every source):")
        for item in document["assumptions"]:
            console.print(f"  {item['tier']} {item['key']} = {item['value']} "
                          f"({item['confidence']}): {item['source']}", highlight=False)


@advisor_app.command("signature")
def advisor_signature(
    profile: Annotated[Path, typer.Argument(help="Advisor profile (YAML).")],
    cases: Annotated[Path, typer.Option(
        "--cases", help="Support cases CSV: id, opened, severity, first_response_hours, "
        "resolution_hours.")],
    tiers: TiersOption = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Last day of the 12 months looked at (default: the latest case).")
    ] = None,
    from_tier: Annotated[str | None, typer.Option("--from", help="Tier today.")] = None,
    to_tier: Annotated[str | None, typer.Option("--to", help="Tier to upgrade to.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The Premier → Signature case from the last 12 months of support cases."""
    from creditops.services import success

    day = _date(as_of, "--as-of") if as_of else None
    case = success.upgrade_case(profile, cases, tiers, day, from_tier, to_tier)
    document = success.upgrade_document(case)
    if as_json:
        print_json(document)
        return
    print_table(
        f"{case.from_tier} → {case.to_tier}: cases opened after "
        f"{case.window_start.isoformat()} through {case.window_end.isoformat()}",
        ["severity", "cases", "hours saved", "value"],
        [[line["severity"], line["cases"], line["saved_hours"], line["value"]]
         for line in document["by_severity"]],
        numeric=["cases", "hours saved", "value"],
    )
    for label, key in (("Hours of waiting saved", "saved_hours"),
                       ("Value of those hours", "value"),
                       ("Incremental price", "incremental_price"),
                       ("Incremental included value", "incremental_included_value"),
                       ("Net benefit a year", "net_benefit")):
        console.print(f"{label}: {document[key]}", highlight=False)
    for reason in document["reasons"]:
        console.print(f"  • {reason}", highlight=False)


@advisor_app.command("catalogue")
def advisor_catalogue() -> None:
    """Print the shipped tier catalogue (YAML), to copy, edit and pass with --tiers."""
    from creditops.adapters.success_tiers import shipped_tier_catalogue_text

    typer.echo(shipped_tier_catalogue_text(), nl=False)


# ---------------------------------------------------------------------------------------------
# accelerators


@accelerators_app.command("match")
def accelerators_match(
    catalogue: CatalogueOption,
    backlog: BacklogOption,
    top: Annotated[int, typer.Option("--top", help="Entries shown per backlog item.")] = 3,
    method: MethodOption = "auto",
    min_score: MinScoreOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """For each backlog item, the catalogue entries that fit it, ranked, with a score and the
    words that matched."""
    from creditops.services import success

    report = success.match_accelerators(catalogue, backlog, top, _method(method),
                                        _min_score(min_score))
    if as_json:
        print_json(success.match_document(report))
        return
    header = ["backlog_id", "backlog_title", "rank", "catalogue_id", "catalogue_title",
              "score", "matched_words"]
    rows = [[result.item.id, result.item.title, rank, match.entry.id, match.entry.title,
             match.score, " ".join(match.matched_words)]
            for result in report.results
            for rank, match in enumerate(result.matches, start=1)]
    if as_csv:
        print_csv([*header, "method"], [[*row, report.method] for row in rows])
        return
    print_table(f"Accelerator matches ({report.method_label})",
                ["item", "title", "#", "entry", "entry title", "score", "matched words"],
                rows, numeric=["#", "score"])
    _catalogue_notes(report)
    unmatched = [result.item.id for result in report.results if not result.matches]
    if unmatched:
        console.print(f"No fitting entry (score ≥ {report.min_score}): {', '.join(unmatched)}",
                      highlight=False)


def _catalogue_notes(report: MatchReport) -> None:
    console.print(f"Method: {report.method_label}", highlight=False)
    if report.example_catalogue:
        console.print("[yellow]The catalogue is the shipped EXAMPLE data, not Salesforce's "
                      "catalogue: export yours and pass it with --catalogue.[/yellow]")


@accelerators_app.command("plan")
def accelerators_plan(
    catalogue: CatalogueOption,
    backlog: BacklogOption,
    start: Annotated[str, typer.Option("--start", help="First day of the plan (2026-07-01).")],
    quarters: Annotated[int, typer.Option("--quarters", help="Quarters to plan.")],
    per_quarter: Annotated[int, typer.Option("--per-quarter",
                                             help="Sessions per quarter.")] = 1,
    used: Annotated[Path | None, typer.Option(
        "--used", help="Sessions already delivered: CSV of date, catalogue_id, backlog_id.")
    ] = None,
    entitled: Annotated[int | None, typer.Option(
        "--entitled", help="Sessions entitled per contract year (no cap when left out).")
    ] = None,
    year_start: Annotated[str | None, typer.Option(
        "--year-start", help="A contract anniversary (default: --start).")] = None,
    method: MethodOption = "auto",
    min_score: MinScoreOption = None,
    ics: Annotated[Path | None, typer.Option("--ics", help="Also write the sessions as an "
                                             "iCalendar file.")] = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    pool: Annotated[str | None, typer.Option(
        "--pool", help="The success-plan sessions pool of the workspace: sessions used come "
        "from its usage, the yearly entitlement and contract year from its recurring grant.")
    ] = None,
    record: Annotated[bool, typer.Option(
        "--record", help="With --pool: record the sessions as the pool's plan milestones "
        "(replacing the planner's earlier ones; an import that can be rolled back).")] = False,
    db: DbOption = None,
) -> None:
    """A schedule of Accelerator sessions (at least one per quarter), most urgent backlog
    first, each with its owner and preparation notes, shaped as plan milestones; sessions used
    vs entitled per contract year."""
    from creditops.core.accelerators import UsedSession
    from creditops.services import success

    if record and pool is None:
        raise InputError(Problem("--record needs --pool (the pool the milestones belong to)",
                                 column="--record"))
    used_sessions: list[UsedSession] = []
    workspace = None
    if pool is not None:
        from creditops.services import ledger_inputs
        from creditops.services import workspace as workspaces

        workspace = workspaces.open_workspace(db)
        sessions, pool_entitled, pool_year = ledger_inputs.pool_sessions(workspace, pool)
        used_sessions = [UsedSession(day, reference) for day, reference in sessions]
        entitled = entitled if entitled is not None else pool_entitled
        year_start = year_start or (pool_year.isoformat() if pool_year else None)
    try:
        report = success.plan_accelerators(
            catalogue, backlog, _date(start, "--start"), quarters, per_quarter, used, entitled,
            _date(year_start, "--year-start") if year_start else None, _method(method),
            _min_score(min_score), used_sessions=used_sessions)
        if record and workspace is not None and pool is not None:
            from creditops.services import plans

            rows = [row | {"id": f"{pool}@accelerator:{row['backlog_id']}:{row['catalogue_id']}"}
                    for row in success.milestone_rows(report.schedule)]
            summary = plans.record_milestones(workspace, pool, rows, source=backlog.name,
                                              origin="accelerators")
            if not (as_json or as_csv):
                console.print(
                    f"recorded as plan milestones of {pool} (import {summary.import_id}): "
                    f"{summary.created} created, {summary.updated} updated, "
                    f"{summary.unchanged} unchanged, {summary.deleted} removed", highlight=False)
    finally:
        if workspace is not None:
            workspace.close()
    if ics is not None:
        count = success.export_sessions(report.schedule, ics, datetime.now(UTC))
        if not (as_json or as_csv):
            console.print(f"Wrote {count} sessions to {ics}", highlight=False)
    if as_json:
        print_json(success.plan_document(report))
        return
    rows = success.milestone_rows(report.schedule)
    if as_csv:
        print_csv(success.PLAN_COLUMNS, [[row[key] for key in success.PLAN_COLUMNS]
                                         for row in rows])
        return
    print_table("Accelerator sessions (plan milestones of the success-plan sessions pool)",
                ["date", "qty", "description", "owner", "project", "prepare"],
                [[row["date"], row["quantity"], row["description"], row["owner"],
                  row["project"], row["preparation"]] for row in rows], numeric=["qty"])
    document = success.plan_document(report)
    print_table("Sessions per contract year",
                ["year start", "year end", "entitled", "used", "planned", "remaining"],
                [[y["start"], y["end"], _text(y["entitled"] if y["entitled"] is not None
                                              else "—"), y["used"], y["planned"],
                  _text(y["remaining"] if y["remaining"] is not None else "—")]
                 for y in document["contract_years"]],
                numeric=["entitled", "used", "planned", "remaining"])
    _catalogue_notes(report.matching)
    for warning in document["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)


def register(app: typer.Typer, report: typer.Typer) -> None:
    """Adds this module's commands to the main app and the `report` group."""
    app.add_typer(advisor_app, name="advisor")
    app.add_typer(accelerators_app, name="accelerators")
