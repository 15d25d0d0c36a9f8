"""Two designs of an exact, idempotent raw-event import, in DuckDB alone, against DuckDB's own
read and group-by of the same Parquet file: how far under `bench/ingest.py`'s target of 2x either
could get before anything reaches a workspace.

- keeping: read the file once into a table with 32-bit id hashes (what `creditops import events`
  does), then sum every event on a second connection while the hashes are sorted to find the
  repeated ids and their later copies are summed through a window, then write the ids;
- streaming: keep nothing; sum every event straight from the file on a second connection while
  the id column alone is read and hashed, read the file again for the rows whose hash repeats,
  and write the ids from the file.

Neither stores the totals, converts them or commits anything, as the import must; the script
checks that the two give the same totals. Rounds run the reference and the two designs in turn,
each on a fresh connection; the figures are medians.

    .venv/bin/python bench/ingest_designs.py [--rows 10000000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# creditops first: it settles NumPy's sort for this processor before NumPy loads, as in the import
import creditops  # noqa: F401, I001
import duckdb
import numpy as np
import pyarrow as pa
from ingest import GENERATE

SUMS = """SELECT epoch_us("at") // 86400000000 AS day, pool, usage_type,
                 SUM(quantity) AS quantity, COUNT(*) AS events FROM {events} GROUP BY ALL"""
LATER_COPIES = """SELECT epoch_us("at") // 86400000000 AS day, pool, usage_type,
                         SUM(quantity) AS quantity, COUNT(*) AS events
                  FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY "at", quantity) AS n
                        FROM {events} SEMI JOIN repeated USING (h))
                  WHERE n > 1 GROUP BY ALL"""
MANIFEST = ("COPY (SELECT id FROM {events}) TO '{path}' (FORMAT parquet, COMPRESSION zstd, "
            "COMPRESSION_LEVEL 1, PARQUET_VERSION v2, DICTIONARY_SIZE_LIMIT 1)")


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")
    return con


def repeated_hashes(hashes: np.ndarray) -> pa.Table:
    halves = [hashes[hashes < 2**31], hashes[hashes >= 2**31]]
    with ThreadPoolExecutor(2) as pool:
        ordered = list(pool.map(np.sort, halves))
    repeats = np.concatenate([half[1:][half[1:] == half[:-1]] for half in ordered])
    return pa.table({"h": np.unique(repeats)})


def totals(sums: list[tuple], later: list[tuple]) -> dict[tuple, tuple]:
    by_key = {row[:3]: row[3:] for row in sums}
    for row in later:
        quantity, events = by_key[row[:3]]
        by_key[row[:3]] = (quantity - row[3], events - row[4])
    return {key: value for key, value in by_key.items() if value[1]}


def run_design(events: str, hashes_from: str, repeated_from: str, manifest_from: str,
               keep: str | None, manifest: Path) -> tuple[float, dict[tuple, tuple]]:
    con = connect()
    started = time.perf_counter()
    if keep is not None:
        con.execute(keep)
    side = con.cursor()
    side.execute("SET TimeZone = 'UTC'")
    with ThreadPoolExecutor(1) as pool:
        summing = pool.submit(lambda: side.sql(SUMS.format(events=events)).fetchall())
        hashes = con.sql(f"SELECT h FROM {hashes_from}").fetchnumpy()["h"]
        repeated = repeated_hashes(hashes)  # noqa: F841  (read by name in the query)
        later = con.execute(LATER_COPIES.format(events=repeated_from)).fetchall()
        result = totals(summing.result(), later)
    con.execute(MANIFEST.format(events=manifest_from, path=manifest))
    seconds = time.perf_counter() - started
    con.close()
    return seconds, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="creditops-designs-") as folder:
        work = Path(folder)
        subprocess.run([sys.executable, "-c", GENERATE, str(options.rows), str(work / "events")],
                       check=True)
        path = work / "events.parquet"
        source = f"read_parquet('{path}')"
        hashed = f"(SELECT *, CAST(hash(id) >> 32 AS UINTEGER) AS h FROM {source})"
        designs: dict[str, Callable[[], tuple[float, dict[tuple, tuple]]]] = {
            "keeping": lambda: run_design(
                "kept", "kept", "kept", "kept",
                f"CREATE TABLE kept AS SELECT * FROM {hashed}", work / "ids.parquet"),
            "streaming": lambda: run_design(
                source, f"(SELECT CAST(hash(id) >> 32 AS UINTEGER) AS h FROM {source})", hashed,
                source, None, work / "ids.parquet"),
        }
        times: dict[str, list[float]] = {"reference": [], **{name: [] for name in designs}}
        answers: dict[str, dict[tuple, tuple]] = {}
        for _ in range(options.rounds):
            reference = connect()
            started = time.perf_counter()
            reference.sql(f'SELECT CAST("at" AS DATE), pool, usage_type, SUM(quantity), '
                          f"COUNT(*) FROM {source} GROUP BY ALL").fetchall()
            times["reference"].append(time.perf_counter() - started)
            reference.close()
            for name, design in designs.items():
                seconds, answers[name] = design()
                times[name].append(seconds)
        medians = {name: statistics.median(values) for name, values in times.items()}
        print(f"{options.rows:,} events, Parquet {path.stat().st_size / 1e6:.0f} MB, medians of "
              f"{options.rounds} rounds")
        for name, values in times.items():
            ratio = medians[name] / medians["reference"]
            print(f"  {name:10s} {medians[name]:.2f} s ({', '.join(f'{v:.2f}' for v in values)})"
                  f"{'' if name == 'reference' else f': {ratio:.2f}x the reference'}")
        print(f"  both designs give the same totals: {answers['keeping'] == answers['streaming']}")


if __name__ == "__main__":
    main()
