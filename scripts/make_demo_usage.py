"""Writes examples/demo/usage.csv: two years of daily usage for the example workspace.

Deterministic (fixed seed), weekday patterns and bursts, quantities as exact decimals. Run it
again only to change the example; the CSV is committed.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

START = date(2024, 11, 1)
END = date(2026, 10, 31)
OUT = Path(__file__).resolve().parent.parent / "examples" / "demo" / "usage.csv"


def days(start: date = START, end: date = END):
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def q(value: float, places: str = "1") -> Decimal:
    return Decimal(str(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def progress(day: date) -> float:
    """0 at the start of the history, 1 at its end: adoption grows."""
    return (day - START).days / (END - START).days


def main() -> None:
    rng = random.Random(20261031)
    rows: list[tuple[date, str, Decimal, str, str, str]] = []

    def add(day: date, pool: str, quantity: Decimal, usage_type: str = "", source: str = "",
            note: str = "") -> None:
        if quantity > 0:
            rows.append((day, pool, quantity, usage_type, source, note))

    for day in days():
        weekday = day.weekday() < 5
        factor = 1.0 if weekday else 0.3
        grow = progress(day)
        # Agentforce: pilot, then adoption growing through the second contract year.
        base = (1500 + 6500 * grow) * factor * rng.uniform(0.8, 1.2)
        if rng.random() < 0.02:
            base *= 3  # a burst: a bulk re-run of an agent over the backlog
        add(day, "flex-prod", q(base * 0.8), "agentforce_standard_action", "digital-wallet")
        add(day, "flex-prod", q(base * 0.2), "prompt_template", "digital-wallet")
        if day >= date(2025, 2, 1):
            dc = (24000 + 22000 * grow) * (1.0 if weekday else 0.6) * rng.uniform(0.85, 1.15)
            add(day, "data-cloud", q(dc * 0.5), "batch_data_pipeline", "digital-wallet")
            add(day, "data-cloud", q(dc * 0.3), "unification", "digital-wallet")
            add(day, "data-cloud", q(dc * 0.2), "data_queries", "digital-wallet")
            if weekday:
                add(day, "data-cloud", q(rng.uniform(300, 900)), "sandbox_batch_transforms",
                    "digital-wallet")
            # Marketing Cloud: journeys every day, the newsletter every Tuesday.
            add(day, "mc-messages", q(rng.uniform(6000, 9000)), "email_journey", "mc-sent")
            if day.weekday() == 1:
                add(day, "mc-messages", q(rng.uniform(130000, 160000)), "email_newsletter",
                    "mc-sent")
            if weekday:
                add(day, "mc-messages", q(rng.uniform(200, 600)), "sms", "mc-sent")
                if rng.random() < 0.16:
                    add(day, "admin-assist", q(rng.choice([1, 2, 2, 3, 4])), "", "case-log")
            add(day, "heroku", q(rng.uniform(55, 85)), "dyno_hours", "heroku-invoice")
        if day.day == 3 and date(2025, 4, 1) <= day:
            add(day, "success-fund", q(rng.uniform(4500, 8000), "0.01"), "", "invoice",
                "Adoption partner invoice")
        if day.day == 10 and date(2025, 6, 1) <= day <= date(2026, 2, 28):
            add(day, "dev-credits", q(rng.uniform(1500, 3500), "0.01"), "", "sow",
                "ERP integration SOW milestone")
        if weekday and date(2025, 5, 1) <= day and rng.random() < 0.16:
            add(day, "partner-services", q(rng.choice([2, 4, 6, 8])), "", "timesheet")
        if weekday and day >= date(2025, 3, 1) and rng.random() < 0.045:
            add(day, "training", Decimal(1), "certification_exam", "lms")
        if day >= date(2025, 11, 1) and day.day == 1:
            add(day, "slack-ai-addon", Decimal(480), "active_seats", "slack-admin")
    for session_day in ("2025-03-18", "2025-06-10", "2025-10-07", "2026-04-21"):
        add(date.fromisoformat(session_day), "accelerators", Decimal(1), "accelerator",
            "success-plan")

    rows.sort(key=lambda r: (r[0], r[1], r[3]))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["date", "pool", "quantity", "usage_type", "ref", "source", "note"])
        counters: dict[tuple[str, date], int] = {}
        for day, pool, quantity, usage_type, source, note in rows:
            n = counters[(pool, day)] = counters.get((pool, day), 0) + 1
            ref = f"NW-{pool}-{day:%Y%m%d}-{n}"
            writer.writerow([day.isoformat(), pool, quantity, usage_type, ref, source, note])
    print(f"wrote {len(rows)} rows to {OUT.name}")


if __name__ == "__main__":
    main()
