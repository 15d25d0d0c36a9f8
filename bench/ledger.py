"""Benchmark: balances and the credits register for 1,000 pools × 10 grants × 3 years of daily
usage (PRODUCT.md §11: under 2 s of compute).

Measured in the same run, for scale:
- the register (ledger replay + baseline projection) for every pool;
- the same register with the projection replayed day by day as explicit usage records (the naive
  way; on a sample of pools, extrapolated), which must give identical figures;
- DuckDB summing the same usage per pool (a floor: one pass over the data, no ledger at all).

Usage: python bench/ledger.py [--pools 1000] [--grants 10] [--years 3]
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from creditops.core.ledger import Ledger
from creditops.core.model import Duration, Grant, Pool, Recurrence, Rollover, Usage
from creditops.core.register import build_pool_register, build_register, daily_run_rates

START = datetime(2024, 1, 1, tzinfo=UTC)


def make_pools(pools: int, grants: int, years: int, seed: int = 7
               ) -> list[tuple[Pool, list[Usage]]]:
    rng = random.Random(seed)
    days = 365 * years
    result = []
    for p in range(pools):
        pool_grants = []
        for g in range(grants):
            start = START + timedelta(days=rng.randrange(0, days - 30))
            length = rng.choice([90, 180, 365, 730])
            recurrence = None
            if g == 0:
                recurrence = Recurrence(Duration(months=1), START)
            rollover = Rollover(Decimal("0.25"), None, start + timedelta(days=length + 180)) \
                if g == 1 else None
            pool_grants.append(Grant(
                id=f"p{p}-g{g}", quantity=Decimal(rng.randrange(10_000, 400_000)),
                effective=START if g == 0 else start,
                expires=START + timedelta(days=days + 200) if g == 0
                else start + timedelta(days=length),
                priority=rng.choice([5, 10, 10]),
                applies_to=frozenset({"voice"}) if g == 2 else None,
                recurrence=recurrence, rollover=rollover,
            ))
        base = rng.randrange(200, 2000)
        usages = [
            Usage(f"u{p}-{d}", START + timedelta(days=d),
                  Decimal(base + rng.randrange(0, base)) / 10,
                  "voice" if d % 7 == 0 else "action")
            for d in range(days)
        ]
        result.append((Pool(f"pool-{p:04d}", "flex_credits", "credit", Decimal("0.005"),
                            tuple(pool_grants)), usages))
    return result


def naive_pool_register(pool: Pool, usages: list[Usage], as_of: datetime) -> list[Decimal]:
    """The projection as explicit daily usage records replayed one by one."""
    daily = daily_run_rates(pool, usages, as_of, 90)
    entry = build_pool_register(pool, usages, as_of)
    ends = [g.expires for g in entry.grants if g.status not in ("expired", "voided") and
            g.expires is not None]
    until = max(ends) if ends else as_of
    explicit = [u for u in usages if u.at < as_of]  # the baseline replaces later usage
    day, k = as_of, 0
    while day < until:
        explicit += [Usage(f"~p{k}-{i}", day, q, t) for i, (t, q) in enumerate(daily)]
        k += 1
        day = as_of + timedelta(days=k)
    ledger = Ledger(pool, explicit)
    ledger.advance(as_of)
    current = {g.grant.id: g for g in ledger.snapshot().grants if g.active}
    seen = len(ledger.lapses)
    ledger.advance(until)
    lapsed = {}
    for tranche, quantity in ledger.lapses[seen:]:
        grant_id = tranche.grant.id
        if grant_id in current and grant_id not in lapsed and \
                tranche.start == current[grant_id].period_start:
            lapsed[grant_id] = quantity
    return [lapsed.get(g.id, Decimal(0)) if g.status not in ("expired", "voided", "exhausted")
            else Decimal(0) for g in entry.grants]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=1000)
    parser.add_argument("--grants", type=int, default=10)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--sample", type=int, default=20)
    args = parser.parse_args()

    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
          f"Python {platform.python_version()}")
    data = make_pools(args.pools, args.grants, args.years)
    records = sum(len(u) for _, u in data)
    as_of = START + timedelta(days=365 * args.years - 1)
    print(f"data: {args.pools} pools × {args.grants} grants, {records:,} usage records, "
          f"as of {as_of.date()}")

    # As the workspace service does around the replay (services.workspace.heap_frozen): the
    # loaded records stay out of the cyclic garbage collector's generations.
    gc.collect()
    gc.freeze()
    began = time.perf_counter()
    register = build_register(data, as_of)
    register_seconds = time.perf_counter() - began
    gc.unfreeze()
    statuses: dict[str, int] = {}
    for entry in register.pools:
        statuses[entry.row.status] = statuses.get(entry.row.status, 0) + 1
    print(f"register (replay + baseline projection): {register_seconds:.2f} s "
          f"({records / register_seconds:,.0f} usage records/s); statuses {statuses}")

    sample = data[: args.sample]
    began = time.perf_counter()
    naive = [naive_pool_register(pool, usages, as_of) for pool, usages in sample]
    naive_seconds = (time.perf_counter() - began) * len(data) / len(sample)
    agree = all(
        [g.projected_unconsumed for g in register.pool(pool.id).grants] == figures
        for (pool, _), figures in zip(sample, naive, strict=True)
    )
    print(f"naive day-by-day projection: {naive_seconds:.2f} s extrapolated from "
          f"{len(sample)} pools; ratio naive/register {naive_seconds / register_seconds:.1f}×; "
          f"identical projected lapse: {agree}")

    import duckdb
    import pyarrow as pa

    table = pa.table({
        "pool": [pool.id for pool, usages in data for _ in usages],
        "quantity": pa.array([u.quantity for _, usages in data for u in usages],
                             type=pa.decimal128(18, 4)),
    })
    connection = duckdb.connect()
    connection.register("usage_arrow", table)
    began = time.perf_counter()
    connection.execute("SELECT pool, sum(quantity) FROM usage_arrow GROUP BY pool").fetchall()
    duck_seconds = time.perf_counter() - began
    print(f"DuckDB sum of usage per pool (floor, no ledger): {duck_seconds:.3f} s; ratio "
          f"register/DuckDB {register_seconds / duck_seconds:.0f}×")
    target = 2.0
    verdict = "MET" if register_seconds < target else "MISSED"
    print(f"target: register under {target:.0f} s -> {verdict} ({register_seconds:.2f} s)")
    if not agree:
        raise SystemExit("the aggregated projection disagrees with the day-by-day replay")


if __name__ == "__main__":
    main()
