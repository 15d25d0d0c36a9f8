"""Where raw events are aggregated: DuckDB in this process (the default), or an existing Spark
cluster (a master URL, ``local[N]``, or Spark Connect), behind one small interface that keeps a
table once, counts it, and releases what it kept."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.backends.duckdb  # loaded with this module, not by the first import
import ibis.backends.duckdb.converter  # (and pandas with it) not by the first result fetched

from creditops.core.errors import InputError, Problem

DUCKDB_MEMORY_LIMIT = os.environ.get("CREDITOPS_DUCKDB_MEMORY_LIMIT", "1.5GB")


@dataclass
class EventEngine:
    url: str
    backend: Any
    spark: Any = None  # the SparkSession, on Spark engines
    stop_spark: bool = False
    cached: list[Any] = field(default_factory=list)
    profile: Any = None  # DuckDB's profile of the last statement ``keep`` profiled
    _closing: Future[None] | None = None

    @property
    def is_duckdb(self) -> bool:
        return self.spark is None

    def cache(self, table: ibis.Table) -> ibis.Table:
        """Computes the table once (a temporary table), released when the engine closes."""
        cached = table.cache()
        self.cached.append(cached)
        return cached

    def keep(self, table: ibis.Table, *, profile: bool = False) -> tuple[ibis.Table, int]:
        """``cache``, with the number of rows kept: on DuckDB the statement that stores them
        counts them (counting the stored table again is a scan of ten million rows), and the
        table, which every connection of the engine sees (``rows_on_the_side``), goes with the
        in-memory database when the engine closes.
        ``profile`` keeps DuckDB's profile of the statement for ``rows_scanned``."""
        if not self.is_duckdb:
            cached = self.cache(table)
            return cached, int(cached.count().to_pyarrow().as_py())
        name = ibis.util.gen_name("creditops_kept")
        query = self._sql(table)
        if profile:
            self.backend.raw_sql("SET enable_profiling = 'no_output'")
        try:
            (rows,) = self.backend.raw_sql(f'CREATE TABLE "{name}" AS {query}').fetchone()
            if profile:
                self.profile = json.loads(self.backend.con.get_profiling_information())
        finally:
            if profile:
                self.backend.raw_sql("RESET enable_profiling")
        return self.backend.table(name), int(rows)

    def rows_on_the_side(self, table: ibis.Table) -> Callable[[], list[dict[str, Any]]]:
        """What computes the rows of a (small) table. On DuckDB it runs through a second
        connection to the same in-memory database, so it can run on another thread while this
        one goes on; that connection sees the tables ``keep`` stored, no temporary ones."""
        if not self.is_duckdb:
            return lambda: list(table.to_pyarrow().to_pylist())
        query = self._sql(table)

        def rows() -> list[dict[str, Any]]:
            with contextlib.closing(self.backend.con.cursor()) as side:
                side.execute("SET TimeZone = 'UTC'")  # a session setting, as Ibis sets it
                return list(side.sql(query).to_arrow_table().to_pylist())

        return rows

    def _sql(self, table: ibis.Table) -> str:
        """A table's DuckDB SQL, for a statement Ibis does not run itself."""
        self.backend._run_pre_execute_hooks(table)  # registers the tables it reads from memory
        return str(self.backend.compile(table))

    def rows_scanned(self, function: str) -> int | None:
        """How many rows the scans by a table function (``READ_CSV``) produced in the last
        statement ``keep`` profiled, or None when the profile does not say."""
        found: list[int] = []

        def visit(node: Any) -> None:
            if isinstance(node, dict):
                extra = node.get("extra_info")
                if (node.get("type") == "TABLE_SCAN" and isinstance(extra, dict)
                        and extra.get("Function") == function
                        and isinstance(node.get("rows_scanned"), int)):
                    found.append(node["rows_scanned"])
                for value in node.values():
                    visit(value)
            elif isinstance(node, list):
                for value in node:
                    visit(value)

        visit(self.profile)
        return sum(found) if found else None

    @contextlib.contextmanager
    def building_on_the_right(self) -> Iterator[None]:
        """Joins build their hash table on the right side, as written (the ids of the
        manifests), rather than on the events being read, whose number DuckDB can misjudge:
        it guesses a CSV file holds a few dozen rows."""
        if not self.is_duckdb:
            yield
            return
        self.backend.raw_sql("SET disabled_optimizers = 'build_side_probe_side'")
        try:
            yield
        finally:
            self.backend.raw_sql("RESET disabled_optimizers")

    def close_in_background(self) -> None:
        """Starts releasing the engine (freeing what it kept takes a tenth of a second for ten
        million events) while the caller finishes; ``close`` waits for it."""
        if self._closing is None:
            closing = self._closing = Future()

            def run() -> None:
                try:
                    self._close()
                except BaseException as error:  # handed to whoever waits in ``close``
                    closing.set_exception(error)
                else:
                    closing.set_result(None)

            threading.Thread(target=run, daemon=True).start()

    def close(self) -> None:
        self.close_in_background()
        if self._closing is not None:
            self._closing.result()

    def _close(self) -> None:
        for cached in reversed(self.cached):
            with contextlib.suppress(Exception):
                cached.release()
        self.cached.clear()
        if self.stop_spark:
            self.spark.stop()
        elif self.is_duckdb:
            self.backend.disconnect()


def connect_engine(url: str, work_dir: Path) -> EventEngine:
    """``duckdb`` (in process, the default), ``spark://HOST:PORT`` or ``local[N]`` (a Spark
    master; needs pyspark and Java here), or ``sc://HOST:15002`` (Spark Connect)."""
    if url in ("duckdb", "duckdb://"):
        backend = ibis.duckdb.connect()
        spill = work_dir / "duckdb-spill"
        spill.mkdir(exist_ok=True)
        backend.raw_sql(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        backend.raw_sql(f"SET temp_directory = '{spill}'")
        backend.raw_sql("SET preserve_insertion_order = false")
        # Progress is polled and shown by the command; DuckDB must not print its own bar.
        backend.raw_sql("SET enable_progress_bar = true")
        backend.raw_sql("SET enable_progress_bar_print = false")
        return EventEngine(url, backend)
    if url.startswith(("spark://", "sc://", "local", "yarn")):
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise InputError(Problem(
                f"--engine {url} needs PySpark: pip install pyspark (or pyspark-client for "
                "sc:// Spark Connect)", column="--engine")) from None
        existing = SparkSession.getActiveSession()
        if url.startswith("sc://"):
            spark = SparkSession.builder.remote(url).getOrCreate()
        else:
            if url.startswith("local"):
                # Local mode must not depend on the host name resolving.
                os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            spark = (SparkSession.builder.master(url).appName("creditops")
                     .config("spark.ui.enabled", "false")
                     .config("spark.ui.showConsoleProgress", "false")
                     .config("spark.sql.session.timeZone", "UTC")
                     .config("spark.sql.warehouse.dir", str(work_dir / "spark-warehouse"))
                     .getOrCreate())
        return EventEngine(url, ibis.pyspark.connect(spark), spark,
                           stop_spark=existing is None and not url.startswith("sc://"))
    raise InputError(Problem(f"unknown engine {url!r}; use duckdb, spark://HOST:PORT, local[N] "
                             "or sc://HOST:15002", column="--engine"))
