"""Property tests: the invariants of PRODUCT.md §2 on generated pools, and order independence."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditops.core.ledger import Ledger, balance_at
from creditops.core.model import (
    Duration,
    Grant,
    OveragePolicy,
    Pool,
    Recurrence,
    Rollover,
    Usage,
)

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
TYPES = [None, "a", "b"]

quantities = st.integers(min_value=0, max_value=500).map(lambda n: D(n) / 4)


@st.composite
def grants(draw: st.DrawFn, index: int) -> Grant:
    start = draw(st.integers(0, 60))
    length = draw(st.one_of(st.none(), st.integers(1, 90)))
    effective = EPOCH + timedelta(days=start)
    expires = None if length is None else effective + timedelta(days=length)
    recurrence = None
    if draw(st.booleans()):
        recurrence = Recurrence(Duration(days=draw(st.integers(3, 40))),
                                EPOCH + timedelta(days=draw(st.integers(0, 80))))
    rollover = None
    if expires is not None and draw(st.booleans()):
        rollover = Rollover(
            fraction=D(draw(st.integers(0, 4))) / 4,
            max=draw(st.one_of(st.none(), quantities)),
            expires=expires + timedelta(days=draw(st.integers(1, 30))),
        )
    voided_at = None
    if draw(st.integers(0, 4)) == 0:
        voided_at = EPOCH + timedelta(days=draw(st.integers(0, 150)))
    applies_to = draw(st.sampled_from([None, frozenset({"a"}), frozenset({"a", "b"})]))
    return Grant(
        id=f"g{index}", quantity=draw(quantities), effective=effective, expires=expires,
        priority=draw(st.sampled_from([1, 10, 10])), applies_to=applies_to,
        recurrence=recurrence, rollover=rollover, voided_at=voided_at,
    )


@st.composite
def pools(draw: st.DrawFn) -> tuple[Pool, list[Usage]]:
    count = draw(st.integers(0, 5))
    pool = Pool("p", "flex_credits", "credit", D(1),
                tuple(draw(grants(i)) for i in range(count)),
                overage_policy=draw(st.sampled_from(list(OveragePolicy))))
    usages: list[Usage] = []
    for index in range(draw(st.integers(0, 40))):
        at = EPOCH + timedelta(days=draw(st.integers(0, 160)), hours=draw(st.integers(0, 23)))
        usages.append(Usage(f"u{index}", at, draw(quantities), draw(st.sampled_from(TYPES))))
    for index, original in enumerate(draw(st.lists(st.sampled_from(usages), max_size=4))
                                     if usages else []):
        delay = timedelta(days=draw(st.integers(0, 30)))
        share = D(draw(st.integers(0, 4))) / 4
        usages.append(Usage(f"r{index}", original.at + delay, -(original.quantity * share),
                            None, original.key))
    # Reversals of one original may not add up to more than it.
    reversed_total: dict[str, D] = {}
    kept = []
    for usage in usages:
        if usage.reverses is not None:
            original = next(u for u in usages if u.key == usage.reverses)
            total = reversed_total.get(usage.reverses, D(0)) - usage.quantity
            if total > original.quantity or usage.quantity == 0:
                continue
            reversed_total[usage.reverses] = total
        kept.append(usage)
    return pool, kept


def _fingerprint(balance) -> list[tuple[object, ...]]:
    return [(g.grant.id, g.granted, g.consumed, g.remaining, g.lapsed, g.voided,
             g.carried_forward) for g in balance.grants] + [
        (balance.balance, balance.consumed, balance.overage, balance.lapsed, balance.voided)
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools(), st.integers(0, 200))
def test_conservation_at_any_instant(data: tuple[Pool, list[Usage]], day: int) -> None:
    pool, usages = data
    balance = balance_at(pool, usages, EPOCH + timedelta(days=day))
    carried = sum((g.carried_forward for g in balance.grants), D(0))
    granted = sum((g.granted for g in balance.grants), D(0)) - carried
    remaining = sum((g.remaining for g in balance.grants), D(0))
    assert granted == balance.consumed + remaining + balance.lapsed + balance.voided
    assert balance.usage_total == balance.consumed + balance.overage
    assert balance.balance == remaining
    for grant in balance.grants:
        assert grant.remaining >= 0 and grant.consumed >= 0
        assert grant.remaining <= grant.grant.quantity


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools(), st.integers(0, 200), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_input_order(data: tuple[Pool, list[Usage]], day: int,
                                              shuffler: random.Random) -> None:
    pool, usages = data
    as_of = EPOCH + timedelta(days=day)
    shuffled_grants = list(pool.grants)
    shuffler.shuffle(shuffled_grants)
    shuffled_usages = list(usages)
    shuffler.shuffle(shuffled_usages)
    other = Pool(pool.id, pool.kind, pool.unit, pool.unit_value, tuple(shuffled_grants),
                 overage_policy=pool.overage_policy)
    assert _fingerprint(balance_at(pool, usages, as_of)) == \
        _fingerprint(balance_at(other, shuffled_usages, as_of))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools(), st.integers(0, 100), quantities, quantities)
def test_projection_equals_explicit_daily_usage(data: tuple[Pool, list[Usage]], day: int,
                                                plain: D, typed: D) -> None:
    pool, usages = data
    start = EPOCH + timedelta(days=day)
    until = start + timedelta(days=120)
    daily = [(None, plain), ("a", typed)]
    projected = Ledger(pool, usages)
    projected.advance(start)
    projected.project(start, until, daily)
    explicit = [u for u in usages if u.at < start] + [
        Usage(f"~d{k}-{i}", start + timedelta(days=k), quantity, usage_type)
        for k in range(120) for i, (usage_type, quantity) in enumerate(daily) if quantity > 0
    ]
    assert _fingerprint(projected.snapshot()) == _fingerprint(balance_at(pool, explicit, until))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools(), st.integers(0, 200))
def test_usage_applied_in_runs_equals_usage_applied_one_by_one(
        data: tuple[Pool, list[Usage]], day: int) -> None:
    """Runs of usage between grant events are applied at once; a reversal anywhere in the data
    switches that off (its units must be traced usage by usage), so a reversal dated after the
    instant asked gives the one-by-one result to compare with."""
    pool, usages = data
    plain = [u for u in usages if u.reverses is None]
    if not plain:
        return
    as_of = EPOCH + timedelta(days=day)
    tracer = Usage("~reversal", EPOCH + timedelta(days=10_000), -plain[0].quantity or D(-1),
                   None, plain[0].key)
    fast = balance_at(pool, plain, as_of)
    one_by_one = balance_at(pool, [*plain, tracer], as_of)
    assert _fingerprint(fast) == _fingerprint(one_by_one)
    assert fast.usage_total == one_by_one.usage_total
