"""Benchmark: the forecast's Monte Carlo, 10,000 paths × 365 days for 200 pools (PRODUCT.md §11:
under 10 s on 2 cores), and its back-test on the demo workspace.

Measured in the same run:
- the vectorised forecast (bootstrap of usage paths + vectorised ledger + quantiles) for every
  pool; pools with grants restricted to usage types (5% here) take the day-by-day path;
- a naive per-path loop (day by day, grant by grant, in plain Python) over the same usage paths
  on a sample of pools and paths, extrapolated, whose lapses must equal the vectorised ones;
- the back-test of the demo workspace (examples/demo) loaded into a temporary SQLite workspace.

Usage: python bench/forecast.py [--pools 200] [--paths 10000] [--days 365]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

from creditops.adapters.simulation_forecast import ForecastInput, simulate_pools, streams_of
from creditops.adapters.simulation_usage_paths import (
    ExplicitUsage,
    bootstrap,
    history_of,
    pool_seed,
)
from creditops.adapters.simulation_vector_ledger import VectorLedger
from creditops.core.ledger import Ledger
from creditops.core.model import Duration, Grant, Pool, Recurrence, Rollover, Usage

ROOT = Path(__file__).resolve().parent.parent
AS_OF = datetime(2026, 7, 1, tzinfo=UTC)
TARGET_SECONDS = 10.0
ONE_DAY = timedelta(days=1)


def make_pool(index: int, rng: random.Random) -> tuple[Pool, list[Usage]]:
    """A pool like the demo's: a yearly grant with carry-forward, a monthly allowance, a
    grant that starts later, sometimes one restricted to a usage type; 200 days of usage with
    a weekday pattern, bursts and, for some pools, growth."""
    base = rng.randrange(500, 5000)
    yearly = Decimal(base * rng.randrange(200, 500))
    grants = [
        Grant(f"p{index}-year", yearly, AS_OF - ONE_DAY * 200, AS_OF + ONE_DAY * 165,
              rollover=Rollover(Decimal("0.25"), yearly / 10, AS_OF + ONE_DAY * 345)),
        Grant(f"p{index}-monthly", Decimal(base * 3), AS_OF - ONE_DAY * 200,
              AS_OF + ONE_DAY * 700, priority=5,
              recurrence=Recurrence(Duration(months=1), AS_OF - ONE_DAY * 200)),
        Grant(f"p{index}-next", yearly, AS_OF + ONE_DAY * 165, AS_OF + ONE_DAY * 530),
    ]
    typed = index % 20 == 0
    if typed:
        grants.append(Grant(f"p{index}-voice", Decimal(base * 20), AS_OF - ONE_DAY * 100,
                            AS_OF + ONE_DAY * 120, priority=1,
                            applies_to=frozenset({"voice"})))
    growth = rng.choice([0.0, 0.0, 0.002])
    usages = []
    for day in range(200, 0, -1):
        at = AS_OF - ONE_DAY * day
        weekday = 1.0 if at.weekday() < 5 else 0.3
        burst = 4.0 if rng.random() < 0.03 else 1.0
        level = base * weekday * burst * (1 + growth * (200 - day)) * rng.uniform(0.7, 1.3)
        usages.append(Usage(f"u{index}-{day}", at, Decimal(int(level)),
                            "voice" if typed and day % 3 == 0 else "action"))
    return Pool(f"pool-{index:03d}", "flex_credits", "credit", Decimal("0.004"),
                tuple(grants)), usages


def naive_lapses(ledger: VectorLedger, matrix: np.ndarray, path: int) -> dict[tuple, float]:
    """One path, day by day, grant by grant, in plain Python: the obvious way."""
    tranches = ledger.tranches
    balance = [t.balance if t.active_at_start else 0.0 for t in tranches]
    active = {i for i, t in enumerate(tranches) if t.active_at_start}
    lapses: dict[tuple, float] = {}
    events: dict[int, list[tuple]] = defaultdict(list)
    for day, instant, phase, index in ledger._events():
        events[day].append((instant, phase, index))

    def apply(day: int) -> None:
        for _, phase, index in sorted(events.get(day, [])):
            tranche = tranches[index]
            if phase == 1:
                if tranche.quantity is not None:
                    balance[index] = tranche.quantity
                active.add(index)
                continue
            left, balance[index] = balance[index], 0.0
            active.discard(index)
            if tranche.end_reason == "voided":
                continue
            carried = 0.0
            rollover = tranche.grant.rollover
            if tranche.end_reason == "expired" and rollover and tranche.child is not None:
                carried = left * float(rollover.fraction)
                if rollover.max is not None:
                    carried = min(carried, float(rollover.max))
                balance[tranche.child] = carried
            lapses[(tranche.grant.id, tranche.end)] = left - carried

    for day in range(ledger.days):
        apply(day)
        order = sorted(active, key=lambda i: tranches[i].burn_key)
        for stream, name in enumerate(ledger.streams):
            need = float(matrix[stream, path, day])
            for index in order:
                restriction = tranches[index].grant.applies_to
                if restriction is not None and name not in restriction:
                    continue
                taken = min(need, balance[index])
                balance[index] -= taken
                need -= taken
    apply(ledger.days)
    return lapses


def bench_forecast(pools: int, paths: int, days: int) -> float:
    rng = random.Random(11)
    specs = []
    for index in range(pools):
        pool, usages = make_pool(index, rng)
        ledger = Ledger(pool, usages)
        ledger.advance(AS_OF)
        specs.append(ForecastInput(pool, ledger.snapshot(), usages, [], Decimal("0.2"), days,
                                   182))
    typed = sum(1 for s in specs if any(g.applies_to for g in s.pool.grants))
    started = time.perf_counter()
    results = simulate_pools(specs, paths=paths, seed=0)
    elapsed = time.perf_counter() - started
    lapsing = sum(1 for r in results for t in r.tranches if t.lapse is not None)
    print(f"forecast: {pools} pools ({typed} with restricted grants) × {paths:,} paths × "
          f"{days} days on {os.cpu_count()} cores: {elapsed:.2f} s "
          f"({lapsing} grant periods with a simulated lapse)")
    one = time.perf_counter()
    single = simulate_pools(specs, paths=paths, seed=0, workers=1)
    one = time.perf_counter() - one
    assert single == results, "the results depend on how the work is spread"
    print(f"the same in one process: {one:.2f} s ({one / pools * 1000:.1f} ms per pool); "
          "identical results")

    # The naive per-path loop on a sample, over the very same usage paths.
    sample_pools, sample_paths = 4, 25
    naive_seconds = 0.0
    worst = 0.0
    for spec in specs[:: pools // sample_pools][:sample_pools]:
        streams = streams_of(spec.usages, []) or [None]
        ledger = VectorLedger(spec.pool, spec.balance, days, streams, 0.2)
        history = history_of(spec.usages, AS_OF, 182, days, streams, [],
                             merged=not ledger.typed)
        usage, _ = bootstrap(history, days, paths, np.random.default_rng(
            pool_seed(0, spec.pool.id)))
        width = usage.streams
        matrix = np.array([[usage.daily(s, d)[:sample_paths] for d in range(days)]
                           for s in range(width)]).transpose(0, 2, 1)
        state = ledger.run(ExplicitUsage(matrix))
        begin = time.perf_counter()
        naive = [naive_lapses(ledger, matrix, p) for p in range(sample_paths)]
        naive_seconds += time.perf_counter() - begin
        for path, lapses in enumerate(naive):
            for index, tranche in enumerate(ledger.tranches):
                key = (tranche.grant.id, tranche.end)
                if key in lapses:
                    worst = max(worst, abs(lapses[key] - state.lapse[index, path]))
    per_path = naive_seconds / (sample_pools * sample_paths)
    extrapolated = per_path * paths * pools
    print(f"naive per-path loop: {per_path * 1000:.2f} ms per path on a sample of "
          f"{sample_pools} pools × {sample_paths} paths → {extrapolated:,.0f} s for the same "
          f"work ({extrapolated / elapsed:,.0f}× the vectorised time); largest lapse "
          f"difference on the sample: {worst:g}")
    return elapsed


def bench_backtest() -> None:
    from creditops.services.forecast import ForecastOptions, backtest_workspace
    from creditops.services.imports import import_usage
    from creditops.services.plans import import_plan
    from creditops.services.workspace import init_workspace, load_register

    demo = ROOT / "examples" / "demo"
    with tempfile.TemporaryDirectory() as folder:
        workspace = init_workspace(f"sqlite:///{Path(folder) / 'demo.db'}")
        load_register(workspace, demo / "register.yaml", actor="bench")
        import_usage(workspace, demo / "usage.csv", actor="bench")
        import_plan(workspace, demo / "plan.csv", actor="bench")
        started = time.perf_counter()
        report = backtest_workspace(workspace, "2026-10-31",
                                    options=ForecastOptions(paths=2000))
        elapsed = time.perf_counter() - started
        workspace.close()

    def show(value: Decimal | None, percent: bool = True) -> str:
        if value is None:
            return "—"
        return f"{value * 100:.1f}%" if percent else f"{value:.4f}"

    print(f"\nback-test of the demo workspace (as of 2026-10-31, 2,000 paths, "
          f"{len(report.cases)} forecasts, {elapsed:.2f} s):")
    print(f"{'':28}{'cases':>6}{'MAE':>9}{'bias':>9}{'MAPE':>9}{'P10-P90':>9}{'Brier':>9}"
          f"{'baseline':>10}")
    rows = [(f"{lead} days before expiry", s) for lead, s in report.by_lead.items()]
    rows += [(f"pool {pool}", s) for pool, s in report.by_pool.items()]
    rows.append(("overall", report.overall))
    for label, s in rows:
        print(f"{label:28}{s.cases:>6}{show(s.mae_pct):>9}{show(s.bias_pct):>9}"
              f"{show(s.mape):>9}{show(s.coverage):>9}{show(s.brier, False):>9}"
              f"{show(s.baseline_mae_pct):>10}")
    print("MAE and bias: |P50 − actual lapse| and (P50 − actual) as a share of the grant; "
          "baseline: the register's run-rate projection's MAE.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pools", type=int, default=200)
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, NumPy {np.__version__}; load average before the run: "
          f"{load} (other work on the machine slows every figure below)")
    elapsed = bench_forecast(args.pools, args.paths, args.days)
    verdict = "MET" if elapsed < TARGET_SECONDS else "MISSED"
    print(f"target: under {TARGET_SECONDS:.0f} s for 200 pools × 10,000 paths × 365 days: "
          f"{verdict} ({elapsed:.2f} s)")
    bench_backtest()


if __name__ == "__main__":
    main()
