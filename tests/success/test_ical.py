"""The general iCalendar writer: RFC 5545 output, stable UIDs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from icalendar import Calendar

from creditops.adapters.ical import CalendarEvent, calendar_bytes, stable_uid, write_calendar

STAMP = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)


def test_all_day_and_timed_events_round_trip(tmp_path: Path) -> None:
    events = [
        CalendarEvent(stable_uid("grant-expiry", "pool 1", "g/7"), "Flex Credits expire",
                      date(2026, 12, 31), "50,000 credits left; owner: Ana",
                      categories=("Expiry",)),
        CalendarEvent("timed@creditops", "Renewal call",
                      datetime(2026, 9, 1, 15, 0, tzinfo=timezone(timedelta(hours=2)))),
        CalendarEvent("ranged@creditops", "Workshop", date(2026, 9, 2), end=date(2026, 9, 4)),
    ]
    path = tmp_path / "out.ics"
    write_calendar(path, events, "creditops", STAMP)
    calendar = Calendar.from_ical(path.read_bytes())
    assert calendar["VERSION"] == "2.0" and "creditops" in str(calendar["PRODID"])
    parsed = list(calendar.walk("VEVENT"))
    assert [str(event["UID"]) for event in parsed] == [event.uid for event in events]
    expiry = parsed[0]
    assert expiry.decoded("DTSTART") == date(2026, 12, 31)
    assert expiry.decoded("DTEND") == date(2027, 1, 1)
    assert str(expiry["DESCRIPTION"]) == "50,000 credits left; owner: Ana"
    assert expiry.decoded("DTSTAMP") == STAMP
    timed = parsed[1]
    assert timed.decoded("DTSTART") == datetime(2026, 9, 1, 13, 0, tzinfo=UTC)
    assert "DTEND" not in timed and "DESCRIPTION" not in timed
    assert parsed[2].decoded("DTEND") == date(2026, 9, 4)


def test_uids_are_stable_distinct_and_safe() -> None:
    first = stable_uid("accelerator", "BL 1", "EX/01")
    assert first == stable_uid("accelerator", "BL 1", "EX/01")
    assert first.startswith("accelerator-bl-1-ex-01-") and first.endswith("@creditops")
    # ids that slug the same still get distinct UIDs
    assert stable_uid("accelerator", "BL 1", "EX/01") != stable_uid("accelerator", "BL-1",
                                                                     "EX-01")
    assert stable_uid("a", "b", "c") != stable_uid("a", "b\x1fc")


def test_reexport_keeps_uids_so_clients_update() -> None:
    event = CalendarEvent(stable_uid("accelerator", "B1", "C1"), "Session", date(2026, 8, 3))
    moved = CalendarEvent(event.uid, "Session", date(2026, 8, 10))
    before = Calendar.from_ical(calendar_bytes([event], "x", STAMP))
    after = Calendar.from_ical(calendar_bytes([moved], "x", STAMP + timedelta(days=1)))
    [old], [new] = before.walk("VEVENT"), after.walk("VEVENT")
    assert old["UID"] == new["UID"]
    assert new.decoded("DTSTAMP") > old.decoded("DTSTAMP")


def test_refuses_duplicate_uids_and_naive_times() -> None:
    event = CalendarEvent("same@creditops", "a", date(2026, 1, 1))
    with pytest.raises(ValueError, match="share the UID"):
        calendar_bytes([event, event], "x", STAMP)
    with pytest.raises(ValueError, match=r"stamp .* has no time zone"):
        calendar_bytes([], "x", datetime(2026, 1, 1))
    naive = CalendarEvent("n@creditops", "a", datetime(2026, 1, 1, 9))
    with pytest.raises(ValueError, match="event start"):
        calendar_bytes([naive], "x", STAMP)
    bad_end = CalendarEvent("e@creditops", "a", datetime(2026, 1, 1, 9, tzinfo=UTC),
                            end=datetime(2026, 1, 1, 10))
    with pytest.raises(ValueError, match="event end"):
        calendar_bytes([bad_end], "x", STAMP)
