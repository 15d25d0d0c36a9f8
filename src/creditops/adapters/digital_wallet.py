"""Digital Wallet usage rows: report exports (CSV or XLSX) of `TenantEnrichedUsageEvent` data,
and the same rows read through the Data 360 query API.

Column names are matched loosely so that every spelling Salesforce uses works: the report
export's API names (``EventTime``), its labels (``Event Time``), the data lake object's
(``eventtime__c``) and the standard data model object's (``std__EventTime__c``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from creditops.adapters.usage_file import BadRow, iter_table
from creditops.core.errors import InputError, Problem
from creditops.core.numbers import parse_decimal

# field → accepted spellings (simplified: lower case, letters and digits only)
FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("id", "idc"),
    "event_time": ("eventtime", "eventime"),
    "card": ("carddefinitiondevelopername",),
    "usage_type": ("usagetypedevelopername",),
    "units_consumed": ("unitsconsumed",),
    "usage_value": ("usagevalue",),
    "unit": ("unit",),
    "multiplier": ("multiplier",),
    "org": ("usagereportingorgidentifier", "usagereportingorgid"),
    "entitlement_org": ("entitlementorgidentifier", "entitlementorgid"),
    "env": ("usagebusinessenvtype", "businessenvtype"),
}
REQUIRED = ("id", "event_time", "card", "units_consumed")
ENVIRONMENTS = {"production": "production", "prod": "production", "sandbox": "sandbox"}


@dataclass(frozen=True)
class WalletRow:
    row: int
    id: str
    event_time: datetime
    card: str
    usage_type: str | None
    org: str | None
    env: str | None
    units_consumed: Decimal


def simplified(name: str) -> str:
    name = name.strip()
    name = re.sub(r"^std__", "", name, flags=re.IGNORECASE)
    name = re.sub(r"__c$", "", name, flags=re.IGNORECASE)
    return "".join(ch for ch in name.lower() if ch.isalnum())


def column_map(header: list[str], source: str) -> dict[str, str]:
    """field → the file's column; refuses a file without the required columns."""
    by_simple = {simplified(name): name for name in header}
    found = {}
    for field_name, spellings in FIELDS.items():
        for spelling in spellings:
            if spelling in by_simple:
                found[field_name] = by_simple[spelling]
                break
    missing = [f for f in REQUIRED if f not in found]
    if missing:
        names = {"id": "Id", "event_time": "EventTime", "card": "CardDefinitionDeveloperName",
                 "units_consumed": "UnitsConsumed"}
        raise InputError(Problem(
            f"missing column(s) {', '.join(names[m] for m in missing)}; a Digital Wallet export "
            "of TenantEnrichedUsageEvent has EventTime, CardDefinitionDeveloperName, "
            "UsageTypeDeveloperName, UnitsConsumed, Id, ...", source=source, row=1))
    return found


def parse_instant(text: str) -> datetime:
    """ISO 8601 (``2026-10-01T08:15:00.000Z``), or the ``2026-10-01 08:15:00.000 UTC`` form of
    the query API; an instant without offset is UTC."""
    cleaned = text.strip()
    if cleaned.upper().endswith(" UTC"):
        cleaned = cleaned[:-4]
    try:
        instant = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 instant "
                         "(e.g. 2026-10-01T08:15:00Z)") from None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def wallet_row(row: int, values: Mapping[str, str], columns: Mapping[str, str], source: str
               ) -> WalletRow | BadRow:
    problems: list[Problem] = []

    def value(field_name: str) -> str:
        column = columns.get(field_name)
        return (values.get(column) or "").strip() if column else ""

    def bad(field_name: str, reason: str) -> None:
        problems.append(Problem(reason, source=source, row=row,
                                column=columns.get(field_name, field_name)))

    identifier = value("id")
    if not identifier:
        bad("id", "empty Id")
    elif len(identifier) > 64:
        bad("id", "an Id longer than 64 characters")
    card = value("card")
    if not card:
        bad("card", "empty card developer name")
    event_time = None
    try:
        event_time = parse_instant(value("event_time"))
    except ValueError as error:
        bad("event_time", str(error))
    units = Decimal(0)
    try:
        units = parse_decimal(value("units_consumed"))
        if units < 0:
            bad("units_consumed", f"negative units consumed {units}")
    except ValueError as error:
        bad("units_consumed", str(error))
    env_text = value("env")
    env = ENVIRONMENTS.get(env_text.lower()) if env_text else None
    if env_text and env is None:
        bad("env", f"{env_text!r} is neither Production nor Sandbox")
    if problems or event_time is None:
        return BadRow(row, dict(values), problems)
    org = value("org") or value("entitlement_org") or None
    return WalletRow(row, identifier, event_time, card, value("usage_type") or None, org, env,
                     units)


def read_wallet_rows(path: Path, on_bytes: Callable[[int], None] | None = None
                     ) -> Iterator[WalletRow | BadRow]:
    source = str(path)
    rows = iter_table(path, on_bytes)
    _, header = next(rows)
    columns = column_map(list(header), source)
    for row_number, values in rows:
        yield wallet_row(row_number, values, columns, source)
