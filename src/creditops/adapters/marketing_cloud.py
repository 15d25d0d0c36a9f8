"""Marketing Cloud Engagement send logs: extracts of the `_Sent` data view (one row per email
sent) and of `_SMSMessageTracking` (one row per SMS segment), as CSV or XLSX.

Each row becomes one message of a channel (a usage type of the super-message rate card) with an
identity that stays the same in overlapping extracts: JobID, ListID, BatchID and SubscriberID for
an email, MobileMessageTrackingID for an SMS. Data-view times have no offset; Marketing Cloud
keeps them in its system time (UTC-6 all year) unless the extract says otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from creditops.adapters.digital_wallet import simplified
from creditops.adapters.usage_file import BadRow, iter_table
from creditops.core.errors import InputError, Problem

EMAIL_KEY = ("jobid", "listid", "batchid", "subscriberid")
SMS_KEY = "mobilemessagetrackingid"
TRUE = {"1", "true", "yes", "y"}
FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
           "%m/%d/%Y")


@dataclass(frozen=True)
class SentMessage:
    row: int
    id: str
    at: datetime
    usage_type: str  # a usage type of the super-message card


def parse_zone(text: str) -> tzinfo:
    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text.strip())
    if match:
        sign = 1 if match.group(1) == "+" else -1
        return timezone(sign * timedelta(hours=int(match.group(2)),
                                         minutes=int(match.group(3))))
    try:
        return ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(Problem(f"{text!r} is neither an offset (-06:00) nor a time zone "
                                 "(America/Chicago)", column="--timezone")) from None


def parse_time(text: str, zone: tzinfo) -> datetime:
    cleaned = text.strip()
    try:
        instant = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        for layout in FORMATS:
            try:
                instant = datetime.strptime(cleaned, layout)
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"{text!r} is not a date and time (e.g. 2026-10-01 08:15:23 or "
                             "10/1/2026 8:15:23 AM)") from None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=zone)


def _columns(header: list[str]) -> dict[str, str]:
    return {simplified(name): name for name in header}


def read_sent_messages(path: Path, zone: tzinfo, high_priority: set[str],
                       on_bytes: Callable[[int], None] | None = None
                       ) -> Iterator[SentMessage | BadRow | None]:
    """One item per row: a message, a bad row, or None for a row that is no sent message (an
    inbound SMS)."""
    source = str(path)
    rows = iter_table(path, on_bytes)
    _, header = next(rows)
    columns = _columns(list(header))
    if SMS_KEY in columns:
        time_column = columns.get("createdatetime") or columns.get("actiondatetime")
        if time_column is None:
            raise InputError(Problem("an _SMSMessageTracking extract needs CreateDateTime or "
                                     "ActionDateTime", source=source, row=1))
        for row_number, values in rows:
            yield _sms(row_number, values, columns, time_column, zone, source)
        return
    if all(key in columns for key in (*EMAIL_KEY, "eventdate")):
        for row_number, values in rows:
            yield _email(row_number, values, columns, zone, high_priority, source)
        return
    raise InputError(Problem(
        "not a known send log: expected the _Sent data view (JobID, ListID, BatchID, "
        "SubscriberID, EventDate) or _SMSMessageTracking (MobileMessageTrackingID, "
        "CreateDateTime, Mobile, Outbound)", source=source, row=1))


def _email(row: int, values: Mapping[str, str], columns: Mapping[str, str], zone: tzinfo,
           high_priority: set[str], source: str) -> SentMessage | BadRow:
    problems = []
    parts = []
    for key in EMAIL_KEY:
        text = (values.get(columns[key]) or "").strip()
        if not text:
            problems.append(Problem("empty", source=source, row=row, column=columns[key]))
        parts.append(text)
    at = None
    try:
        at = parse_time(values.get(columns["eventdate"]) or "", zone)
    except ValueError as error:
        problems.append(Problem(str(error), source=source, row=row, column=columns["eventdate"]))
    if problems or at is None:
        return BadRow(row, dict(values), problems)
    send_key = (values.get(columns.get("triggeredsendcustomerkey", "")) or "").strip()
    usage_type = "high_priority_triggered_email" if send_key and send_key in high_priority \
        else "email"
    return SentMessage(row, "email:" + ":".join(parts), at, usage_type)


def _sms(row: int, values: Mapping[str, str], columns: Mapping[str, str], time_column: str,
         zone: tzinfo, source: str) -> SentMessage | BadRow | None:
    outbound = columns.get("outbound")
    if outbound is not None and (values.get(outbound) or "").strip().lower() not in TRUE:
        return None
    problems = []
    identifier = (values.get(columns[SMS_KEY]) or "").strip()
    if not identifier:
        problems.append(Problem("empty", source=source, row=row, column=columns[SMS_KEY]))
    at = None
    try:
        at = parse_time(values.get(time_column) or "", zone)
    except ValueError as error:
        problems.append(Problem(str(error), source=source, row=row, column=time_column))
    mobile_column = columns.get("mobile")
    digits = re.sub(r"\D", "", values.get(mobile_column) or "") if mobile_column else ""
    if mobile_column is not None and not digits:
        problems.append(Problem("no mobile number", source=source, row=row,
                                column=mobile_column))
    if problems or at is None:
        return BadRow(row, dict(values), problems)
    us = not digits or (len(digits) == 11 and digits.startswith("1"))
    return SentMessage(row, f"sms:{identifier}", at,
                       "sms_us_segment" if us else "sms_international_segment")
