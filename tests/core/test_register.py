"""The register's baseline run-rate, projection and statuses (PRODUCT.md §3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from creditops.core.model import Contract, Duration, Grant, OveragePolicy, Pool, Recurrence, Usage
from creditops.core.register import (
    RegisterSettings,
    build_pool_register,
    build_register,
    daily_run_rates,
    window_days,
)


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def daily(start: str, days: int, quantity: str, usage_type: str | None = None) -> list[Usage]:
    first = t(start)
    return [Usage(f"{start}-{usage_type}-{k}", first + timedelta(days=k), D(quantity), usage_type)
            for k in range(days)]


def make_pool(*grants: Grant, **extra: object) -> Pool:
    return Pool("p", "flex_credits", "credit", D("0.005"), tuple(grants), **extra)  # type: ignore[arg-type]


def test_window_of_90_days_ending_30_june_holds_2_april_to_30_june() -> None:
    grant = Grant("g", D(10**6), t("2026-01-01"), t("2027-01-01"))
    pool = make_pool(grant)
    as_of = t("2026-07-01")  # the end of 30 June
    usage = daily("2026-04-01", 91, "1")  # 1 April … 30 June
    assert window_days(pool, as_of, 90) == D(90)
    assert daily_run_rates(pool, usage, as_of, 90) == [(None, D(1))]  # 1 April is outside
    usage_with_first = [*usage, Usage("big", t("2026-04-01"), D(900), None)]
    assert daily_run_rates(pool, usage_with_first, as_of, 90) == [(None, D(1))]


def test_window_counts_only_days_since_the_first_grant() -> None:
    grant = Grant("g", D(1000), t("2026-06-01"), t("2027-01-01"))
    pool = make_pool(grant)
    as_of = t("2026-07-01")
    assert window_days(pool, as_of, 90) == D(30)
    assert daily_run_rates(pool, daily("2026-06-01", 30, "3"), as_of, 90) == [(None, D(3))]
    assert window_days(pool, t("2026-06-01T12:00:00"), 90) == D("0.5")
    assert window_days(pool, t("2026-05-01"), 90) == D(0)
    assert window_days(make_pool(), as_of, 90) == D(0)
    assert daily_run_rates(pool, [], t("2026-05-01"), 90) == []


def test_run_rate_rounds_per_usage_type_and_ignores_net_negative_types() -> None:
    pool = make_pool(Grant("g", D(1000), t("2026-01-01"), t("2027-01-01")))
    usage = [Usage("a", t("2026-06-30"), D(10), "x"), Usage("b", t("2026-06-30"), D(-5), "y"),
             Usage("c", t("2026-06-30"), D(1), None),
             Usage("d", t("2026-06-30"), D("0.00001"), "z")]
    rates = daily_run_rates(pool, usage, t("2026-07-01"), 90)
    assert rates == [(None, D("0.011111")), ("x", D("0.111111"))]


def test_no_history_means_zero_run_rate_and_everything_projected_to_lapse() -> None:
    grant = Grant("g", D(500), t("2026-01-01"), t("2026-12-01"))
    entry = build_pool_register(make_pool(grant), [], t("2026-07-01"))
    row = entry.grants[0]
    assert row.run_rate == 0 and row.projected_unconsumed == D(500)
    assert row.projected_unconsumed_pct == D(1) and row.status == "at_risk"
    assert row.projected_unconsumed_value == D("2.50")
    assert entry.row.status == "at_risk" and entry.row.expires == t("2026-12-01")


def test_projection_by_hand_and_on_track_below_threshold() -> None:
    grant = Grant("g", D(1000), t("2026-01-01"), t("2026-07-31"))
    usage = daily("2026-01-01", 181, "4")  # 1 Jan … 30 Jun, 4 a day
    entry = build_pool_register(make_pool(grant), usage, t("2026-07-01"))
    row = entry.grants[0]
    # 1000 − 181·4 = 276 left; 30 July days at 4 a day = 120 more; 156 lapse (15.6%).
    assert (row.consumed, row.remaining, row.run_rate) == (D(724), D(276), D(4))
    assert row.projected_unconsumed == D(156)
    assert row.projected_unconsumed_pct == D("0.156") and row.status == "on_track"
    strict = RegisterSettings(risk_threshold=D("0.10"))
    assert build_pool_register(make_pool(grant), usage, t("2026-07-01"), strict
                               ).grants[0].status == "at_risk"
    per_pool = make_pool(grant, risk_threshold=D("0.5"))
    assert build_pool_register(per_pool, usage, t("2026-07-01"), strict
                               ).grants[0].status == "on_track"


def test_statuses_of_grants_and_the_worst_for_the_pool() -> None:
    grants = (
        Grant("expired", D(10), t("2026-01-01"), t("2026-02-01")),
        Grant("voided", D(10), t("2026-01-01"), t("2026-12-01"), voided_at=t("2026-03-01")),
        Grant("exhausted", D(5), t("2026-01-01"), t("2026-12-01"), priority=1),
    )
    usage = [Usage("u", t("2026-04-01"), D(5), None)]
    entry = build_pool_register(make_pool(*grants), usage, t("2026-05-01"))
    statuses = {row.id: row.status for row in entry.grants}
    assert statuses == {"expired": "expired", "voided": "voided", "exhausted": "exhausted"}
    assert entry.row.status == "exhausted"
    only_old = build_pool_register(make_pool(*grants[:2]), [], t("2026-05-01"))
    assert only_old.row.status == "expired" and only_old.row.projected_unconsumed_pct == 0
    assert build_pool_register(make_pool(grants[1]), [], t("2026-05-01")).row.status == "voided"
    assert build_pool_register(make_pool(), [], t("2026-05-01")).row.status == "empty"


def test_overage_in_the_last_365_days_or_the_current_contract_year() -> None:
    grant = Grant("g", D(10), t("2025-01-01"), t("2025-03-01"))
    usage = [Usage("u", t("2025-02-15"), D(20), None)]
    pool = make_pool(grant)
    assert build_pool_register(pool, usage, t("2025-06-01")).row.status == "overage"
    assert build_pool_register(pool, usage, t("2026-03-01")).row.status == "expired"
    contract = Contract("c", "Order", t("2024-03-01"), t("2027-03-01"))
    in_contract = make_pool(grant, contract="c")
    # The contract year 1 Mar 2025 – 28 Feb 2026 does not hold the February 2025 overage.
    assert build_pool_register(in_contract, usage, t("2025-06-01"), contracts={"c": contract}
                               ).row.status == "expired"
    assert build_pool_register(in_contract, usage, t("2025-02-20"), contracts={"c": contract}
                               ).row.status == "overage"
    entry = build_pool_register(pool, usage, t("2025-06-01"))
    assert entry.overage == D(10) and entry.overage_value == D("0.05")


def test_recurring_grant_is_shown_for_its_current_period() -> None:
    monthly = Grant("m", D(30), t("2026-01-01"), t("2027-01-01"),
                    recurrence=Recurrence(Duration(months=1), t("2026-01-01")))
    usage = daily("2026-05-01", 61, "0.5")  # May and June
    entry = build_pool_register(make_pool(monthly), usage, t("2026-06-21"))
    row = entry.grants[0]
    assert row.contracted == D(30) and row.consumed == D(10)  # 20 June days so far
    assert row.expires == t("2026-07-01")
    # run-rate: 51 days × 0.5 over 90 days; the rest of June (10 days) at that rate.
    assert row.run_rate == D("0.283333")
    assert row.projected_unconsumed == D(20) - D("0.283333") * 10
    assert row.lapsed == D(30) * 4 + D("14.5")  # Jan–Apr unused; May used 15.5 of 30


def test_register_lists_pools_sorted_with_rows_summing_grants() -> None:
    a = make_pool(Grant("g1", D(100), t("2026-01-01"), t("2026-12-01")),
                  Grant("g2", D(50), t("2026-01-01"), t("2026-10-01")))
    b = Pool("b", "training_credits", "voucher", D(200), (), overage_policy=OveragePolicy.CARRY)
    register = build_register([(a, daily("2026-06-01", 30, "1")), (b, [])], t("2026-07-01"))
    assert [entry.pool.id for entry in register.pools] == ["b", "p"]
    entry = register.pool("p")
    assert entry.row.contracted == D(150) and entry.row.consumed == D(30)
    assert entry.row.remaining == D(120)
    assert entry.row.expires == t("2026-10-01")
    assert entry.row.projected_unconsumed == sum(g.projected_unconsumed for g in entry.grants)
    try:
        register.pool("missing")
    except KeyError:
        pass
    else:  # pragma: no cover - the lookup must fail
        raise AssertionError("unknown pool found")
