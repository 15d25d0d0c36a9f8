"""The columnar engine and the row-by-row reference agree, to the cent and word for word, on
generated programs and data (CSV and Parquet, dates and instants in several time zones), and
report bad data with the same problems."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from creditops.adapters.partner_engine import ColumnarEvents
from creditops.adapters.partner_events import (
    inspect_events,
    read_events,
)
from creditops.adapters.partner_reports import result_document
from creditops.core.errors import InputError
from creditops.core.incentive_reference import (
    Partner,
    check_events,
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
    check_program,
)
from tests.partners.helpers import (
    both_engines,
    issue_program,
    partner,
    write_events_csv,
    write_events_parquet,
)

D = Decimal
TIERS = ("Platinum", "Gold", "Silver", "Registered", "Other")
SEGMENTS = (Segment("strategic", (("tier", frozenset({"Platinum"})),)),
            Segment("growth", (("tier", frozenset({"Gold", "Silver"})),)),
            Segment("emerging", (("tier", frozenset({"Registered"})),)))
BEHAVIOURS = ("opportunity_registered", "training_completed", "customer_meeting",
              "campaign_run", "email_sent", "webinar_hosted")


def money(places: int = 2, top: int = 100_000) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=0, max_value=top, places=places, allow_nan=False,
                       allow_infinity=False)


rates = st.decimals(min_value=0, max_value=D("0.2"), places=4)
segment_lists = st.one_of(st.just(("all",)), st.lists(
    st.sampled_from(("strategic", "growth", "emerging")), min_size=1, max_size=3,
    unique=True).map(tuple))
metrics = st.sampled_from(("deals", "revenue", "customer_meeting", "webinar_hosted"))


@st.composite
def rules(draw: st.DrawFn, index: int) -> Rule:
    kind = draw(st.sampled_from(("rebate", "target", "tiered", "improvement", "points")))
    rule_id, segments = f"{kind}-{index}", draw(segment_lists)
    if kind == "rebate":
        if draw(st.booleans()):
            return PerDealRebate(rule_id, segments, rate=draw(rates))
        return PerDealRebate(rule_id, segments, amount=draw(money(3, 500)))
    metric = draw(metrics)
    if kind == "target":
        return Target(rule_id, segments, metric, draw(money(0, 4)) if metric != "revenue"
                      else draw(money(2, 150_000)), draw(money(2, 5000)))
    if kind == "tiered":
        starts = sorted(draw(st.sets(money(0, 10) if metric != "revenue"
                                     else money(2, 400_000), min_size=1, max_size=3)))
        return Tiered(rule_id, segments, metric,
                      tuple(Tier(start, draw(rates)) for start in starts))
    if kind == "improvement":
        return Improvement(rule_id, segments, metric, draw(rates), draw(rates),
                           draw(money(0, 5) if metric != "revenue" else money(2, 50_000)),
                           draw(st.none() | money(2, 3000)))
    chosen = draw(st.lists(st.sampled_from(BEHAVIOURS), min_size=1, max_size=4, unique=True))
    return Points(rule_id, segments, draw(st.decimals(min_value=D("0.01"), max_value=5,
                                                      places=2)),
                  tuple((name, draw(st.integers(1, 60))) for name in chosen),
                  draw(st.none() | st.integers(1, 200)))


@st.composite
def programs(draw: st.DrawFn) -> Program:
    start = date(2027, 2, 1) + timedelta(days=draw(st.integers(0, 30)))
    period = Period(start, start + timedelta(days=draw(st.integers(0, 90))))
    count = draw(st.integers(1, 5))
    return check_program(Program(
        "generated", "EUR", period, draw(st.sampled_from(list(Baseline))), SEGMENTS,
        tuple(draw(rules(index)) for index in range(count)),
        Caps(draw(st.none() | money(2, 8000)), draw(st.none() | money(2, 20000))),
        draw(st.sampled_from(("UTC", "America/New_York", "Asia/Tokyo"))),
        ("webinar_hosted",)))


def instant(day: date, hour: int, style: str) -> str:
    if style == "date":
        return day.isoformat()
    text = f"{day.isoformat()}T{hour:02d}:{(hour * 7) % 60:02d}:05"
    return {"utc": text + "Z", "offset": text + "-10:00", "east": text + ".25+05:30",
            "naive": text.replace("T", " ")}[style]


@st.composite
def activity(draw: st.DrawFn, program: Program) -> tuple[list[Partner], list[list[Any]]]:
    partners = [partner(f"P{number}", draw(st.sampled_from(TIERS)))
                for number in range(draw(st.integers(1, 6)))]
    first = program.baseline_period.start - timedelta(days=60)
    span = (program.period.end - first).days + 20
    styles = st.sampled_from(("date", "utc", "offset", "east", "naive"))
    rows: list[list[Any]] = []
    windows = {"period": program.period, "baseline": program.baseline_period,
               "any": Period(first, first + timedelta(days=span))}
    for number in range(draw(st.integers(3, 45))):
        owner = draw(st.sampled_from(partners)).partner_id
        window = windows[draw(st.sampled_from(("period", "period", "baseline", "any")))]
        day = window.start + timedelta(days=draw(st.integers(0, window.days - 1)))
        kind = draw(st.sampled_from(("deal_closed",) * 4 + BEHAVIOURS))
        at = instant(day, draw(st.integers(0, 23)), draw(styles))
        if kind != "deal_closed":
            rows.append([f"e{number}", owner, at, kind, None, None])
            continue
        amount = draw(st.decimals(min_value=0, max_value=200_000, places=draw(
            st.sampled_from((0, 2, 4)))))
        rows.append([f"d{number}", owner, at, kind, format(amount, "f"), None])
        if draw(st.integers(0, 3)) == 0:  # reversed, at least two days later in any zone
            later = day + timedelta(days=2 + draw(st.integers(0, 120)))
            rows.append([f"r{number}", owner, later.isoformat(), "deal_reversed", None,
                         f"d{number}"])
    order = draw(st.permutations(range(len(rows))))
    return partners, [rows[index] for index in order]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_both_engines_agree_to_the_cent(data: st.DataObject) -> None:
    program = data.draw(programs())
    partners, rows = data.draw(activity(program))
    deals = sorted(row[0] for row in rows if row[3] == "deal_closed")
    late = frozenset(data.draw(st.lists(st.sampled_from(deals), unique=True)) if deals else [])
    form = data.draw(st.sampled_from(("csv", "parquet", "typed")))
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), form, rows)
        reference, columnar = both_engines(program, partners, path, late)
    assert result_document(columnar, metrics=True) == result_document(reference, metrics=True)
    assert columnar == reference
    kinds = {line.kind for payout in reference.partners for line in payout.lines
             if line.amount}
    for kind in sorted(kinds):
        event(f"paid: {kind}")


def _write(folder: Path, form: str, rows: list[list[Any]]) -> Path:
    if form == "csv":
        return write_events_csv(folder / "events.csv", rows)
    if form == "parquet":
        return write_events_parquet(folder / "events.parquet", rows)
    typed = [[*row[:2], _typed_at(row[2]), row[3],
              None if row[4] is None else D(row[4]), row[5]] for row in rows]
    return write_events_parquet(folder / "events.parquet", typed, {
        "at": pa.timestamp("us", tz="UTC"), "amount": pa.decimal128(20, 4)})


def _typed_at(text: str) -> Any:
    from datetime import UTC, datetime

    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


BAD = {
    "unknown partner": [["e1", "ghost", "2027-02-03", "email_sent", None, None]],
    "unknown deal": [["r1", "P1", "2027-02-03", "deal_reversed", None, "nope"]],
    "reversal before its deal": [["d1", "P1", "2027-02-03", "deal_closed", "10", None],
                                 ["r1", "P1", "2027-02-02", "deal_reversed", None, "d1"]],
    "reversal by another partner": [["d1", "P1", "2027-02-03", "deal_closed", "10", None],
                                    ["r1", "P2", "2027-02-04", "deal_reversed", None, "d1"]],
    "duplicate deal and double reversal": [
        ["d1", "P1", "2027-02-03", "deal_closed", "10", None],
        ["d1", "P1", "2027-02-04", "deal_closed", "20", None],
        ["r1", "P1", "2027-02-05", "deal_reversed", None, "d1"],
        ["r2", "P1", "2027-02-06", "deal_reversed", None, "d1"]],
    "bad rows": [
        [None, None, None, None, None, None],
        ["d1", "P1", "2027-02-30", "deal_closed", "12.345678", None],
        ["d2", "P1", "yesterday", "deal_closed", "-5", None],
        ["d3", "P1", "2027-02-01T24:00:00Z", "deal_closed", None, None],
        ["e1", "P1", "2027-02-01", "meeting", None, None],
        ["r1", "P1", "2027-02-01", "deal_reversed", "4", None]],
    "many problems": [[f"e{number}", f"x{number}", "2027-02-03", "email_sent", None, None]
                      for number in range(25)],
}


@pytest.mark.parametrize("form", ["csv", "parquet"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_both_engines_report_bad_data_alike(case: str, form: str, tmp_path: Path) -> None:
    program = issue_program()
    partners = [partner("P1"), partner("P2")]
    path = _write(tmp_path, form, BAD[case])
    events = inspect_events(path)
    with pytest.raises(InputError) as by_reference:
        parsed = read_events(events, program.timezone, program.known_kinds)
        check_events(parsed, {item.partner_id for item in partners}, events.source)
    with pytest.raises(InputError) as by_engine:
        ColumnarEvents(events, program, partners).close()
    assert [str(problem) for problem in by_engine.value.problems] == \
        [str(problem) for problem in by_reference.value.problems]
    assert by_engine.value.problems


def test_the_bad_rows_are_worded_for_people(tmp_path: Path) -> None:
    path = write_events_csv(tmp_path / "events.csv", BAD["bad rows"])
    with pytest.raises(InputError) as caught:
        ColumnarEvents(inspect_events(path), issue_program(), [partner("P1")]).close()
    source = str(path)
    assert [str(problem).replace(source, "events.csv") for problem in caught.value.problems] == [
        "events.csv, row 2, column 'id': missing id",
        "events.csv, row 2, column 'partner_id': missing partner_id",
        "events.csv, row 2, column 'at': missing at",
        "events.csv, row 2, column 'kind': missing kind",
        "events.csv, row 3, column 'at': '2027-02-30' is not a date (YYYY-MM-DD) or an instant "
        "(YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|±HH:MM])",
        "events.csv, row 3, column 'amount': '12.345678' is not an amount (a plain decimal, at "
        "most 14 digits before the point and 4 after)",
        "events.csv, row 4, column 'at': 'yesterday' is not a date (YYYY-MM-DD) or an instant "
        "(YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|±HH:MM])",
        "events.csv, row 4, column 'amount': amount -5 of a deal is negative",
        "events.csv, row 5, column 'at': '2027-02-01T24:00:00Z' is not a date (YYYY-MM-DD) or an "
        "instant (YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|±HH:MM])",
        "events.csv, row 5, column 'amount': a deal_closed needs an amount",
        "events.csv, row 6, column 'kind': unknown event kind 'meeting' (known: deal_closed, "
        "deal_reversed, opportunity_registered, training_completed, customer_meeting, "
        "campaign_run, email_sent; declare others under kinds: in the program)",
        "events.csv, row 7, column 'ref': a deal_reversed needs ref: the id of the deal it "
        "reverses"]


def test_the_engines_agree_on_synthetic_activity(tmp_path: Path) -> None:
    """The benchmark's generator: consistent data (the engines' checks pass) and agreement."""
    import numpy as np
    import pyarrow.parquet as pq

    from creditops.adapters.partner_synthetic import events_table, partners_table

    rng = np.random.default_rng(11)
    people, size = partners_table(40, rng)
    activity = events_table(people, size, 6000, date(2026, 5, 1), date(2027, 4, 30), rng)
    days = activity.column("at").to_pylist()
    assert days == sorted(days)
    assert len(set(activity.column("id").to_pylist())) == activity.num_rows
    path = tmp_path / "events.parquet"
    pq.write_table(activity, path)
    partners = [Partner(row["partner_id"], row["name"],
                        {key: row[key] for key in ("tier", "type", "region")})
                for row in people.to_pylist()]
    reference, columnar = both_engines(issue_program(), partners, path)
    assert result_document(columnar, metrics=True) == result_document(reference, metrics=True)
    assert any(payout.metrics.clawed_deals for payout in reference.partners)
