"""True-up Monte Carlo: 10,000 growth paths × 3 products × 4 clauses, target under 2 s.

Reference, measured in the same run: a naive loop that runs the exact Decimal model path by path
on a sample of the same paths, extrapolated to all paths. The sample's totals must agree exactly
with the vectorised ones.

    .venv/bin/python bench/trueup.py [--paths 10000] [--sample 100]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

from creditops.adapters import simulation_trueup as vectorised
from creditops.adapters.scenario_file import read_scenario
from creditops.core.trueup import contracted_by_month, model_product, price_table
from creditops.services.renewal import simulate_file

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "trueup-portfolio.yaml"
TARGET_SECONDS = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    file = read_scenario(EXAMPLE)
    scenario = file.scenario
    years = scenario.term.years
    shape = f"{arguments.paths:,} paths × {len(scenario.products)} products × " \
            f"{len(scenario.clauses)} clauses"
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, NumPy {np.__version__}")

    timings = []
    for _ in range(arguments.repeat):
        started = time.perf_counter()
        simulation = simulate_file(file, paths=arguments.paths, seed=file.simulation.seed)
        timings.append(time.perf_counter() - started)
    vectorised_seconds = min(timings)
    print(f"vectorised simulate ({shape}): best {vectorised_seconds:.3f} s of "
          f"{arguments.repeat} (first {timings[0]:.3f} s)")

    # The same paths, one at a time through the exact Decimal model.
    rng = np.random.default_rng(file.simulation.seed)
    needed = {product.id: vectorised.sample_needed(product, years, arguments.paths, rng)
              for product in scenario.products}
    sample = min(arguments.sample, arguments.paths)
    started = time.perf_counter()
    naive_totals = []
    for path in range(sample):
        naive_totals.append([
            sum((model_product(product, clause, years,
                               needed=needed[product.id][path].tolist()).figures.trueup_total
                 for product in scenario.products), Decimal(0))
            for clause in scenario.clauses])
    naive_seconds = (time.perf_counter() - started) * arguments.paths / sample
    print(f"naive per-path Decimal loop: {sample} paths measured, "
          f"{naive_seconds:.1f} s extrapolated to {arguments.paths:,} paths")

    mismatches = 0
    for column, clause in enumerate(scenario.clauses):
        kernel = vectorised.ClauseKernel.of(clause, years)
        for product in scenario.products:
            deltas = vectorised.first_needed(needed[product.id][:sample],
                                             contracted_by_month(product, years))
            months = vectorised.licence_months(deltas, kernel)
            prices = price_table(product, clause, years)
            for path in range(sample):
                naive_totals[path][column] -= sum(
                    (int(n) * p for n, p in zip(months[path], prices, strict=True)), Decimal(0))
        mismatches += sum(1 for row in naive_totals if row[column] != 0)
    print(f"exact agreement on the {sample} sampled paths: "
          f"{'yes' if mismatches == 0 else f'NO ({mismatches} differ)'}")

    for result in simulation.clauses:
        p10, p50, p90 = (f"{value:,.2f}" for value in result.total.percentiles.values())
        print(f"  clause {result.clause.id:<10} P10 {p10:>15}  P50 {p50:>15}  P90 {p90:>15}")
    met = vectorised_seconds < TARGET_SECONDS
    print(f"speed-up over the naive loop: {naive_seconds / vectorised_seconds:,.0f}×")
    print(f"target (< {TARGET_SECONDS:.0f} s): {'MET' if met else 'NOT MET'}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
