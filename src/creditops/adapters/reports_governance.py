"""The governance review as HTML (Jinja2), XLSX (one sheet per table) and Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from creditops.adapters.renewal_workbook import Cell, Table, write_workbook
from creditops.core.errors import InputError, Problem
from creditops.core.governance import GovernanceReport
from creditops.core.numbers import normalize, round_to


@dataclass(frozen=True)
class Section:
    title: str
    note: str
    header: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    money: frozenset[str] = frozenset()
    ratio: frozenset[str] = frozenset()


def _ratio(value: Decimal | None) -> Decimal | None:
    return None if value is None else normalize(round_to(value, 4))


def sections(report: GovernanceReport) -> list[Section]:
    """The report's tables, in reading order; cells keep their types (numbers as numbers)."""
    c = report.currency
    money_kind = frozenset({f"used {c}", f"lapsed {c}", f"used YTD {c}", f"lapsed YTD {c}",
                            f"remaining {c}", f"at risk {c}", f"overage {c}"})
    kinds = Section(
        "Value by kind", f"Used and lapsed in {report.period.label} and the year to date; "
        "remaining and at-risk value as of the report date.",
        ("kind", "pools", f"used {c}", f"lapsed {c}", f"used YTD {c}", f"lapsed YTD {c}",
         f"remaining {c}", f"at risk {c}", f"overage {c}"),
        [(k.kind, k.pools, k.used_value, k.lapsed_value, k.used_value_ytd, k.lapsed_value_ytd,
          k.remaining_value, k.at_risk_value, k.overage_value)
         for k in (*report.kinds, report.total)], money=money_kind)
    risk = Section(
        "At risk", "Grants whose baseline projection loses more than the risk threshold.",
        ("pool", "grant", "last day", "projected to lapse", "share", f"value {c}", "owner"),
        [(r.pool_id, r.grant_id, r.last_day, r.projected, _ratio(r.projected_pct), r.value,
          r.owner) for r in report.at_risk],
        money=frozenset({f"value {c}"}), ratio=frozenset({"share"}))
    alerts = Section(
        "Alerts", f"Raised in {report.period.label} by rule: " + (", ".join(
            f"{rule} {count}" for rule, count in report.alerts_by_rule.items()) or "none")
        + ". Open and acknowledged alerts:",
        ("id", "raised", "rule", "subject", "title", "state"),
        [(a.id, a.raised.date(), a.rule, a.subject, a.title, a.state)
         for a in report.open_alerts])
    plans = Section(
        "Plan progress", "Cumulative planned use of the milestones due so far against actual "
        "consumption; coverage = planned ahead ÷ remaining; front-loading = share planned in "
        "the first half of the grant's life.",
        ("pool", "planned to date", "actual to date", "behind", "coverage", "front-loading",
         "next milestone"),
        [(p.pool_id, p.planned_to_date, p.actual_to_date, _ratio(p.behind_pct),
          _ratio(p.coverage), _ratio(p.front_loading), p.next_milestone) for p in report.plans],
        ratio=frozenset({"behind", "coverage", "front-loading"}))
    outcomes = Section(
        "Outcomes", "Before/after metrics and the value used to get there.",
        ("outcome", "metric", "before", "after", "unit", "from", "to", f"value used {c}",
         "note"),
        [(headline, o.metric, o.before, o.after, o.unit, o.before_day, o.after_day,
          o.value_used, o.note) for o, headline in report.outcomes],
        money=frozenset({f"value used {c}"}))
    pools = Section(
        "Pools", "Units per pool (the value tables above are these × unit value).",
        ("pool", "kind", "unit", "used", "lapsed", "used YTD", "lapsed YTD", "remaining",
         "at risk", "status"),
        [(p.pool_id, p.kind, p.unit, p.consumed, p.lapsed, p.consumed_ytd, p.lapsed_ytd,
          p.remaining, p.at_risk, p.status) for p in report.pools])
    return [kinds, risk, alerts, plans, outcomes, pools]


def _text(value: Cell | datetime, ratio: bool = False, money: bool = False) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        if ratio:
            return f"{normalize(round_to(value * 100, 1)):f}%"
        if money:
            return f"{value:,.2f}"
        return f"{normalize(value):,f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _cells(section: Section) -> list[list[str]]:
    return [[_text(cell, name in section.ratio, name in section.money)
             for name, cell in zip(section.header, row, strict=True)] for row in section.rows]


def _subtitle(report: GovernanceReport) -> str:
    return (f"{report.period.label} ({report.period.start.isoformat()} to "
            f"{(report.period.end).isoformat()}, exclusive), as of "
            f"{report.as_of.isoformat()}")


def markdown(report: GovernanceReport) -> str:
    def escape(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [f"# {report.title}", "", _subtitle(report), "", f"**{report.headline}**", ""]
    for section in sections(report):
        lines += [f"## {section.title}", "", section.note, ""]
        if not section.rows:
            lines += ["(none)", ""]
            continue
        lines.append("| " + " | ".join(section.header) + " |")
        lines.append("|" + "|".join("---" for _ in section.header) + "|")
        lines += ["| " + " | ".join(escape(cell) for cell in row) + " |"
                  for row in _cells(section)]
        lines.append("")
    return "\n".join(lines)


def html(report: GovernanceReport) -> str:
    environment = Environment(loader=PackageLoader("creditops.adapters", "governance_templates"),
                              autoescape=select_autoescape(["html"]), trim_blocks=True,
                              lstrip_blocks=True)
    template = environment.get_template("governance.html")
    return template.render(report=report, subtitle=_subtitle(report),
                           sections=[(s, _cells(s)) for s in sections(report)])


def workbook_tables(report: GovernanceReport) -> Sequence[Table]:
    summary = Table("Summary", ("item", "value"), [
        ("title", report.title), ("period", report.period.label),
        ("start", report.period.start), ("end (exclusive)", report.period.end),
        ("as of", report.as_of.isoformat()), ("summary", report.headline)])
    return [summary, *(Table(s.title, s.header, s.rows, s.money, s.ratio)
                       for s in sections(report))]


def write_governance(report: GovernanceReport, path: Path, fmt: str) -> None:
    if fmt == "xlsx":
        write_workbook(path, workbook_tables(report))
        return
    text = html(report) if fmt == "html" else markdown(report)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise InputError(Problem(f"cannot write the report: {error.strerror or error}",
                                 source=str(path))) from None
