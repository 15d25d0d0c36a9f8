"""The raw-event aggregation is one Ibis expression: the same totals, to the last decimal, on
DuckDB and on a local PySpark session (Java and PySpark are installed by `make test`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import duckdb
import ibis
import pyarrow as pa
import pytest

from creditops.adapters.events import daily_totals
from creditops.services import consumption as cs
from tests.consumption.conftest import REGISTER, usage_rows

# One worker runs both tests, so that a single JVM starts.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[1]").appName("creditops-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "1")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("warehouse")))
               .getOrCreate())
    yield session
    session.stop()


def events_file(folder: Path) -> Path:
    """20,000 events over 40 days, with replays, ids seen before, day-edge instants and
    quantities with 6 decimal places."""
    path = folder / "events.csv"
    duckdb.sql(f"""
        COPY (
          SELECT 'e' || (i % 19000) AS id,
                 CASE WHEN i % 97 = 0 THEN TIMESTAMPTZ '2026-08-02 23:59:59.999999+00'
                      WHEN i % 89 = 0 THEN TIMESTAMPTZ '2026-08-03 00:00:00+00'
                      ELSE TIMESTAMPTZ '2026-08-01 00:00:00+00'
                           + INTERVAL (i * 173 % 3456000) SECOND END AS "at",
                 CASE WHEN i % 2 = 0 THEN 'flex' ELSE 'data-cloud' END AS pool,
                 'type-' || (i % 3) AS usage_type,
                 CAST((i * 7919 % 1000003) / 1000000.0 AS DECIMAL(18, 6)) AS quantity
          FROM range(20000) t(i))
        TO '{path}' (HEADER, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S.%fZ')""")
    return path


def canonical(table: pa.Table) -> list[tuple[object, ...]]:
    return sorted((r["day"], r["pool"], r["usage_type"], D(r["quantity"]).quantize(D("0.000001")),
                   r["events"], r["flagged"]) for r in table.to_pylist())


def test_the_same_expression_gives_identical_totals_on_duckdb_and_spark(spark, tmp_path
                                                                        ) -> None:
    path = events_file(tmp_path)
    seen = pa.table({"id": [f"e{i}" for i in range(0, 19000, 20)]})
    from creditops.adapters.event_engine import EventEngine
    from creditops.adapters.events import EventSource, parse_mapping, read_events

    source = EventSource(str(path), [path], "csv", parse_mapping(None))
    on_duckdb = EventEngine("duckdb", ibis.duckdb.connect())
    duck = daily_totals(read_events(on_duckdb, source), ibis.memtable(seen)).to_pyarrow()
    on_spark = EventEngine("local[1]", ibis.pyspark.connect(spark), spark)
    remote = EventSource(str(path), [], "csv", parse_mapping(None))
    sparked = daily_totals(read_events(on_spark, remote), ibis.memtable(seen)).to_pyarrow()
    assert canonical(duck) == canonical(sparked)
    # The same semantics written by hand as portable SQL (reference/scale-out.md).
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("seen", seen)
    reference = con.sql(f"""
        WITH events AS (SELECT * FROM read_csv('{path}', types={{'quantity': 'DECIMAL(18,6)',
                                                              'at': 'TIMESTAMPTZ'}})),
        fresh AS (SELECT e.* FROM events e WHERE NOT EXISTS (SELECT 1 FROM seen s
                                                             WHERE s.id = e.id)),
        firsts AS (SELECT *, row_number() OVER (PARTITION BY id ORDER BY "at", quantity) AS rn
                   FROM fresh)
        SELECT CAST(epoch_us("at") // 86400000000 AS BIGINT) AS day, pool, usage_type,
               SUM(quantity) AS quantity, COUNT(*) AS events, 0 AS flagged
        FROM firsts WHERE rn = 1 GROUP BY 1, 2, 3""").to_arrow_table()
    assert canonical(duck) == canonical(reference)
    assert sum(r[4] for r in canonical(duck)) == 19000 - 950  # distinct ids less those seen


def test_import_with_a_spark_engine_matches_the_duckdb_import(spark, sqlite_url, tmp_path
                                                              ) -> None:
    from creditops.services import imports
    from creditops.services import workspace as ws

    workspace = ws.init_workspace(sqlite_url)
    register = tmp_path / "register.yaml"
    register.write_text(REGISTER, encoding="utf-8")
    ws.load_register(workspace, register)
    path = events_file(tmp_path)
    by_spark = cs.import_events(workspace, str(path), engine_url="local[1]")
    spark_rows = {(r.pool_id, r.at, r.usage_type): r.quantity for r in usage_rows(workspace)}
    assert by_spark.events == 19000
    again = cs.import_events(workspace, str(path))  # DuckDB now: every id was seen
    assert (again.events, again.duplicate) == (0, 20000)
    for row in usage_rows(workspace):
        assert row.import_id == by_spark.import_id
    imports.rollback_import(workspace, by_spark.import_id)
    cs.import_events(workspace, str(path))
    duck_rows = {(r.pool_id, r.at, r.usage_type): r.quantity for r in usage_rows(workspace)}
    assert duck_rows == spark_rows
