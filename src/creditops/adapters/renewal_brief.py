"""The renewal brief as HTML (Jinja2), PDF (WeasyPrint) and XLSX (its tables)."""

from __future__ import annotations

import warnings
from datetime import date
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from creditops.adapters.renewal_charts import bar_chart, grouped_columns
from creditops.adapters.renewal_workbook import Cell, Table, write_workbook
from creditops.core.errors import InputError, Problem
from creditops.core.numbers import round_money, round_to
from creditops.core.renewal_brief import IncentiveStatus, RenewalBrief


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{round_money(value):,}"


def _quantity(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def _pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{round_to(value * 100, 1)}%"


def _day(value: date | None) -> str:
    return "—" if value is None else value.isoformat()


def _environment() -> Environment:
    environment = Environment(loader=PackageLoader("creditops.adapters", "renewal_templates"),
                              autoescape=select_autoescape(["html"]), trim_blocks=True,
                              lstrip_blocks=True)
    environment.filters.update(money=_money, quantity=_quantity, pct=_pct, day=_day)
    return environment


def _charts(brief: RenewalBrief) -> dict[str, str]:
    charts = {}
    if brief.trueup is not None:
        charts["trueup"] = bar_chart([f"{c.clause} {c.name}".strip() for c in
                                      brief.trueup.clauses],
                                     [c.total for c in brief.trueup.clauses])
    if brief.uplift is not None:
        charts["uplift"] = grouped_columns(
            [f"Term {index + 1}" for index in range(brief.uplift.terms)],
            [(line.cap, line.by_term) for line in brief.uplift.lines])
    if brief.utilisation:
        charts["utilisation"] = bar_chart(
            [line.kind for line in brief.utilisation],
            [(line.utilisation or Decimal(0)) * 100 for line in brief.utilisation])
    if brief.history is not None and brief.history.cumulative:
        points = brief.history.cumulative
        charts["history"] = grouped_columns([when.strftime("%Y-%m") for when, _ in points],
                                            [("cumulative true-up", [v for _, v in points])])
    return charts


def render_html(brief: RenewalBrief) -> str:
    years = len(brief.trueup.clauses[0].by_year) if brief.trueup and brief.trueup.clauses else 0
    return _environment().get_template("brief.html").render(
        brief=brief,
        charts=_charts(brief),
        years=years,
        has_percentiles=bool(brief.trueup and any(c.p50 is not None
                                                  for c in brief.trueup.clauses)),
        lapsed_total=brief.incentive_total(IncentiveStatus.LAPSED),
        unused_total=brief.incentive_total(IncentiveStatus.UNUSED),
    )


def _write(out: Path, content: bytes) -> None:
    try:
        out.write_bytes(content)
    except OSError as error:
        raise InputError(Problem(f"cannot write: {error.strerror or error}",
                                 source=str(out))) from None


def write_html(brief: RenewalBrief, out: Path) -> None:
    _write(out, render_html(brief).encode("utf-8"))


def write_pdf(brief: RenewalBrief, out: Path) -> None:
    # WeasyPrint warns at import when an optional font library is absent; PDFs render anyway.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from weasyprint import HTML
    _write(out, HTML(string=render_html(brief)).write_pdf())


def brief_tables(brief: RenewalBrief) -> list[Table]:
    tables = [Table("Asks", ["ask", "why", "at stake"],
                    [[ask.title, ask.rationale, _rounded(ask.amount)] for ask in brief.asks],
                    frozenset(["at stake"]))]
    tables.append(Table(
        "Incentives", ["pool", "kind", "grant", "unused", "unit", "value", "effective",
                       "expires", "status"],
        [[line.pool, line.kind, line.grant, line.quantity, line.unit, _rounded(line.value),
          line.effective, line.expires, line.status.value] for line in brief.incentives],
        frozenset(["value"])))
    tables.append(Table(
        "Utilisation", ["kind", "unit", "granted", "consumed", "lapsed", "utilisation",
                        "value granted", "value lapsed"],
        [[line.kind, line.unit, line.granted, line.consumed, line.lapsed, line.utilisation,
          _rounded(line.value_granted), _rounded(line.value_lapsed)]
         for line in brief.utilisation],
        frozenset(["value granted", "value lapsed"]), frozenset(["utilisation"])))
    tables.append(Table("Outcomes", ["pool", "metric", "before", "after", "note"],
                        [[o.pool, o.metric, o.before, o.after, o.note] for o in brief.outcomes]))
    if brief.trueup is not None:
        years = len(brief.trueup.clauses[0].by_year) if brief.trueup.clauses else 0
        year_columns = [f"year {index + 1}" for index in range(years)]
        rows: list[list[Cell]] = [
            [c.clause, c.name, _rounded(c.total), *(_rounded(v) for v in c.by_year),
             c.pct_of_original, c.effective_discount, _rounded(c.p10), _rounded(c.p50),
             _rounded(c.p90)] for c in brief.trueup.clauses]
        tables.append(Table("True-up", ["clause", "name", "true-up", *year_columns,
                                        "% of original", "effective discount", "P10", "P50",
                                        "P90"], rows,
                            frozenset(["true-up", *year_columns, "P10", "P50", "P90"]),
                            frozenset(["% of original", "effective discount"])))
    if brief.uplift is not None:
        terms = [f"term {index + 1}" for index in range(brief.uplift.terms)]
        tables.append(Table("Uplift", ["cap", *terms, "total", "saving"],
                            [[line.cap, *(_rounded(v) for v in line.by_term),
                              _rounded(line.total), _rounded(line.saving)]
                             for line in brief.uplift.lines],
                            frozenset([*terms, "total", "saving"])))
    if brief.history is not None:
        history = brief.history
        history_rows: list[list[Cell]] = [[when, round_money(cost)]
                                          for when, cost in history.cumulative]
        history_rows += [["total", round_money(history.total_cost)],
                         ["premium over original rate", round_money(history.premium)],
                         ["% of original", history.pct_of_original],
                         ["pattern", history.pattern], ["forecast", history.forecast_verdict],
                         ["disputes", history.disputes]]
        tables.append(Table("History", ["date", "cumulative true-up"], history_rows,
                            frozenset(["cumulative true-up"])))
    if brief.success_plan is not None:
        plan = brief.success_plan
        tables.append(Table("Success plan", ["plan", "annual cost", "entitled", "used",
                                             "utilisation", "cases", "severity 1", "note"],
                            [[plan.plan, _rounded(plan.annual_cost), plan.entitled, plan.used,
                              plan.utilisation, plan.cases, plan.severity_1_cases, plan.note]],
                            frozenset(["annual cost"]), frozenset(["utilisation"])))
    if brief.clause_gaps:
        tables.append(Table("Clause gaps", ["item", "kind", "mark", "at stake", "basis", "quote"],
                            [[g.item, g.kind, g.mark, _rounded(g.exposure), g.basis, g.quote]
                             for g in brief.clause_gaps], frozenset(["at stake"])))
    return tables


def _rounded(value: Decimal | None) -> Decimal | None:
    return None if value is None else round_money(value)


def write_xlsx(brief: RenewalBrief, out: Path) -> None:
    write_workbook(out, brief_tables(brief))
