"""iCalendar (RFC 5545) files that Outlook and Google Calendar import.

One general writer for every kind of event creditops exports (Accelerator sessions, grant
expiries, alert lead dates, milestones, renewals). Each event's UID is derived from the ids of
what it stands for, so importing a newer export updates the events instead of duplicating them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from icalendar import Calendar, Event

PRODUCT_ID = "-//creditops//creditops//EN"
UID_DOMAIN = "creditops"


@dataclass(frozen=True)
class CalendarEvent:
    """One event. A ``date`` start makes an all-day event; a ``datetime`` must carry its time
    zone. ``end`` defaults to the next day for all-day events and to none (a point in time)
    otherwise."""

    uid: str
    summary: str
    start: date | datetime
    description: str = ""
    end: date | datetime | None = None
    categories: tuple[str, ...] = field(default=())


def stable_uid(kind: str, *ids: str) -> str:
    """A UID that is the same every time for the same ``kind`` and ids: readable, and safe
    whatever characters the ids hold (a short hash keeps distinct ids distinct)."""
    raw = json.dumps([kind, *ids])
    slug = re.sub(r"[^A-Za-z0-9]+", "-", "-".join((kind, *ids))).strip("-").lower()[:60]
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:12]
    return f"{slug}-{digest}@{UID_DOMAIN}"


def _in_utc(value: date | datetime, what: str) -> date | datetime:
    """Dates stay dates; instants are written in UTC, which every client reads without a
    VTIMEZONE block."""
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        raise ValueError(f"{what} {value.isoformat()} has no time zone")
    return value.astimezone(UTC)


def calendar_bytes(events: Iterable[CalendarEvent], name: str, stamp: datetime) -> bytes:
    """The calendar as RFC 5545 bytes. ``stamp`` (DTSTAMP, aware) tells clients which copy of
    an event is newer."""
    utc_stamp = _in_utc(stamp, "stamp")
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    seen: set[str] = set()
    for item in events:
        if item.uid in seen:
            raise ValueError(f"two events share the UID {item.uid!r}")
        seen.add(item.uid)
        start = _in_utc(item.start, "event start")
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", utc_stamp)
        event.add("summary", item.summary)
        event.add("dtstart", start)
        end = item.end
        if end is None and not isinstance(item.start, datetime):
            end = item.start + timedelta(days=1)
        if end is not None:
            event.add("dtend", _in_utc(end, "event end"))
        if item.description:
            event.add("description", item.description)
        if item.categories:
            event.add("categories", list(item.categories))
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def write_calendar(path: Path, events: Iterable[CalendarEvent], name: str,
                   stamp: datetime) -> None:
    """Writes the events to ``path`` as an .ics file (replacing it)."""
    path.write_bytes(calendar_bytes(events, name, stamp))
