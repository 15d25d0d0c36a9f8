"""Raw events: daily totals per pool and usage type, ids skipped once imported, exact decimals,
UTC days, rate-card conversion, located errors and quarantine, on both databases."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from creditops.adapters.event_engine import EventEngine, connect_engine
from creditops.adapters.storage.tables import ImportRow
from creditops.adapters.usage_file import file_sha256
from creditops.core.errors import InputError
from creditops.services import consumption as cs
from creditops.services import imports
from creditops.services import workspace as ws
from tests.consumption.conftest import state, usage_rows

HEADER = "id,at,pool,usage_type,quantity\n"


def write(path: Path, lines: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def totals(workspace: ws.Workspace) -> dict[tuple[str, str, str | None], D]:
    return {(r.pool_id, r.at.date().isoformat(), r.usage_type): r.quantity
            for r in usage_rows(workspace)}


def test_daily_totals_in_utc_days_with_duplicates_skipped(workspace, tmp_path, monkeypatch
                                                          ) -> None:
    monkeypatch.setenv("TZ", "America/Los_Angeles")  # the day boundary must not follow it
    first = write(tmp_path / "a.csv", [
        "e1,2026-08-01T00:00:00Z,flex,action,20",
        "e2,2026-08-01T23:59:59.999999Z,flex,action,20.5",
        "e3,2026-08-02T00:00:00Z,flex,action,1.000001",
        "e3,2026-08-02T00:00:00Z,flex,action,1.000001",  # a verbatim replay
        "e4,2026-08-01T22:00:00-04:00,flex,prompt,4",  # 02:00 UTC on the 2nd
        "e5,2026-08-01T12:00:00Z,data-cloud,queries,7",
    ])
    summary = cs.import_events(workspace, str(first))
    assert (summary.rows_read, summary.events, summary.duplicate, summary.daily_totals) == \
        (6, 5, 1, 4)
    assert totals(workspace) == {
        ("data-cloud", "2026-08-01", "queries"): D(7),
        ("flex", "2026-08-01", "action"): D("40.5"),
        ("flex", "2026-08-02", "action"): D("1.000001"),
        ("flex", "2026-08-02", "prompt"): D(4),
    }
    again = cs.import_events(workspace, str(first))
    assert (again.events, again.duplicate, again.daily_totals) == (0, 6, 0)
    assert len(usage_rows(workspace)) == 4
    # A later export overlaps the first and adds events to a day already imported.
    later = write(tmp_path / "b.csv", [
        "e2,2026-08-01T23:59:59.999999Z,flex,action,20.5",
        "e6,2026-08-01T18:00:00Z,flex,action,3",
        "e6,2026-08-01T17:00:00Z,flex,action,9",  # the first copy by time wins
    ])
    added = cs.import_events(workspace, str(later))
    assert (added.events, added.duplicate, added.daily_totals) == (1, 2, 1)
    day = [r for r in usage_rows(workspace) if r.pool_id == "flex"
           and r.at == datetime(2026, 8, 1, tzinfo=UTC)]
    assert sorted(r.quantity for r in day) == [D(9), D("40.5")]
    assert sum(r.quantity for r in usage_rows(workspace)) == D("61.500001")


def test_rollback_lets_the_same_events_in_again(workspace, tmp_path) -> None:
    path = write(tmp_path / "a.csv", ["e1,2026-08-01T10:00:00Z,flex,action,5"])
    summary = cs.import_events(workspace, str(path))
    imports.rollback_import(workspace, summary.import_id)
    assert usage_rows(workspace) == []
    assert cs.import_events(workspace, str(path)).events == 1
    assert len(usage_rows(workspace)) == 1


def test_renamed_columns_globs_and_parquet(workspace, tmp_path) -> None:
    write(tmp_path / "part-1.csv", ["a,2026-08-01T10:00:00Z,flex,2.5,action"],
          header="EventId,EventTime,Pool,Credits,Type\n")
    write(tmp_path / "part-2.csv", ["b,2026-08-01T11:00:00Z,flex,1.5,action"],
          header="EventId,EventTime,Pool,Credits,Type\n")
    mapping = "id=EventId,at=EventTime,pool=Pool,quantity=Credits,usage_type=Type"
    summary = cs.import_events(workspace, str(tmp_path / "part-*.csv"), mapping=mapping)
    assert summary.events == 2 and totals(workspace) == {("flex", "2026-08-01", "action"): D(4)}
    table = pa.table({
        "id": ["a", "c"],
        "at": pa.array([datetime(2026, 8, 1, 10, tzinfo=UTC), datetime(2026, 8, 3, tzinfo=UTC)],
                       pa.timestamp("us", tz="UTC")),
        "pool": ["flex", "data-cloud"],
        "quantity": pa.array([D("2.5"), D("0.25")], pa.decimal128(18, 4)),
    })
    pq.write_table(table, tmp_path / "events.parquet")
    more = cs.import_events(workspace, str(tmp_path / "events.parquet"))
    assert (more.events, more.duplicate) == (1, 1)
    assert totals(workspace)[("data-cloud", "2026-08-03", None)] == D("0.25")


def test_rate_card_converts_natural_units_with_monthly_tiers(workspace, tmp_path) -> None:
    # 3.2 million unification rows on Aug 1 (base tier), then 2 million on Aug 2: the month has
    # 240,000 credits already, so 60,000 fill the base tier and the rest is at the tier-2 rate.
    path = write(tmp_path / "rows.csv", [
        "u1,2026-08-01T10:00:00Z,data-cloud,unification,3200000",
        "u2,2026-08-02T10:00:00Z,data-cloud,unification,2000000",
        "a1,2026-08-02T10:00:00Z,flex,standard_action,3",
    ], )
    with pytest.raises(InputError, match="no usage type 'standard_action'"):
        cs.import_events(workspace, str(path), rate_card="data360-flex")
    write(path, [
        "u1,2026-08-01T10:00:00Z,data-cloud,unification,3200000",
        "u2,2026-08-02T10:00:00Z,data-cloud,unification,2000000",
    ])
    summary = cs.import_events(workspace, str(path), rate_card="data360-flex")
    assert totals(workspace) == {
        ("data-cloud", "2026-08-01", "unification"): D(240_000),
        ("data-cloud", "2026-08-02", "unification"): D(60_000) + D(60_000) * D("1.2"),
    }
    assert summary.low_confidence == ()
    # Next month starts again at the base tier; actions are billed per action.
    write(path, ["u3,2026-09-01T10:00:00Z,data-cloud,unification,1000000",
                 "v1,2026-09-01T10:00:00Z,flex,voice_minutes,2"])
    with pytest.raises(InputError):
        cs.import_events(workspace, str(path), rate_card="data360-flex")
    write(path, ["u3,2026-09-01T10:00:00Z,data-cloud,unification,1000000"])
    cs.import_events(workspace, str(path), rate_card="data360-flex")
    assert totals(workspace)[("data-cloud", "2026-09-01", "unification")] == D(75_000)
    write(path, ["v1,2026-09-01T10:00:00Z,flex,voice_minutes,2"])
    voice = cs.import_events(workspace, str(path), rate_card="flex-credits")
    assert totals(workspace)[("flex", "2026-09-01", "voice_minutes")] == D(120)
    assert any("Voice Minutes" in line for line in voice.low_confidence)


def test_bad_rows_are_located_and_nothing_is_written(workspace, tmp_path) -> None:
    before = state(workspace)
    path = write(tmp_path / "bad.csv", [
        "e1,2026-08-01T10:00:00Z,flex,action,5",
        "e2,2026-08-01T10:00:00Z,nowhere,action,5",
        "e3,2026-08-01T10:00:00Z,flex,action,-1",
        "e4,2026-08-01T10:00:00Z,flex,action,1.1234567",
        ",2026-08-01T10:00:00Z,flex,action,2",
    ])
    with pytest.raises(InputError) as error:
        cs.import_events(workspace, str(path))
    text = [str(p) for p in error.value.problems]
    assert any("row 3, column 'pool': unknown pool 'nowhere'" in t for t in text)
    assert any("row 4, column 'quantity'" in t for t in text)
    assert any("row 5, column 'quantity': not a non-negative decimal" in t for t in text)
    assert any("row 6, column 'id': empty event id" in t for t in text)
    assert "nothing was imported" in text[-1]
    assert state(workspace) == before
    quarantine = tmp_path / "rejects.csv"
    summary = cs.import_events(workspace, str(path), quarantine=quarantine)
    assert (summary.events, summary.rejected) == (1, 4)
    assert quarantine.read_text().count("\n") == 5
    assert totals(workspace) == {("flex", "2026-08-01", "action"): D(5)}
    # The quarantined ids were not counted: a corrected file brings them in.
    write(path, ["e2,2026-08-01T10:00:00Z,flex,action,5", "e1,2026-08-01T10:00:00Z,flex,action,5"])
    assert cs.import_events(workspace, str(path)).events == 1


def test_unparseable_instants_are_located_by_the_reader(workspace, tmp_path) -> None:
    path = write(tmp_path / "bad.csv", ["e1,2026-08-01T10:00:00Z,flex,action,5",
                                        "e2,yesterday,flex,action,5"])
    with pytest.raises(InputError) as error:
        cs.import_events(workspace, str(path))
    problem = error.value.problems[0]
    assert (problem.row, problem.column) == (3, "at")
    quarantine = tmp_path / "q.csv"
    summary = cs.import_events(workspace, str(path), quarantine=quarantine)
    assert (summary.events, summary.rejected) == (1, 1)
    assert "yesterday" in quarantine.read_text()
    # Read again: the rows the reader kept aside are counted as read, and again rejected.
    again = cs.import_events(workspace, str(path), quarantine=quarantine)
    assert (again.rows_read, again.events, again.duplicate, again.rejected) == (2, 0, 1, 1)


def test_csv_files_read_again_count_every_row_they_hold(workspace, tmp_path) -> None:
    """A glob of CSV files seen before: the ids seen are left out as the files are read, and
    the rows read are those of every file (from the engine's profile of the read)."""
    write(tmp_path / "part-1.csv", [f"a{i},2026-08-01T10:00:00Z,flex,action,1" for i in range(3)])
    write(tmp_path / "part-2.csv", ["b1,2026-08-02T10:00:00Z,flex,action,2"])
    first = cs.import_events(workspace, str(tmp_path / "part-*.csv"))
    assert (first.rows_read, first.events) == (4, 4)
    write(tmp_path / "part-3.csv", ["b1,2026-08-02T10:00:00Z,flex,action,2",
                                    "c1,2026-08-03T10:00:00Z,flex,action,7",
                                    "c1,2026-08-03T11:00:00Z,flex,action,8"])
    again = cs.import_events(workspace, str(tmp_path / "part-*.csv"))
    assert (again.rows_read, again.events, again.duplicate, again.daily_totals) == (7, 1, 6, 1)
    assert totals(workspace)[("flex", "2026-08-03", "action")] == D(7)


def test_rows_scanned_reads_the_engines_profile(tmp_path) -> None:
    from creditops.adapters import events as ev

    engine = connect_engine("duckdb", tmp_path)
    try:
        assert engine.rows_scanned("READ_CSV") is None  # nothing profiled yet
        for name, rows in (("a.csv", 3), ("b.csv", 2)):
            write(tmp_path / name, [f"{name}{i},2026-08-01T10:00:00Z,flex,action,1"
                                    for i in range(rows)])
        source = ev.resolve_source(str(tmp_path / "*.csv"), ev.parse_mapping(None), local=True)
        events = ev.read_events(engine, source)
        kept, rows = engine.keep(events.filter(events.id == "a.csv0"), profile=True)
        assert rows == 1 == kept.count().to_pyarrow().as_py()
        assert engine.rows_scanned("READ_CSV") == 5
        assert engine.rows_scanned("READ_PARQUET") is None
        engine.keep(events)  # not profiled: the profile of the statement before stays
        assert engine.rows_scanned("READ_CSV") == 5
    finally:
        engine.close()


def test_a_second_connection_sums_what_keep_stored_while_the_first_goes_on(tmp_path) -> None:
    import threading

    from creditops.adapters import events as ev

    engine = connect_engine("duckdb", tmp_path)
    try:
        write(tmp_path / "a.csv", ["a1,2026-08-01T10:00:00Z,flex,action,1.5",
                                   "a2,2026-08-01T23:59:59Z,flex,action,2",
                                   "a3,2026-08-02T00:00:00Z,flex,,4"])
        source = ev.resolve_source(str(tmp_path / "a.csv"), ev.parse_mapping(None), local=True)
        kept, _ = engine.keep(ev.keyed_events(ev.read_events(engine, source), native=True))
        expected = ev.totals_by_day(kept).to_pyarrow().to_pylist()
        summing = engine.rows_on_the_side(ev.totals_by_day(kept))
        seen: list[object] = []
        side = threading.Thread(target=lambda: seen.extend(summing()))
        side.start()
        assert kept.count().to_pyarrow().as_py() == 3  # this connection, meanwhile
        side.join()
        assert seen == expected
        assert [(t["day"], t["usage_type"], t["quantity"]) for t in expected] == [
            (20666, "action", D("3.5")), (20667, None, D(4))]
    finally:
        engine.close()


def test_the_second_connection_keeps_utc_days_whatever_the_machines_zone(tmp_path) -> None:
    """A new DuckDB connection starts in the machine's time zone; the second connection is put
    in UTC, as Ibis puts the first (checked in a process whose zone is Auckland's)."""
    import subprocess
    import sys

    write(tmp_path / "a.csv", ["a1,2026-08-01T23:59:59Z,flex,action,1"])
    code = f"""
from pathlib import Path
from creditops.adapters import events as ev
from creditops.adapters.event_engine import connect_engine
engine = connect_engine("duckdb", Path({str(tmp_path)!r}))
source = ev.resolve_source({str(tmp_path / "a.csv")!r}, ev.parse_mapping(None), local=True)
kept, _ = engine.keep(ev.read_events(engine, source))
print(engine.rows_on_the_side(kept.select(day=kept.at.date()))()[0]["day"])
engine.close()
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "TZ": "Pacific/Auckland"}, check=True)
    assert result.stdout.strip() == "2026-08-01"


def test_closing_in_the_background_waits_and_reports_what_went_wrong(tmp_path) -> None:
    engine = connect_engine("duckdb", tmp_path)
    engine.close_in_background()
    engine.close()  # waits for the release started above
    engine.close()  # and once released, stays released
    with pytest.raises(Exception, match="closed"):
        engine.backend.con.execute("SELECT 1")

    class Failing(EventEngine):
        def _close(self) -> None:
            raise RuntimeError("the cluster did not answer")

    failing = Failing("spark://nowhere:7077", backend=None, spark=object())
    failing.close_in_background()
    with pytest.raises(RuntimeError, match="did not answer"):
        failing.close()


def test_missing_files_and_columns_are_input_errors(workspace, tmp_path) -> None:
    with pytest.raises(InputError, match="no such file"):
        cs.import_events(workspace, str(tmp_path / "none-*.csv"))
    path = write(tmp_path / "cols.csv", ["1,2"], header="id,when\n")
    with pytest.raises(InputError, match="missing column"):
        cs.import_events(workspace, str(path))
    with pytest.raises(InputError, match="FIELD=COLUMN"):
        cs.import_events(workspace, str(path), mapping="when")
    with pytest.raises(InputError, match="unknown engine"):
        cs.import_events(workspace, str(path), engine_url="presto://x")
    assert state(workspace)[0] == 0


def test_a_parquet_file_that_comes_again_with_more_events(workspace, tmp_path) -> None:
    """Numeric ids, copies within the file, and ids seen before: only new ids count, once."""
    def write_events(name: str, ids: list[int]) -> str:
        pq.write_table(pa.table({
            "EventId": pa.array(ids, pa.int64()),
            "at": pa.array([datetime(2026, 8, 1 + i % 2, 9, tzinfo=UTC) for i in ids],
                           pa.timestamp("us", tz="UTC")),
            "pool": ["flex"] * len(ids),
            "quantity": pa.array([D(i) for i in ids], pa.decimal128(18, 6))}), tmp_path / name)
        return str(tmp_path / name)

    first = cs.import_events(workspace, write_events("a.parquet", [1, 2, 2]), mapping="id=EventId")
    assert (first.rows_read, first.events, first.duplicate) == (3, 2, 1)
    again = cs.import_events(workspace, write_events("b.parquet", [1, 2, 3, 3, 4, 1]),
                             mapping="id=EventId")
    assert (again.rows_read, again.events, again.duplicate) == (6, 2, 4)
    by_day: dict[str, D] = {}
    for row in usage_rows(workspace):
        by_day[row.at.date().isoformat()] = by_day.get(row.at.date().isoformat(), D(0)) \
            + row.quantity
    assert by_day == {"2026-08-02": D(1) + D(3), "2026-08-01": D(2) + D(4)}
    same = cs.import_events(workspace, str(tmp_path / "b.parquet"), mapping="id=EventId")
    assert (same.rows_read, same.events, same.duplicate, same.daily_totals) == (6, 0, 6, 0)


def test_progress_counts_the_rows_read(workspace, tmp_path, monkeypatch) -> None:
    from creditops.adapters import events as ev

    lines = [f"e{i},2026-08-01T10:00:00Z,flex,action,1" for i in range(2000)]
    path = write(tmp_path / "events.csv", lines)
    reports: list[ev.ReadProgress] = []
    priority = os.getpriority(os.PRIO_PROCESS, 0)
    summary = cs.import_events(workspace, str(path), on_progress=reports.append)
    # Only the thread that hashes the file gave up priority, not this one.
    assert os.getpriority(os.PRIO_PROCESS, 0) == priority
    with workspace.session() as session:
        recorded = session.get(ImportRow, summary.import_id)
        assert recorded is not None and recorded.file_hash == file_sha256(path)
    assert summary.rows_read == 2000 and reports[-1] == ev.ReadProgress(2000, 2000, True)
    assert all(r.rows <= (r.total or 0) for r in reports)

    source = ev.resolve_source(str(path), ev.parse_mapping(None), local=True)
    assert ev.expected_rows(source) == (2000, False)  # read whole: the lines, less the header
    monkeypatch.setattr(ev, "SAMPLE_BYTES", 4096)  # a sample: scaled to the file's size
    estimate, exact = ev.expected_rows(source)
    assert not exact and abs(estimate - 2000) <= 200  # the first lines are a little shorter
    pq.write_table(pa.table({"id": ["a", "b", "c"]}), tmp_path / "x.parquet")
    parquet = ev.EventSource("x", [tmp_path / "x.parquet", tmp_path / "x.parquet"], "parquet",
                             ev.parse_mapping(None))
    assert ev.expected_rows(parquet) == (6, True)
    cluster = ev.EventSource("events_table", [], "table", ev.parse_mapping(None))
    assert ev.expected_rows(cluster) == (None, False)


def test_colliding_id_hashes_still_keep_one_first_copy_per_id() -> None:
    import ibis

    from creditops.adapters import events as ev

    at = [datetime(2026, 8, day, 12, tzinfo=UTC) for day in (3, 1, 2, 1, 5)]
    table = ibis.memtable(pa.table({
        "id": ["a", "b", "a", "c", "b"], "at": pa.array(at, pa.timestamp("us", tz="UTC")),
        "pool": ["flex"] * 5, "usage_type": ["t"] * 5,
        "quantity": pa.array([D(1), D(10), D(100), D(1000), D(10000)], pa.decimal128(18, 6)),
        "quantity_ok": [True] * 5}))
    con = ibis.duckdb.connect()

    engine = EventEngine("duckdb", con)

    def per_day(keyed: ibis.Table) -> dict[int, tuple[D, int]]:
        firsts = ev.first_copies(keyed, ev.repeated_hashes(keyed))
        defined = {r["day"]: (D(r["quantity"]), r["events"])
                   for r in con.to_pyarrow(ev.totals_by_day(firsts)).to_pylist()}
        # What the import runs: sorted hashes, then every event less the later copies.
        keyed = con.create_table("keyed", con.to_pyarrow(keyed), overwrite=True)
        fast = {r["day"]: (D(r["quantity"]), r["events"])
                for r in ev.first_copy_totals(engine, keyed)[0]}
        assert fast == defined
        return defined

    first_day = (datetime(2026, 8, 1).date() - ev.EPOCH_DAY).days
    expected = {first_day: (D(1010), 2),  # b's and c's first copies
                first_day + 1: (D(100), 1)}  # a's first copy
    assert per_day(ev.keyed_events(table)) == expected
    assert per_day(ev.keyed_events(table, native=True)) == expected
    # Every id hashed alike: only time is lost, the same copies are kept.
    assert per_day(table.mutate(id_hash=ibis.literal(7, "uint64"))) == expected


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(st.tuples(st.sampled_from("abcdefgh"), st.integers(1, 4),
                                 st.sampled_from(["p", "q"]), st.integers(0, 3),
                                 st.integers(0, 999_999)), min_size=1, max_size=40),
       hash_bits=st.sampled_from([0, 1, 32]))
def test_the_imports_totals_equal_the_single_expression(events, hash_bits) -> None:
    """Any batch, with repeated ids and with hashes that collide (0 or 1 bit kept) or fall on
    either side of the top bit: the totals the import computes are the expression's."""
    import ibis

    from creditops.adapters import events as ev

    table = pa.table({
        "id": [e[0] for e in events],
        "at": pa.array([datetime(2026, 8, e[1], 23, 59, tzinfo=UTC) for e in events],
                       pa.timestamp("us", tz="UTC")),
        "pool": [e[2] for e in events], "usage_type": [f"t{e[3]}" for e in events],
        "quantity": pa.array([D(e[4]).scaleb(-3) if e[4] % 11 else None for e in events],
                             pa.decimal128(18, 6)),
        "quantity_ok": [e[4] % 7 != 0 for e in events],
    })
    con = ibis.duckdb.connect()
    keyed = ev.keyed_events(con.create_table("events", table), native=True)
    assert keyed.id_hash.type() == ibis.dtype("uint32")
    if hash_bits < 32:  # keep only the top bits: many distinct ids share a hash
        mask = ibis.literal(2**32 - 2**(32 - hash_bits) if hash_bits else 0, "uint32")
        keyed = keyed.mutate(id_hash=(keyed.id_hash & mask).cast("uint32"))
    keyed = con.create_table("keyed", con.to_pyarrow(keyed), overwrite=True)
    defined = con.to_pyarrow(ev.totals_by_day(
        ev.first_copies(keyed, ev.repeated_hashes(keyed)))).to_pylist()
    fast, _ = ev.first_copy_totals(EventEngine("duckdb", con), keyed)

    def comparable(totals: list[dict[str, object]]) -> list[tuple[object, ...]]:
        # Where no first copy has a usable quantity the group is flagged (never imported):
        # NULL there, or what the later copies left, is the same verdict.
        return [(t["day"], t["pool"], t["usage_type"], t["events"], t["flagged"],
                 t["quantity"] or D(0)) for t in totals]

    assert comparable(fast) == comparable(defined)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.one_of(
    st.text(alphabet="0123456789.eE+-_ \t", max_size=16),
    st.decimals(min_value=-10**12, max_value=10**12, allow_nan=False,
                allow_infinity=False).map(str),
    st.builds("{}{}{}".format, st.integers(0, 10**9), st.sampled_from("eE"),
              st.integers(-12, 4))), min_size=1, max_size=30))
@example(texts=["1e-7", "1.1234567", " 1.500000  ", "1.0000000", "-0.0000001", ".5"])
def test_a_quantity_is_accepted_only_as_the_exact_value_it_writes(texts) -> None:
    """Whatever the text, an accepted quantity is the exact, non-negative value the text
    writes (a cast rounding a 7th place or an exponent is refused), and every plain decimal
    with at most 6 places is accepted."""
    import re
    from decimal import InvalidOperation

    import ibis

    from creditops.adapters import events as ev

    table = ibis.memtable(pa.table({
        "id": ["x"] * len(texts), "at": ["2026-08-01T00:00:00Z"] * len(texts),
        "pool": ["p"] * len(texts), "usage_type": ["t"] * len(texts), "quantity": texts}))
    typed = ev._typed(table, ev.parse_mapping(None), True)
    for text, row in zip(texts, typed.to_pyarrow().to_pylist(), strict=True):
        if re.search(ev.QUANTITY_TEXT, text):
            assert row["quantity_ok"], text
        if row["quantity_ok"]:
            try:
                written = D(text.strip())
            except InvalidOperation:  # e.g. digit separators: DuckDB's own reading then
                written = D(text.strip().replace("_", ""))
            assert written == row["quantity"] and written >= 0, text
