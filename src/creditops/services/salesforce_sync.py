"""Consumption read from a Salesforce org: `TenantUsageEntitlement` records by SOQL, and, when
asked, Digital Wallet usage events through the Data 360 query API.

Incremental: each source keeps a watermark in the workspace (the newest LastModifiedDate, the
newest processed time of a usage event); the next sync asks only for records at or after it.
Records at the watermark itself come again and change nothing (entitlements are updated in place,
usage events are identified by their Id). A sync is one transaction: entitlements, usage and the
new watermarks are stored together or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditops.adapters.digital_wallet import WalletRow, column_map, parse_instant, wallet_row
from creditops.adapters.salesforce import (
    Credentials,
    SalesforceClient,
    credentials_from_environment,
)
from creditops.adapters.storage.tables import ImportRow, SalesforceEntitlementRow, SyncStateRow
from creditops.adapters.usage_file import BadRow
from creditops.core.errors import InputError, Problem
from creditops.services.wallet import WalletSummary, _summary, import_wallet_rows, wallet_matchers
from creditops.services.workspace import Workspace, current_actor

ENTITLEMENT_FIELDS = ("Id", "MasterLabel", "Setting", "ResourceGroupKey", "Frequency",
                      "AmountUsed", "CurrentAmountAllowed", "StartDate", "EndDate", "UsageDate",
                      "LastModifiedDate")
WALLET_FIELDS = ("id__c", "eventtime__c", "processedtime__c", "carddefinitiondevelopername__c",
                 "usagetypedevelopername__c", "unitsconsumed__c", "usagereportingorgid__c",
                 "entitlementorgid__c", "usagebusinessenvtype__c")
ENTITLEMENTS_KEY = "salesforce.entitlements.last_modified"
WALLET_KEY = "salesforce.digital_wallet.processed_time"
ORIGIN = "Salesforce Data 360 query"


@dataclass(frozen=True)
class SyncSummary:
    import_id: int
    entitlements_read: int
    entitlements_changed: int
    entitlement_watermark: str | None
    wallet_rows_read: int = 0
    wallet_watermark: str | None = None
    wallet: WalletSummary | None = None


@dataclass(frozen=True)
class Entitlement:
    id: str
    master_label: str | None
    setting: str | None
    resource_group_key: str | None
    frequency: str | None
    amount_used: Decimal | None
    current_amount_allowed: Decimal | None
    start_date: date | None
    end_date: date | None
    usage_date: datetime | None
    last_modified: datetime


@dataclass(frozen=True)
class SyncStatus:
    watermarks: dict[str, str]
    entitlements: list[Entitlement]


def soql_instant(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{instant.microsecond // 1000:03d}Z"


def entitlement_query(watermark: str | None) -> str:
    where = f" WHERE LastModifiedDate >= {watermark}" if watermark else ""
    return (f"SELECT {', '.join(ENTITLEMENT_FIELDS)} FROM TenantUsageEntitlement{where} "
            "ORDER BY LastModifiedDate")


def wallet_query(object_name: str, watermark: str | None) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", object_name):
        raise InputError(Problem(f"{object_name!r} is not an object API name",
                                 column="--digital-wallet"))
    where = ""
    if watermark:
        if not re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", watermark):
            raise InputError(Problem(f"the stored watermark {watermark!r} is not a timestamp; "
                                     "sync with --full", column=WALLET_KEY))
        where = f" WHERE processedtime__c >= TIMESTAMP '{watermark}'"
    return f"SELECT {', '.join(WALLET_FIELDS)} FROM {object_name}{where} ORDER BY processedtime__c"


def _read_watermarks(session: Session) -> dict[str, str]:
    return {row.key: row.value for row in session.scalars(select(SyncStateRow))}


def _set_watermark(session: Session, key: str, value: str, now: datetime) -> None:
    row = session.get(SyncStateRow, key)
    if row is None:
        session.add(SyncStateRow(key=key, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def _instant(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value)
    if re.search(r"[+-]\d{4}$", text):  # Salesforce writes +0000
        text = text[:-2] + ":" + text[-2:]
    return parse_instant(text)


def _store_entitlements(session: Session, records: Iterator[dict[str, Any]], import_id: int
                        ) -> tuple[int, int, datetime | None]:
    read = changed = 0
    newest: datetime | None = None
    for record in records:
        read += 1
        modified = _instant(record.get("LastModifiedDate"))
        if modified is None or not record.get("Id"):
            raise InputError(Problem("a TenantUsageEntitlement record without Id or "
                                     "LastModifiedDate", source="Salesforce"))
        values = {
            "master_label": record.get("MasterLabel"), "setting": record.get("Setting"),
            "resource_group_key": record.get("ResourceGroupKey"),
            "frequency": record.get("Frequency"),
            "amount_used": _decimal(record.get("AmountUsed")),
            "current_amount_allowed": _decimal(record.get("CurrentAmountAllowed")),
            "start_date": _day(record.get("StartDate")), "end_date": _day(record.get("EndDate")),
            "usage_date": _instant(record.get("UsageDate")), "last_modified": modified,
        }
        row = session.get(SalesforceEntitlementRow, record["Id"])
        if row is None:
            session.add(SalesforceEntitlementRow(id=record["Id"], import_id=import_id, **values))
            changed += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            row.import_id = import_id
            changed += 1
        newest = modified if newest is None or modified > newest else newest
    return read, changed, newest


class _WalletRows:
    """Data 360 rows as Digital Wallet rows, noting the newest processed time."""

    def __init__(self, rows: Iterator[dict[str, Any]]) -> None:
        self.rows = rows
        self.read = 0
        self.newest: datetime | None = None

    def __iter__(self) -> Iterator[WalletRow | BadRow]:
        columns: dict[str, str] | None = None
        for record in self.rows:
            self.read += 1
            values = {k: "" if v is None else (format(v, "f") if isinstance(v, Decimal)
                                               else str(v)) for k, v in record.items()}
            if columns is None:
                columns = column_map(list(values), ORIGIN)
            processed = values.get("processedtime__c") or values.get(columns["event_time"], "")
            try:
                instant = parse_instant(processed)
                self.newest = instant if self.newest is None or instant > self.newest \
                    else self.newest
            except ValueError:
                pass
            yield wallet_row(self.read, values, columns, ORIGIN)


def sync_salesforce(workspace: Workspace, *, wallet_object: str | None = None, full: bool = False,
                    credentials: Credentials | None = None,
                    connect: Callable[[Credentials], SalesforceClient] = SalesforceClient,
                    actor: str | None = None, now: datetime | None = None) -> SyncSummary:
    now = now or datetime.now(UTC)
    client = connect(credentials or credentials_from_environment())
    with workspace.session() as session:
        watermarks = {} if full else _read_watermarks(session)
        record = ImportRow(kind="salesforce", source=client.credentials.base_login_url,
                           file_hash="-", actor=actor or current_actor(), at=now)
        session.add(record)
        session.flush()
        read, changed, newest = _store_entitlements(
            session, client.soql(entitlement_query(watermarks.get(ENTITLEMENTS_KEY))),
            record.id)
        entitlement_mark = soql_instant(newest) if newest else watermarks.get(ENTITLEMENTS_KEY)
        if entitlement_mark:
            _set_watermark(session, ENTITLEMENTS_KEY, entitlement_mark, now)
        summary = SyncSummary(record.id, read, changed, entitlement_mark)
        if wallet_object is None:
            record.rows_read = read
            record.rows_accepted = changed
            record.rows_duplicate = read - changed
            return summary
        rows = _WalletRows(client.data360(wallet_query(wallet_object,
                                                       watermarks.get(WALLET_KEY))))
        matchers = wallet_matchers(session)
        counts = import_wallet_rows(session, record, rows, ORIGIN, None, matchers)
        wallet = _summary(session, record, counts, None, 0)
        wallet_mark = rows.newest.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") \
            if rows.newest else watermarks.get(WALLET_KEY)
        if wallet_mark:
            _set_watermark(session, WALLET_KEY, wallet_mark, now)
        record.rows_read += read
        return SyncSummary(record.id, read, changed, entitlement_mark, rows.read, wallet_mark,
                           wallet)


def sync_status(workspace: Workspace) -> SyncStatus:
    with workspace.session() as session:
        rows = session.scalars(select(SalesforceEntitlementRow)
                               .order_by(SalesforceEntitlementRow.master_label))
        entitlements = [Entitlement(**{name: getattr(row, name)
                                       for name in Entitlement.__dataclass_fields__})
                        for row in rows]
        return SyncStatus(_read_watermarks(session), entitlements)
