"""The forecast's Monte Carlo for one pool or many (PRODUCT.md §2 and §4): bootstrap usage
paths (``simulation_usage_paths``), then run them through the vectorised ledger
(``simulation_vector_ledger``); large batches are spread over the machine's cores.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np

from creditops.adapters.simulation_usage_paths import bootstrap, history_of, pool_seed
from creditops.adapters.simulation_vector_ledger import VectorLedger
from creditops.core.balances import PoolBalance
from creditops.core.forecast import SimulatedPool
from creditops.core.model import Pool, Usage

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class ForecastInput:
    """What the simulation of one pool needs, as the services hand it over."""

    pool: Pool
    balance: PoolBalance  # the exact ledger at as_of
    usages: Sequence[Usage]  # history before as_of
    milestones: Sequence[tuple[datetime, str | None, Decimal]]
    risk_threshold: Decimal
    days: int
    history_days: int


def streams_of(usages: Sequence[Usage], milestones: Sequence[tuple[datetime, str | None,
                                                                   Decimal]]
               ) -> list[str | None]:
    kinds = {u.usage_type for u in usages} | {usage_type for _, usage_type, _ in milestones}
    return sorted(kinds, key=lambda kind: (kind is not None, kind or ""))


def simulate_pool(spec: ForecastInput, *, paths: int, seed: int, trend: bool = True
                  ) -> SimulatedPool:
    """The forecast simulation of one pool: bootstrap paths, then the vectorised ledger."""
    streams = streams_of(spec.usages, spec.milestones) or [None]
    ledger = VectorLedger(spec.pool, spec.balance, spec.days, streams,
                          float(spec.risk_threshold))
    first = min((g.effective for g in spec.pool.grants), default=spec.balance.as_of)
    available = max((spec.balance.as_of - first) // _ONE_DAY, 0)
    span = min(spec.history_days, available)
    history = history_of(spec.usages, spec.balance.as_of, span, spec.days, streams,
                         spec.milestones, merged=not ledger.typed)
    rng = np.random.default_rng(pool_seed(seed, spec.pool.id))
    usage, change = bootstrap(history, spec.days, paths, rng, trend=trend)
    return ledger.summarise(ledger.run(usage), span, change)


def _simulate(job: tuple[ForecastInput, int, int, bool]) -> SimulatedPool:
    spec, paths, seed, trend = job
    return simulate_pool(spec, paths=paths, seed=seed, trend=trend)


PARALLEL_PATH_DAYS = 50_000_000


def simulate_pools(specs: Sequence[ForecastInput], *, paths: int, seed: int,
                   trend: bool = True, workers: int | None = None) -> list[SimulatedPool]:
    """Every pool's simulation, in order; large batches spread over the machine's cores
    (``workers``, default: all of them when the batch is large). Each pool has its own random
    stream, so the results do not depend on how the work is spread."""
    jobs = [(spec, paths, seed, trend) for spec in specs]
    if workers is None:
        size = sum(spec.days for spec in specs) * paths
        workers = (os.cpu_count() or 1) if size >= PARALLEL_PATH_DAYS else 1
    if workers <= 1 or len(jobs) < 2:
        return [_simulate(job) for job in jobs]
    # Fork where the platform has it: the workers start at once, with the modules loaded.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(_simulate, jobs, chunksize=max(1, len(jobs) // (workers * 4))))
