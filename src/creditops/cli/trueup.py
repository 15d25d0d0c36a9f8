"""The `creditops trueup` commands: each clause's true-up cost (model), its P10/P50/P90 under
uncertain growth (simulate), the contracted quantity with the lowest expected cost (optimise),
and the review of recorded settlements (history)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from creditops.cli.output import console, decimal_option, print_json, print_table
from creditops.cli.renewal import JsonOption, date_option, money, percent
from creditops.core.trueup import later_settlement_costs

if TYPE_CHECKING:
    from creditops.core.trueup import Figures

# The services (and with them numpy, openpyxl) are imported inside the commands: `creditops --help`
# and every other area's commands do not pay for them.

FileArgument = Annotated[Path, typer.Argument(help="Scenario file (YAML).", show_default=False)]
PathsOption = Annotated[int | None, typer.Option(
    "--paths", min=1, help="Growth paths to simulate (default: the file's, else 10,000).")]
SeedOption = Annotated[int | None, typer.Option(
    "--seed", help="Random seed (default: the file's, else 1).")]


def model_command(
    file: FileArgument,
    as_json: JsonOption = False,
    xlsx: Annotated[Path | None, typer.Option(
        "--xlsx", help="Also write the tables (clauses, by month, adds) to this workbook.")] = None,
) -> None:
    """Each clause's true-up cost side by side, and the spread between the best and the worst."""
    from creditops.services import renewal as service

    model = service.model_trueup(file)
    if xlsx is not None:
        service.write_trueup_workbook(model, xlsx)
    if as_json:
        print_json(service.trueup_view(model))
        return
    scenario, result = model.file.scenario, model.result
    years = [f"year {year + 1}" for year in range(scenario.term.years)]
    header = ["clause", "pricing", "timing", "coterm", "backbill", "true-up", *years, "beyond",
              "% of original", "eff. discount"]
    numeric = ["true-up", *years, "beyond", "% of original", "eff. discount"]

    def row(label: list[str], figures: Figures) -> list[str]:
        return [*label, money(figures.trueup_total),
                *(money(amount) for amount in figures.trueup_by_year), money(figures.beyond_term),
                percent(figures.trueup_pct_of_original), percent(figures.effective_discount)]

    rows = []
    for clause_result in result.clauses:
        clause = clause_result.clause
        pricing = clause.pricing.value + (f" (cap {clause.cap})" if clause.cap is not None else "")
        rows.append(row([clause.id, pricing, clause.timing.value, "yes" if clause.coterm else "no",
                         "yes" if clause.backbill else "no"], clause_result.figures))
    title = f"True-up cost per clause ({scenario.currency})"
    print_table(title + (f": {scenario.name}" if scenario.name else ""), header, rows, numeric)
    if len(scenario.products) > 1:
        product_rows = [row([c.clause.id, p.product.id, "", "", ""], p.figures)
                        for c in result.clauses for p in c.products]
        print_table("Per product", ["clause", "product", "", "", "", *header[5:]], product_rows,
                    numeric)
    original = result.best.figures.original_contract_value
    console.print(f"Original contract value: {scenario.currency} {money(original)}; "
                  f"licences added over the term: {result.best.figures.licences_added}")
    console.print(f"Spread: clause {result.worst.clause.id} costs {scenario.currency} "
                  f"{money(result.spread)} more than clause {result.best.clause.id}.")
    for case in later_settlement_costs(result):
        console.print(
            f"Note: settling later costs more here: clause {case.later.clause.id} "
            f"({case.later.clause.timing.value}) costs {scenario.currency} {money(case.extra)} "
            f"more than {case.earlier.clause.id} ({case.earlier.clause.timing.value}), because "
            "its settlements fall in dearer contract years.")
    if xlsx is not None:
        console.print(f"Workbook written to {xlsx}")


def simulate_command(file: FileArgument, paths: PathsOption = None, seed: SeedOption = None,
                     as_json: JsonOption = False) -> None:
    """P10/P50/P90 of each clause's true-up cost under uncertain growth (Monte Carlo)."""
    from creditops.services import renewal as service

    simulation = service.simulate_trueup(file, paths, seed)
    if as_json:
        print_json(service.simulation_view(simulation))
        return
    scenario = simulation.file.scenario
    rows = []
    for result in simulation.clauses:
        summaries = [("all", result.total)]
        if len(result.products) > 1:
            summaries += list(result.products.items())
        for product_id, summary in summaries:
            rows.append([result.clause.id, product_id,
                         *(money(value) for value in summary.percentiles.values()),
                         money(summary.mean), percent(summary.share_with_trueup)])
    print_table(f"True-up cost over {simulation.paths:,} growth paths ({scenario.currency}, "
                f"seed {simulation.seed})",
                ["clause", "product", "P10", "P50", "P90", "mean", "paths with true-up"], rows,
                ["P10", "P50", "P90", "mean", "paths with true-up"])


def optimise_command(
    file: FileArgument, paths: PathsOption = None, seed: SeedOption = None,
    points: Annotated[int, typer.Option(min=1, help="Curve points around the optimum.")] = 11,
    step: Annotated[int | None, typer.Option(
        min=1, help="Licences between curve points (default: spread over the range).")] = None,
    as_json: JsonOption = False,
) -> None:
    """The flat contracted quantity with the lowest expected subscription + true-up."""
    from creditops.services import renewal as service

    result = service.optimise_trueup(file, paths, seed)
    if as_json:
        print_json(service.optimisation_view(result, points, step))
        return
    currency = result.file.scenario.currency
    for clause in result.clauses:
        for optimum in clause.products:
            rows = []
            for point in service.curve_around(optimum, points, step):
                marks = [label for label, quantity in (("optimum", optimum.best.quantity),
                                                       ("file", optimum.current.quantity))
                         if point.quantity == quantity]
                rows.append([point.quantity, money(point.subscription),
                             money(point.expected_trueup), money(point.expected_total),
                             money(point.expected_total - optimum.best.expected_total),
                             ", ".join(marks)])
            print_table(f"Clause {clause.clause.id}, {optimum.product.name}: expected cost by "
                        f"contracted quantity ({currency}, {result.paths:,} paths)",
                        ["quantity", "subscription", "expected true-up", "expected total",
                         "over optimum", ""], rows,
                        ["quantity", "subscription", "expected true-up", "expected total",
                         "over optimum"])
            saving = optimum.current.expected_total - optimum.best.expected_total
            console.print(f"Best quantity {optimum.best.quantity:,} (file: "
                          f"{optimum.current.quantity:,}); expected saving {currency} "
                          f"{money(saving)}.")


def history_command(
    settlements: Annotated[Path, typer.Argument(
        help="Recorded settlements (CSV or XLSX): date, product, quantity_added, price_paid, "
             "original_rate[, months, amount, forecast_quantity, disputed, note].",
        show_default=False)],
    original_value: Annotated[str | None, typer.Option(
        help="Original contract value, for the % figures.")] = None,
    scenario: Annotated[Path | None, typer.Option(
        help="Scenario file: original contract value, term end and currency.")] = None,
    term_end: Annotated[str | None, typer.Option(
        help="Last day of the term (YYYY-MM-DD): settlements without 'months' are billed to "
             "it; otherwise 12 months.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Review recorded true-up settlements: cost, prices, growth pattern, forecast, disputes."""
    from creditops.services import contract_terms as terms_service

    history = terms_service.trueup_history(
        settlements, original_value=decimal_option(original_value, "--original-value"),
        scenario_path=scenario, term_last_day=date_option(term_end, "--term-end"))
    if as_json:
        print_json(terms_service.history_view(history))
        return
    review, currency = history.review, history.currency
    rows = [[item.settlement.when.isoformat(), item.settlement.product,
             item.settlement.quantity_added, item.settlement.price_paid,
             item.settlement.original_rate, item.months, money(item.cost), money(item.premium),
             "" if item.settlement.forecast_quantity is None
             else item.settlement.forecast_quantity,
             "yes" if item.settlement.disputed else ""] for item in review.settlements]
    print_table(f"True-up settlements ({currency})",
                ["date", "product", "added", "price paid", "original rate", "months", "cost",
                 "premium", "forecast", "disputed"], rows,
                ["added", "price paid", "original rate", "months", "cost", "premium", "forecast"])
    product_rows = [[product.product, product.quantity_added, money(product.cost),
                     money(product.premium),
                     "" if product.average_price is None else money(product.average_price),
                     "" if product.average_original_rate is None
                     else money(product.average_original_rate)]
                    for product in review.products]
    print_table("Prices paid against the original rate",
                ["product", "added", "cost", "premium", "paid per licence-month",
                 "original rate"], product_rows,
                ["added", "cost", "premium", "paid per licence-month", "original rate"])
    share = (f" = {percent(review.pct_of_original)} of the original contract value "
             f"({currency} {money(review.original_contract_value)})"
             if review.original_contract_value else "")
    console.print(f"Cumulative true-up cost: {currency} {money(review.total_cost)}{share}; "
                  f"{currency} {money(review.total_premium)} over the original rate.")
    pattern = review.pattern
    detail = f" (peaks in Q{pattern.peak_quarter})" if pattern.peak_quarter else ""
    if pattern.variation is not None:
        detail += (f"; variation {percent(pattern.variation)}, largest settlement "
                   f"{percent(pattern.largest_share)} of adds")
    console.print(f"Growth pattern: {pattern.pattern.value}{detail}.")
    forecast = review.forecast
    if forecast.bias is not None:
        console.print(f"Forecast: {forecast.verdict.value}: {forecast.actual:,} added against "
                      f"{forecast.forecast:,} forecast ({percent(forecast.bias)}; mean absolute "
                      f"error {percent(forecast.mean_absolute_error)}).")
    else:
        console.print(f"Forecast: {forecast.verdict.value}.")
    for item in review.disputed:
        console.print(f"Disputed {item.settlement.when.isoformat()} {item.settlement.product}: "
                      f"{currency} {money(item.cost)}. {item.settlement.note}")



def register(app: typer.Typer, report: typer.Typer) -> None:
    """Adds the `trueup` group to the main app."""
    trueup = typer.Typer(help="True-up clauses: model, simulate, optimise, history.",
                         no_args_is_help=True)
    trueup.command("model")(model_command)
    trueup.command("simulate")(simulate_command)
    trueup.command("optimise")(optimise_command)
    trueup.command("history")(history_command)
    app.add_typer(trueup, name="trueup")
