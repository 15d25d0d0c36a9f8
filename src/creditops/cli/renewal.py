"""Renewal economics beyond `creditops trueup`: uplift, the clause checklist, credit commitment
sizing and the renewal brief; with the money, percent and date helpers `cli.trueup` uses too."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

import typer

from creditops.cli.ledger import DbOption
from creditops.cli.output import console, decimal_option, print_json, print_table
from creditops.core.errors import InputError, Problem
from creditops.core.numbers import round_money, round_to
from creditops.core.uplift import Cap, CapKind, UpliftTerms, UpliftTiming

# The services (and with them numpy, openpyxl, jinja2, weasyprint) are imported inside the
# commands: `creditops --help` and every other area's commands do not pay for them.

# The values of services.renewal_brief.BriefFormat, spelled out so that the option does not
# import the service.
BriefFormatName = Literal["html", "pdf", "xlsx"]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")]


def money(value: Decimal) -> str:
    return f"{round_money(value):,}"


def percent(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{round_to(value * 100, 2)}%"


def date_option(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(Problem(f"{text!r} is not a date (write YYYY-MM-DD)",
                                 column=option)) from None


def _cpi_path(text: str) -> tuple[Decimal, ...]:
    rates = []
    for piece in text.split(","):
        rate = decimal_option(piece, "--cpi")
        if rate is None:  # pragma: no cover - a piece is never None
            continue
        rates.append(rate)
    return tuple(rates)


def uplift_command(
    licence: Annotated[str | None, typer.Option(
        help="Net licence per year at the start (e.g. 1200000).")] = None,
    uplift: Annotated[str | None, typer.Option(
        help="Increase asked at each renewal (or each year with --timing annual); default "
             "0.07.")] = None,
    terms: Annotated[int | None, typer.Option(min=1, help="Number of terms (default 3).")] = None,
    term_years: Annotated[int | None, typer.Option(
        min=1, help="Years per term (default 1).")] = None,
    success_plan_pct: Annotated[str | None, typer.Option(
        help="Success plan as a share of net licence (0.30 = 30%).")] = None,
    timing: Annotated[UpliftTiming | None, typer.Option(
        help="renewal: one increase per renewal; annual: every year.")] = None,
    cap_per_year: Annotated[str | None, typer.Option(
        help="Cap per year since the last increase (0.03 = 3% a year).")] = None,
    cap_per_renewal: Annotated[str | None, typer.Option(
        help="Cap on the increase at each renewal.")] = None,
    cpi: Annotated[list[str] | None, typer.Option(
        help="CPI-linked cap: comma-separated CPI rates, one per year from year 2 (the last "
             "repeats). Repeat the option to compare CPI paths.")] = None,
    cpi_margin: Annotated[str, typer.Option(
        help="Added to CPI each year (CPI + 1% → 0.01).")] = "0",
    scenario: Annotated[Path | None, typer.Option(
        help="Take the figures from a scenario file's uplift section (options override).")] = None,
    by_year: Annotated[bool, typer.Option("--by-year", help="Show every year.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Licence and success-plan cost over several terms, with and without uplift caps.

    Caps: per year since the last increase, per renewal, or CPI-linked (plus a margin)."""
    from creditops.adapters.scenario_file import read_scenario
    from creditops.services import contract_terms as terms_service

    base = None
    caps: list[Cap] = []
    if scenario is not None:
        file = read_scenario(scenario)
        if file.uplift is None:
            raise InputError(Problem("the scenario has no uplift section", source=str(scenario),
                                     column="uplift"))
        base = file.uplift
        if cap_per_year is None and cap_per_renewal is None and not cpi:
            caps = list(file.caps)
    amount = decimal_option(licence, "--licence")
    if amount is None and base is None:
        raise InputError(Problem("give the net licence per year (or --scenario FILE)",
                                 column="--licence"))
    margin = decimal_option(cpi_margin, "--cpi-margin") or Decimal(0)
    for option, kind, text in (("--cap-per-year", CapKind.PER_YEAR, cap_per_year),
                               ("--cap-per-renewal", CapKind.PER_RENEWAL, cap_per_renewal)):
        rate = decimal_option(text, option)
        if rate is not None:
            caps.append(Cap(kind, rate=rate))
    caps += [Cap(CapKind.CPI, cpi=_cpi_path(path), margin=margin) for path in cpi or ()]
    chosen = UpliftTerms(
        licence=amount if amount is not None else base.licence if base else Decimal(0),
        uplift=decimal_option(uplift, "--uplift") or (base.uplift if base else Decimal("0.07")),
        terms=terms or (base.terms if base else 3),
        term_years=term_years or (base.term_years if base else 1),
        success_plan_pct=decimal_option(success_plan_pct, "--success-plan-pct")
        or (base.success_plan_pct if base else Decimal(0)),
        timing=timing or (base.timing if base else UpliftTiming.RENEWAL),
    )
    comparison = terms_service.compare_uplift(chosen, caps)
    if as_json:
        print_json(terms_service.uplift_view(comparison))
        return
    paths = (comparison.uncapped, *comparison.capped)
    rows = [[path.cap.label, money(path.licence_total), money(path.success_plan_total),
             money(path.total), money(comparison.saving(path)), money(path.years[-1].licence),
             percent(path.cumulative_increase)] for path in paths]
    print_table(f"Licence and success plan over {chosen.terms} × {chosen.term_years}-year terms, "
                f"{percent(chosen.uplift)} uplift at each "
                f"{'renewal' if chosen.timing is UpliftTiming.RENEWAL else 'year'}",
                ["cap", "licence", "success plan", "total", "saving vs no cap",
                 "final-year licence", "cumulative increase"], rows,
                ["licence", "success plan", "total", "saving vs no cap", "final-year licence",
                 "cumulative increase"])
    term_rows = [[f"term {term + 1}", *(money(path.term_totals()[term]) for path in paths)]
                 for term in range(chosen.terms)]
    print_table("Licence + success plan by term", ["", *(path.cap.label for path in paths)],
                term_rows, [path.cap.label for path in paths])
    if by_year:
        year_rows = [[year.year + 1, year.term + 1, *(
            f"{money(path.years[year.year].total)} ({percent(path.years[year.year].applied)})"
            for path in paths)] for year in comparison.uncapped.years]
        print_table("By year: licence + success plan (increase applied)",
                    ["year", "term", *(path.cap.label for path in paths)], year_rows,
                    [path.cap.label for path in paths])


def clauses_check_command(
    contract: Annotated[str | None, typer.Argument(
        help="The contract: a workspace contract id (its register-file trueup_scenario and "
             "clause_text are used), or a scenario file (YAML) whose model prices the gaps.",
        show_default=False)] = None,
    text: Annotated[Path | None, typer.Option(
        help="Clause text (plain text): pattern rules propose the marks and quote the "
             "sentences.")] = None,
    scenario: Annotated[Path | None, typer.Option(
        help="Scenario file for the money exposure (same as CONTRACT).")] = None,
    clause: Annotated[str | None, typer.Option(
        help="The scenario clause that stands for the contract (default: the first).")] = None,
    history: Annotated[bool, typer.Option(
        "--history", help="A true-up history is recorded (renewal preparation).")] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The seven points and five pitfalls of a true-up clause: present, missing or unclear.

    Pattern rules over --text quote the sentences behind each mark; with a scenario, the money
    at stake (the model's cost of the vendor-favourable reading) stands next to each gap."""
    from creditops.core.clauses import Mark
    from creditops.services import contract_terms as terms_service

    contract_file = Path(contract) if contract is not None and Path(contract).is_file() else None
    if contract is not None and contract_file is None:
        # Not a file: a contract of the workspace, whose documents the register file names.
        from creditops.services import ledger_inputs, workspace

        opened = workspace.open_workspace(db)
        try:
            named_scenario, named_text = ledger_inputs.contract_documents(opened, contract)
        finally:
            opened.close()
        scenario, text = scenario or named_scenario, text or named_text
    elif contract_file is not None and scenario is not None and contract_file != scenario:
        raise InputError(Problem("give the scenario once: as CONTRACT or as --scenario",
                                 column="--scenario"))
    check = terms_service.check_clauses(scenario_path=scenario or contract_file, text_path=text,
                                        clause_id=clause, has_history=history)
    if as_json:
        print_json(terms_service.clause_check_view(check))
        return
    currency = check.scenario.scenario.currency if check.scenario else ""
    rows = []
    for mark in check.marks:
        exposure = mark.exposure
        at_stake = "" if exposure is None else (
            exposure.basis if exposure.amount is None
            else f"{currency} {money(exposure.amount)} ({exposure.basis})")
        quotes = " / ".join(f"“{evidence.sentence}”" for evidence in mark.evidence)
        rows.append([mark.item.kind.value, mark.item.title, mark.mark.value,
                     quotes or mark.reason, at_stake])
    title = "True-up clause checklist"
    if check.clause is not None:
        title += f" (money: clause {check.clause.id} of {check.scenario.source})" \
            if check.scenario else ""
    print_table(title, ["", "item", "mark", "based on", "at stake if missing"], rows)
    counts = {mark: sum(1 for item in check.marks if item.mark is mark) for mark in Mark}
    console.print(", ".join(f"{count} {mark.value}" for mark, count in counts.items()))


def commit_size_command(
    pool: Annotated[str | None, typer.Argument(
        help="A pool of the workspace: its daily usage is the pilot.", show_default=False)]
    = None,
    usage_csv: Annotated[Path | None, typer.Option(
        help="Instead of a pool, daily consumption from a file, CSV or XLSX: date, quantity "
             "(rows of a day add up; missing days count as zero).", show_default=False)] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="With POOL: the pilot ends the day before this date (default now).")]
    = None,
    db: DbOption = None,
    pilot_days: Annotated[int, typer.Option(min=1, help="Use the last N days as the pilot.")] = 90,
    confidence: Annotated[str, typer.Option(
        help="Probability of consuming the whole commitment within 12 months.")] = "0.90",
    carry_forward: Annotated[str, typer.Option(
        help="Share of unused credits a carry-forward clause would roll into the next 12 "
             "months (0.25 = 25%).")] = "0",
    pack_size: Annotated[str | None, typer.Option(
        help="Round the commitment down to whole packs (e.g. 100000 Flex Credits).")] = None,
    unit_value: Annotated[str | None, typer.Option(
        help="Value of one unit in money (0.005 USD per Flex Credit at list).")] = None,
    growth: Annotated[str, typer.Option(
        help="Annual growth of daily consumption after the pilot (0.20 = +20% a year).")] = "0",
    block_days: Annotated[int, typer.Option(
        min=1, help="Bootstrap block length in days (7 keeps the weekly pattern).")] = 7,
    paths: Annotated[int, typer.Option(min=1, help="Simulated futures.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    as_json: JsonOption = False,
) -> None:
    """Recommend next year's committed credit volume from a pilot's daily consumption.

    Also values 18- or 24-month validity and a carry-forward clause in expected lapse avoided."""
    from creditops.services import commitment as commitment_service

    if (pool is None) == (usage_csv is None):
        raise InputError(Problem("give either a POOL of the workspace or --usage-csv FILE",
                                 column="POOL"))
    if pool is not None:
        from creditops.services import ledger_inputs, workspace

        opened = workspace.open_workspace(db)
        try:
            daily = ledger_inputs.daily_usage(opened, pool, as_of)
            if unit_value is None:
                unit_value = format(ledger_inputs.pool_unit_value(opened, pool), "f")
        finally:
            opened.close()
    else:
        assert usage_csv is not None
        daily = commitment_service.usage_from_csv(usage_csv)
    report = commitment_service.size_from_usage(
        daily,
        pilot_days=pilot_days,
        confidence=decimal_option(confidence, "--confidence") or Decimal(0),
        paths=paths, seed=seed,
        carry_forward_share=decimal_option(carry_forward, "--carry-forward") or Decimal(0),
        pack_size=decimal_option(pack_size, "--pack-size"),
        unit_value=decimal_option(unit_value, "--unit-value"),
        annual_growth=decimal_option(growth, "--growth") or Decimal(0),
        block_days=block_days)
    if as_json:
        print_json(commitment_service.commitment_view(report))
        return
    pilot, sizing = report.pilot, report.sizing

    def units(value: Decimal) -> str:
        return f"{value.quantize(Decimal(1)):,}"

    def worth(value: Decimal) -> str:
        return "" if report.unit_value is None else money(value * report.unit_value)

    console.print(f"Pilot: {pilot.first_day} to {pilot.last_day} ({pilot.days} days), "
                  f"{units(pilot.total)} consumed, {units(pilot.daily_mean)} a day on average.")
    p10, p50, p90 = (units(value) for value in sizing.first_year.values())
    console.print(f"First-year consumption over {sizing.paths:,} simulated futures: P10 {p10}, "
                  f"P50 {p50}, P90 {p90}.")
    rows = [[percent(level.confidence), units(level.volume), worth(level.volume),
             *(units(option.expected_lapse) for option in level.options)]
            for level in report.by_confidence]
    print_table("Commitment by confidence: volume and expected lapse",
                ["confidence", "commit", "value",
                 *(f"lapse, {option.validity.value}" for option in sizing.options)], rows,
                ["confidence", "commit", "value",
                 *(f"lapse, {option.validity.value}" for option in sizing.options)])
    console.print(f"Recommended commitment at {percent(sizing.confidence)} confidence: "
                  f"{units(sizing.volume)}" + (f" (worth {worth(sizing.volume)})"
                                               if report.unit_value is not None else "") + ".")
    for option in sizing.options[1:]:
        console.print(f"  {option.validity.value}: expected lapse {units(option.expected_lapse)}, "
                      f"{units(option.avoided)} avoided"
                      + (f" (worth {worth(option.avoided)})" if report.unit_value is not None
                         else "") + " against 12-month validity.")


def renewal_report_command(
    out: Annotated[Path, typer.Option(help="Where to write the brief.", show_default=False)],
    output_format: Annotated[BriefFormatName, typer.Option(
        "--format", help="html, pdf, or xlsx (the brief's tables).")] = "html",
    scenario: Annotated[Path | None, typer.Option(
        help="Scenario file: true-up exposure and (its uplift section) uplift.")] = None,
    history: Annotated[Path | None, typer.Option(
        help="Recorded true-up settlements (CSV or XLSX).")] = None,
    text: Annotated[Path | None, typer.Option(
        help="Clause text: the checklist's gaps go into the brief.")] = None,
    clause: Annotated[str | None, typer.Option(
        help="The scenario clause that stands for the contract.")] = None,
    paths: Annotated[int | None, typer.Option(
        min=0, help="Growth paths for P10/P50/P90 (0: none; default: the file's).")] = None,
    as_of: Annotated[str | None, typer.Option(
        help="Date of the brief (YYYY-MM-DD; default today).")] = None,
    contract: Annotated[str | None, typer.Option(
        help="A workspace contract: its pools' unused and lapsed incentives, utilisation and "
             "success-plan use from the ledger, and (unless given) its register-file "
             "trueup_scenario and clause_text.")] = None,
    ledger: Annotated[bool, typer.Option(
        "--ledger", help="Include every pool of the workspace (no single contract).")] = False,
    db: DbOption = None,
) -> None:
    """The renewal brief (HTML, PDF or XLSX) and the asks that follow from the data.

    Sections: unused and lapsed incentives, utilisation, outcomes, true-up exposure and history,
    success-plan use, uplift exposure, clause gaps."""
    from creditops.services import renewal_brief as brief_service

    brief_date = date_option(as_of, "--as-of") or date.today()
    ledger_data = None
    if contract is not None or ledger:
        from creditops.services import ledger_inputs, workspace

        opened = workspace.open_workspace(db)
        try:
            ledger_data = ledger_inputs.renewal_inputs(opened, contract_id=contract,
                                                       as_of=brief_date.isoformat())
            if contract is not None:
                named_scenario, named_text = ledger_inputs.contract_documents(opened, contract)
                scenario, text = scenario or named_scenario, text or named_text
        finally:
            opened.close()
    brief = brief_service.build_brief(
        as_of=brief_date, scenario_path=scenario, history_path=history, text_path=text,
        clause_id=clause, simulation_paths=paths, ledger=ledger_data)
    brief_service.write_brief(brief, brief_service.BriefFormat(output_format), out)
    console.print(f"Renewal brief written to {out} ({output_format}, {len(brief.asks)} asks).")


def register(app: typer.Typer, report: typer.Typer) -> None:
    """Adds this module's commands to the main app and the `report` group."""
    app.command("uplift")(uplift_command)
    clauses = typer.Typer(help="True-up clause checklist.", no_args_is_help=True)
    clauses.command("check")(clauses_check_command)
    app.add_typer(clauses, name="clauses")
    commit = typer.Typer(help="Credit commitments: size the next one from a pilot.",
                         no_args_is_help=True)
    commit.command("size")(commit_size_command)
    app.add_typer(commit, name="commit")
    report.command("renewal")(renewal_report_command)
