"""Small builders for the monitoring tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from creditops.core.model import Grant, Pool, Usage
from creditops.core.plans import Milestone


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def daily(start: str, days: int, quantity: str, usage_type: str | None = None,
          prefix: str = "u") -> list[Usage]:
    first = t(start)
    return [Usage(f"{prefix}-{start}-{usage_type}-{k:05d}", first + timedelta(days=k),
                  D(quantity), usage_type) for k in range(days)]


def make_pool(*grants: Grant, **extra: object) -> Pool:
    return Pool("p", "flex_credits", "credit", D("0.005"), tuple(grants),  # type: ignore[arg-type]
                **extra)


def milestone(day: str, quantity: str, pool: str = "p", ident: str | None = None,
              **extra: object) -> Milestone:
    at = t(day)
    return Milestone(ident or f"{pool}@{day}", pool, at, at + timedelta(days=1), D(quantity),
                     **extra)  # type: ignore[arg-type]
