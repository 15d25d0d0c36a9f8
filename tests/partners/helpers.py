"""Builders for partner-program tests: the issue's example program in code, partners, events,
and files in both formats the engines read."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from creditops.adapters.partner_engine import ColumnarEvents
from creditops.adapters.partner_events import (
    EventsFile,
    inspect_events,
    read_events,
)
from creditops.core.incentive_payouts import (
    ProgramResult,
)
from creditops.core.incentive_reference import (
    Event,
    Partner,
    check_events,
    evaluate,
)
from creditops.core.incentives import (
    Baseline,
    Caps,
    Improvement,
    PerDealRebate,
    Period,
    Points,
    Program,
    Rule,
    Segment,
    Target,
    Tier,
    Tiered,
)

D = Decimal
PERIOD = Period(date(2027, 2, 1), date(2027, 4, 30))
SEGMENTS = (
    Segment("strategic", (("tier", frozenset({"Platinum"})),)),
    Segment("growth", (("tier", frozenset({"Gold", "Silver"})),)),
    Segment("emerging", (("tier", frozenset({"Registered"})),)),
)
POINTS = (("opportunity_registered", 10), ("training_completed", 25), ("customer_meeting", 5),
          ("campaign_run", 50), ("email_sent", 1))


def issue_rules() -> tuple[Rule, ...]:
    return (
        PerDealRebate("rebate", ("strategic", "growth", "emerging"), rate=D("0.02")),
        Target("ten-deals", ("growth", "emerging"), "deals", D(10), D(5000)),
        Tiered("tiers", ("strategic",), "revenue",
               (Tier(D(0), D(0)), Tier(D(500000), D("0.01")), Tier(D(1000000), D("0.02")))),
        Improvement("growth", ("growth", "emerging"), "revenue", D("0.10"), D("0.05"),
                    D(50000), D(20000)),
        Points("behaviour", ("all",), D("2.00"), POINTS, 2000),
    )


def issue_program(**changes: Any) -> Program:
    fields: dict[str, Any] = {
        "id": "fy27-q1", "currency": "USD", "period": PERIOD, "baseline": Baseline.PREVIOUS,
        "segments": SEGMENTS, "rules": issue_rules(), "caps": Caps(per_partner=D(50000))}
    fields.update(changes)
    return Program(**fields)


def partner(partner_id: str, tier: str = "Gold", **attributes: str) -> Partner:
    return Partner(partner_id, f"Partner {partner_id}",
                   {"tier": tier, "type": "Reseller", "region": "EMEA", **attributes})


class Events:
    """Numbered events, row numbers as in a CSV file (the header is row 1)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, event_id: str, partner_id: str, on: date, kind: str,
            amount: Decimal | str | None = None, ref: str | None = None) -> Events:
        self.events.append(Event(event_id, partner_id, on, kind,
                                 None if amount is None else D(amount), ref,
                                 len(self.events) + 2))
        return self

    def deal(self, event_id: str, partner_id: str, on: date, amount: Decimal | str) -> Events:
        return self.add(event_id, partner_id, on, "deal_closed", amount)

    def reversal(self, event_id: str, partner_id: str, on: date, ref: str) -> Events:
        return self.add(event_id, partner_id, on, "deal_reversed", ref=ref)

    def many(self, prefix: str, partner_id: str, on: date, kind: str, count: int) -> Events:
        for number in range(count):
            self.add(f"{prefix}{number}", partner_id, on, kind)
        return self


EVENT_HEADER = ("id", "partner_id", "at", "kind", "amount", "ref")


def write_partners(path: Path, partners: Sequence[Partner]) -> Path:
    extra = sorted({key for item in partners for key in item.attributes}
                   - {"tier", "type", "region"})
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["partner_id", "name", "tier", "type", "region", *extra])
        for item in partners:
            writer.writerow([item.partner_id, item.name, *(item.attributes.get(key, "")
                                                           for key in ("tier", "type", "region",
                                                                       *extra))])
    return path


def write_events_csv(path: Path, rows: Sequence[Sequence[Any]],
                     header: Sequence[str] = EVENT_HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(["" if value is None else str(value) for value in row] for row in rows)
    return path


def write_events_parquet(path: Path, rows: Sequence[Sequence[Any]],
                         types: dict[str, pa.DataType] | None = None) -> Path:
    kinds = {"id": pa.string(), "partner_id": pa.string(), "at": pa.string(),
             "kind": pa.string(), "amount": pa.string(), "ref": pa.string(), **(types or {})}
    columns = {name: pa.array([row[index] for row in rows], type=kinds[name])
               for index, name in enumerate(EVENT_HEADER)}
    pq.write_table(pa.table(columns), path)
    return path


def rows_of(events: Events) -> list[list[Any]]:
    return [[event.id, event.partner_id, event.on.isoformat(), event.kind,
             None if event.amount is None else format(event.amount, "f"), event.ref]
            for event in events.events]


def both_engines(program: Program, partners: Sequence[Partner], events: EventsFile | Path,
                 late: frozenset[str] = frozenset()) -> tuple[ProgramResult, ProgramResult]:
    """(reference, columnar) results of the same files."""
    events_file = events if isinstance(events, EventsFile) else inspect_events(events)
    parsed = read_events(events_file, program.timezone, program.known_kinds)
    check_events(parsed, {item.partner_id for item in partners}, events_file.source)
    reference = evaluate(program, partners, parsed, late)
    with ColumnarEvents(events_file, program, partners) as engine:
        columnar = engine.evaluate(program, late)
    return reference, columnar
