"""Partner incentive outputs: the JSON document of a result (and back, for locked periods),
statements per partner (HTML), a payouts CSV and an XLSX workbook for finance, and the documents
of a diagnosis and a simulation. Money is written as decimal strings with two places."""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.styles import Font

from creditops.core.incentive_diagnostics import (
    Attainment,
    Diagnosis,
    Distribution,
    Simulation,
)
from creditops.core.incentive_payouts import (
    PartnerMetrics,
    PartnerPayout,
    PayoutLine,
    PeriodMetrics,
    ProgramResult,
)
from creditops.core.incentives import Period
from creditops.core.numbers import normalize, round_money

MONEY_FORMAT = "#,##0.00"


def money(value: Decimal) -> str:
    return format(round_money(value), "f")


def number(value: Decimal) -> str:
    return format(normalize(value), "f")


def _period(period: Period) -> dict[str, str]:
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}


# --- the result as a document ------------------------------------------------------------


def result_document(result: ProgramResult, metrics: bool = False) -> dict[str, Any]:
    """The ``--json`` shape; with ``metrics`` also each partner's figures (for locks)."""
    return {
        "program": result.program,
        "version": result.version,
        "currency": result.currency,
        "period": _period(result.period),
        "baseline_period": _period(result.baseline_period),
        "partners": [_payout_document(payout, metrics) for payout in result.partners],
        "by_rule": {rule: money(amount) for rule, amount in result.by_rule.items()},
        "by_segment": {segment: money(amount) for segment, amount in result.by_segment.items()},
        "total": money(result.total),
        "warnings": list(result.warnings),
    }


def _payout_document(payout: PartnerPayout, metrics: bool) -> dict[str, Any]:
    document: dict[str, Any] = {
        "partner_id": payout.partner_id, "name": payout.name, "segment": payout.segment,
        "total": money(payout.total), "lines": [_line_document(line) for line in payout.lines]}
    if metrics:
        document["metrics"] = {"period": _metrics_document(payout.metrics.period),
                               "baseline": _metrics_document(payout.metrics.baseline),
                               "clawed_deals": list(payout.metrics.clawed_deals),
                               "clawed_revenue": number(payout.metrics.clawed_revenue)}
    return document


def _line_document(line: PayoutLine) -> dict[str, Any]:
    document: dict[str, Any] = {
        "rule": line.rule, "kind": line.kind, "amount": money(line.amount),
        "explain": line.explain,
        "figures": {key: number(value) for key, value in line.figures.items()}}
    if line.refs:
        document["deals"] = list(line.refs)
    return document


def _metrics_document(metrics: PeriodMetrics) -> dict[str, Any]:
    return {"deals": metrics.deals, "revenue": number(metrics.revenue),
            "counts": dict(metrics.counts)}


def result_from_document(document: Mapping[str, Any]) -> ProgramResult:
    """A result back from its document (a locked period), explanations as they were."""
    partners = []
    for item in document["partners"]:
        lines = tuple(PayoutLine(
            line["rule"], line["kind"], Decimal(line["amount"]), tuple(line.get("deals", ())),
            source={key: Decimal(value) for key, value in line["figures"].items()},
            text=line["explain"]) for line in item["lines"])
        partners.append(PartnerPayout(item["partner_id"], item["name"], item["segment"],
                                      Decimal(item["total"]), lines,
                                      _metrics_from(item.get("metrics"))))
    return ProgramResult(
        document["program"], document["version"], document["currency"],
        _period_from(document["period"]), _period_from(document["baseline_period"]),
        tuple(partners),
        {rule: Decimal(amount) for rule, amount in document["by_rule"].items()},
        {segment: Decimal(amount) for segment, amount in document["by_segment"].items()},
        Decimal(document["total"]), tuple(document.get("warnings", ())))


def _period_from(document: Mapping[str, str]) -> Period:
    return Period(date.fromisoformat(document["start"]), date.fromisoformat(document["end"]))


def _metrics_from(document: Mapping[str, Any] | None) -> PartnerMetrics:
    if document is None:
        return PartnerMetrics(PeriodMetrics(), PeriodMetrics())

    def period(item: Mapping[str, Any]) -> PeriodMetrics:
        return PeriodMetrics(item["deals"], Decimal(item["revenue"]), dict(item["counts"]))

    return PartnerMetrics(period(document["period"]), period(document["baseline"]),
                          tuple(document["clawed_deals"]), Decimal(document["clawed_revenue"]))


# --- statements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementFiles:
    directory: Path
    index: Path
    payouts_csv: Path
    statements: int


def write_statements(result: ProgramResult, directory: Path,
                     notes: tuple[str, ...] = ()) -> StatementFiles:
    """One HTML statement per partner, an index, and ``payouts.csv`` (every line)."""
    directory.mkdir(parents=True, exist_ok=True)
    environment = Environment(loader=PackageLoader("creditops.adapters", "partner_templates"),
                              autoescape=select_autoescape(["html"]))
    template = environment.get_template("statement.html")
    common = {"program": result.program, "version": result.version,
              "currency": result.currency, "period_start": result.period.start.isoformat(),
              "period_end": result.period.end.isoformat(), "notes": notes}
    listed = []
    names = _file_names([payout.partner_id for payout in result.partners])
    for payout, name in zip(result.partners, names, strict=True):
        view = {"partner_id": payout.partner_id, "name": payout.name,
                "segment": payout.segment, "total": f"{round_money(payout.total):,.2f}",
                "lines": [{"rule": line.rule, "explain": line.explain,
                           "amount": f"{round_money(line.amount):,.2f}",
                           "negative": line.amount < 0,
                           "figures": {key: f"{normalize(value):,f}"
                                       for key, value in line.figures.items()}}
                          for line in payout.lines]}
        (directory / name).write_text(template.render(partner=view, **common), encoding="utf-8")
        listed.append({**view, "file": name})
    index = directory / "index.html"
    index.write_text(environment.get_template("index.html").render(
        partners=listed, total=f"{round_money(result.total):,.2f}",
        by_rule=[(rule, f"{amount:,.2f}") for rule, amount in result.by_rule.items()],
        by_segment=[(segment, f"{amount:,.2f}") for segment, amount in result.by_segment.items()],
        **common), encoding="utf-8")
    payouts = directory / "payouts.csv"
    write_payouts_csv(result, payouts)
    return StatementFiles(directory, index, payouts, len(listed))


def _file_names(partner_ids: list[str]) -> list[str]:
    """File names from partner ids, safe on every file system and distinct."""
    names, seen = [], set()
    for partner_id in partner_ids:
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", partner_id).strip(".") or "partner"
        name, counter = f"{stem}.html", 1
        while name.lower() in seen or name.lower() == "index.html":
            counter += 1
            name = f"{stem}-{counter}.html"
        seen.add(name.lower())
        names.append(name)
    return names


PAYOUT_COLUMNS = ("partner_id", "name", "segment", "rule", "amount", "explain")


def write_payouts_csv(result: ProgramResult, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PAYOUT_COLUMNS)
        for payout in result.partners:
            for line in payout.lines:
                writer.writerow([payout.partner_id, payout.name, payout.segment, line.rule,
                                 money(line.amount), line.explain])


def write_workbook(result: ProgramResult, path: Path) -> Path:
    """Finance's workbook: partners and totals, every line, totals per rule and segment."""
    book = Workbook()
    partners = book.active
    assert partners is not None
    partners.title = "Partners"
    _header(partners, ("partner_id", "name", "segment", f"total ({result.currency})"))
    for payout in result.partners:
        partners.append([payout.partner_id, payout.name, payout.segment,
                         round_money(payout.total)])
        partners.cell(partners.max_row, 4).number_format = MONEY_FORMAT
    lines = book.create_sheet("Lines")
    _header(lines, ("partner_id", "name", "segment", "rule", f"amount ({result.currency})",
                    "explain"))
    for payout in result.partners:
        for line in payout.lines:
            lines.append([payout.partner_id, payout.name, payout.segment, line.rule,
                          round_money(line.amount), line.explain])
            lines.cell(lines.max_row, 5).number_format = MONEY_FORMAT
    for title, totals in (("By rule", result.by_rule), ("By segment", result.by_segment)):
        sheet = book.create_sheet(title)
        _header(sheet, (title.split()[-1], f"total ({result.currency})"))
        for key, amount in totals.items():
            sheet.append([key, round_money(amount)])
            sheet.cell(sheet.max_row, 2).number_format = MONEY_FORMAT
        sheet.append(["total", round_money(result.total)])
        sheet.cell(sheet.max_row, 2).number_format = MONEY_FORMAT
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def _header(sheet: Any, names: tuple[str, ...]) -> None:
    sheet.append(list(names))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"


# --- diagnosis and simulation --------------------------------------------------------------


def _attainment_document(item: Attainment) -> dict[str, Any]:
    return {"rule": item.goal.rule, "goal": item.goal.label, "segment": item.segment,
            "partners": item.partners, "reached": item.reached, "share": number(item.share)}


def diagnosis_document(diagnosis: Diagnosis) -> dict[str, Any]:
    return {
        "program": diagnosis.program,
        "currency": diagnosis.currency,
        "history_period": _period(diagnosis.history),
        "history_baseline_period": _period(diagnosis.history_baseline),
        "cost": money(diagnosis.cost),
        "attainability": [_attainment_document(item) for item in diagnosis.attainability],
        "rebates": [{"rule": item.rule, "segment": item.segment, "partners": item.partners,
                     "cost": money(item.cost), "paid_for_baseline": money(item.paid_anyway),
                     "paid_for_baseline_share": number(item.anyway_share),
                     "revenue": money(item.revenue),
                     "revenue_above_baseline": money(item.revenue_above_baseline)}
                    for item in diagnosis.rebates],
        "concentration": [{"segment": item.segment, "partners": item.partners,
                           "paid_partners": item.paid_partners,
                           "top_partners": item.top_partners, "total": money(item.total),
                           "top_total": money(item.top_total),
                           "top_share": number(item.top_share)}
                          for item in diagnosis.concentration],
        "findings": [{"code": item.code, "rule": item.rule, "segment": item.segment,
                      "message": item.message} for item in diagnosis.findings],
    }


def _distribution_document(item: Distribution) -> dict[str, Any]:
    return {"segment": item.segment, "partners": item.partners,
            "paid_partners": item.paid_partners, "total": money(item.total),
            "mean": money(item.mean), "median": money(item.median), "p90": money(item.p90),
            "max": money(item.largest)}


def simulation_document(simulation: Simulation) -> dict[str, Any]:
    return {
        "program": simulation.program,
        "currency": simulation.currency,
        "total_cost": money(simulation.total_cost),
        "mean_cost": money(simulation.mean_cost),
        "periods": [{"period": _period(item.period), "cost": money(item.cost),
                     "by_rule": {rule: money(amount) for rule, amount in item.by_rule.items()},
                     "distribution": [_distribution_document(entry)
                                      for entry in item.distribution],
                     "goals": [_attainment_document(entry) for entry in item.attainment]}
                    for item in simulation.periods],
    }
