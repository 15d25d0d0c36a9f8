"""Benchmark: the example partner program over 10 million events and 10,000 partners.

Generates the activity (NumPy/Arrow, into Parquet in a temporary directory), runs the columnar
engine on all of it, runs the row-by-row reference on a sample of the partners (every 100th
partner and all their events) and the columnar engine on the same sample, checks both agree to
the cent, and compares rows per second. Targets: the full run under 30 s, and at least 50 times
the reference's rows per second. The engines run in turn --repeat times (default 5) and each one's
best time counts: other work on the machine makes single runs noisy.

    python bench/partners.py [--events N] [--partners N] [--sample-every K] [--repeat R]
    python bench/partners.py --write-example examples/partners   # the shipped example data

Exits non-zero only on errors; prints whether each target was met.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from creditops.adapters.partner_engine import ColumnarEvents
from creditops.adapters.partner_events import (
    inspect_events,
    read_events,
)
from creditops.adapters.partner_files import (
    load_program,
)
from creditops.adapters.partner_reports import result_document
from creditops.adapters.partner_synthetic import events_table, partners_table
from creditops.core.incentive_payouts import (
    ProgramResult,
)
from creditops.core.incentive_reference import (
    Partner,
    check_events,
    evaluate,
)

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "examples" / "partners" / "program.yaml"
FIRST_DAY, LAST_DAY = date(2026, 5, 1), date(2027, 4, 30)
TARGET_SECONDS = 30.0
TARGET_RATIO = 50.0


def partner_list(table: pa.Table) -> list[Partner]:
    return [Partner(row["partner_id"], row["name"],
                    {key: row[key] for key in ("tier", "type", "region")})
            for row in table.to_pylist()]


def write_example(directory: Path, partners: int = 120, events: int = 20_000,
                  seed: int = 2027) -> None:
    """The shipped example: a year of activity of a small partner network, as CSV."""
    rng = np.random.default_rng(seed)
    people, size = partners_table(partners, rng)
    activity = events_table(people, size, events, FIRST_DAY, LAST_DAY, rng)
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "partners.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(people.column_names)
        writer.writerows(row.values() for row in people.to_pylist())
    with (directory / "events.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(activity.column_names)
        for row in activity.to_pylist():
            writer.writerow([row["id"], row["partner_id"], row["at"].isoformat(), row["kind"],
                             "" if row["amount"] is None else format(row["amount"], "f"),
                             row["ref"] or ""])
    print(f"wrote {partners} partners and {activity.num_rows} events to {directory}")


def timed(run: Callable[[], ProgramResult]) -> tuple[ProgramResult, float]:
    started = time.perf_counter()
    result = run()
    return result, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--sample-every", type=int, default=100,
                        help="the reference runs on every K-th partner's events")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each engine, in turn; "
                        "the best counts")
    parser.add_argument("--write-example", type=Path, metavar="DIR")
    args = parser.parse_args()
    if args.write_example:
        write_example(args.write_example)
        return 0

    program = load_program(PROGRAM)
    with tempfile.TemporaryDirectory(prefix="partners-bench-") as folder:
        work = Path(folder)
        started = time.perf_counter()
        rng = np.random.default_rng(args.seed)
        people, size = partners_table(args.partners, rng)
        activity = events_table(people, size, args.events, FIRST_DAY, LAST_DAY, rng)
        pq.write_table(activity, work / "events.parquet")
        generated = time.perf_counter() - started
        rows = activity.num_rows
        print(f"generated {rows:,} events for {args.partners:,} partners in {generated:.1f} s")

        everyone = partner_list(people)
        events_file = inspect_events(work / "events.parquet")
        chosen = everyone[::args.sample_every]
        wanted = pa.array([partner.partner_id for partner in chosen])
        sample = activity.filter(pc.is_in(activity.column("partner_id").cast(pa.string()),
                                          value_set=wanted))
        pq.write_table(sample, work / "sample.parquet")
        sample_file = inspect_events(work / "sample.parquet")
        del activity

        def columnar_run() -> ProgramResult:
            with ColumnarEvents(events_file, program, everyone) as engine:
                return engine.evaluate(program)

        def reference_run() -> ProgramResult:
            events = read_events(sample_file, program.timezone, program.known_kinds)
            check_events(events, {partner.partner_id for partner in chosen},
                         sample_file.source)
            return evaluate(program, chosen, events)

        # Alternate the engines so that other work on the machine weighs on both alike.
        columnar_times: list[float] = []
        reference_times: list[float] = []
        for _ in range(args.repeat):
            full, seconds = timed(columnar_run)
            columnar_times.append(seconds)
            reference, seconds = timed(reference_run)
            reference_times.append(seconds)
        columnar_seconds = min(columnar_times)
        columnar_rate = rows / columnar_seconds
        print(f"columnar engine, all rows: best {columnar_seconds:.2f} s of {args.repeat} "
              f"(median {statistics.median(columnar_times):.2f} s), {columnar_rate:,.0f} rows/s; "
              f"total payout {program.currency} {full.total:,.2f} to {len(full.partners):,} "
              "partners")
        reference_seconds = min(reference_times)
        reference_rate = sample.num_rows / reference_seconds
        print(f"row-by-row reference, sample of {len(chosen):,} partners and "
              f"{sample.num_rows:,} rows: best {reference_seconds:.2f} s of {args.repeat} "
              f"(median {statistics.median(reference_times):.2f} s), "
              f"{reference_rate:,.0f} rows/s; all rows would take {rows / reference_rate:.0f} s")

        with ColumnarEvents(sample_file, program, chosen) as engine:
            columnar_sample = engine.evaluate(program)
        agree = result_document(columnar_sample) == result_document(reference)
        lines = sum(len(payout.lines) for payout in reference.partners)
        print(f"engines agree on the sample ({lines:,} lines, total {program.currency} "
              f"{reference.total:,.2f}): {'yes' if agree else 'NO'}")
        if not agree:
            _show_difference(result_document(columnar_sample), result_document(reference))

    ratio = columnar_rate / reference_rate
    print()
    print(f"target: full run under {TARGET_SECONDS:.0f} s -> {columnar_seconds:.2f} s: "
          f"{'met' if columnar_seconds < TARGET_SECONDS else 'NOT met'}")
    print(f"target: at least {TARGET_RATIO:.0f}x the reference's rows/s -> {ratio:.0f}x: "
          f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}")
    print(f"target: agreement to the cent on the sample -> {'met' if agree else 'NOT met'}")
    return 0


def _show_difference(columnar: dict[str, object], reference: dict[str, object]) -> None:
    for key in columnar:
        if columnar[key] != reference[key]:
            print(f"  first difference under {key!r}")
            return


if __name__ == "__main__":
    sys.exit(main())
