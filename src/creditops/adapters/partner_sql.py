"""A partner program as one SQL query over checked events (DuckDB).

``program_query`` returns the query and its parameters: each partner's metrics for the period and
its baseline (net of reversals), then every rule's line rounded to cents, the caps and the
clawback, one row per partner. Every value from the program or the data is a bound parameter;
column aliases are positional (``r0``, ``p_k1``), so nothing the user wrote becomes SQL text.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from creditops.core.incentives import (
    ALL_SEGMENTS,
    METRIC_DEALS,
    METRIC_REVENUE,
    UNSEGMENTED,
    Improvement,
    PerDealRebate,
    Points,
    Program,
    Rule,
    Target,
    Tiered,
)

# Widths chosen so that no expression's common type needs more than 38 digits: DuckDB would
# otherwise drop decimal places silently (least() of DECIMAL(38,4) and DECIMAL(22,8) is (38,4)).
METRIC = "DECIMAL(26,4)"
FIGURE = "DECIMAL(22,8)"


def program_query(program: Program, typed: str) -> tuple[str, dict[str, Any]]:
    """One query: partner metrics, then every rule's rounded line, caps and clawbacks."""
    params: dict[str, Any] = {
        "ps": program.period.start, "pe": program.period.end,
        "bs": program.baseline_period.start, "be": program.baseline_period.end,
        "unsegmented": UNSEGMENTED,
        "per_partner": _figure(program.caps.per_partner),
        "per_program": _figure(program.caps.per_program),
    }
    kinds = program.tracked_kinds
    kind_columns = []
    for index, kind in enumerate(kinds):
        params[f"k{index}"] = kind
        kind_columns += [f"count(*) FILTER (kind = $k{index} AND d >= $ps) AS p_k{index}",
                         f"count(*) FILTER (kind = $k{index} AND d < $ps) AS b_k{index}"]
    segment_sql = _segment_sql(program, params)
    # The baseline always ends before the period starts (the model checks it): a date in
    # either window is in the period when it is on or after its start. Adjacent windows (the
    # previous period) read as one range, which Parquet row-group statistics can skip to.
    adjacent = program.baseline_period.end + timedelta(days=1) == program.period.start
    windows = ("d BETWEEN $bs AND $pe" if adjacent
               else "(d BETWEEN $bs AND $be OR d BETWEEN $ps AND $pe)")
    rule_columns = [f"{_rule_sql(rule, index, program, params)} AS r{index}"
                    for index, rule in enumerate(program.rules)]
    positive = " + ".join(f"coalesce(r{index}, 0)" for index in range(len(program.rules)))
    kind_metrics = [f"coalesce(a.{side}_k{index}, 0) AS {side}_k{index}"
                    for index in range(len(kinds)) for side in ("p", "b")]
    metric_list = [f"{side}_k{index}" for side in ("p", "b") for index in range(len(kinds))]
    sql = f"""
    WITH activity AS (
        SELECT partner_id,
               count(*) FILTER (kind = $closed AND d >= $ps) AS p_deals,
               sum(amount) FILTER (kind = $closed AND d >= $ps) AS p_revenue,
               count(*) FILTER (kind = $closed AND d < $ps) AS b_deals,
               sum(amount) FILTER (kind = $closed AND d < $ps) AS b_revenue
               {"".join(", " + column for column in kind_columns)}
        FROM {typed} WHERE {windows}
        GROUP BY partner_id),
    reversed AS (
        SELECT partner_id,
               count(*) FILTER (reversed_on BETWEEN $ps AND $pe
                                AND closed_on BETWEEN $ps AND $pe) AS p_n,
               sum(amount) FILTER (reversed_on BETWEEN $ps AND $pe
                                   AND closed_on BETWEEN $ps AND $pe) AS p_amount,
               count(*) FILTER (reversed_on BETWEEN $bs AND $be
                                AND closed_on BETWEEN $bs AND $be) AS b_n,
               sum(amount) FILTER (reversed_on BETWEEN $bs AND $be
                                   AND closed_on BETWEEN $bs AND $be) AS b_amount,
               list(deal_id) FILTER (clawed) AS clawed,
               sum(amount) FILTER (clawed) AS clawed_amount
        FROM (SELECT *, closed_on < $ps AND (reversed_on BETWEEN $ps AND $pe
                        OR (reversed_on < $ps AND list_contains($late, deal_id))) AS clawed
              FROM reversals)
        GROUP BY partner_id),
    metrics AS (
        SELECT p.partner_id, {segment_sql} AS segment,
               coalesce(a.p_deals, 0) - coalesce(r.p_n, 0) AS p_deals,
               CAST(coalesce(a.p_revenue, 0) - coalesce(r.p_amount, 0) AS {METRIC})
                   AS p_revenue,
               coalesce(a.b_deals, 0) - coalesce(r.b_n, 0) AS b_deals,
               CAST(coalesce(a.b_revenue, 0) - coalesce(r.b_amount, 0) AS {METRIC})
                   AS b_revenue,
               r.clawed, CAST(coalesce(r.clawed_amount, 0) AS {METRIC}) AS clawed_amount
               {"".join(", " + column for column in kind_metrics)}
        FROM partners p LEFT JOIN activity a USING (partner_id)
                        LEFT JOIN reversed r USING (partner_id)),
    lines AS (
        SELECT *, {', '.join(rule_columns)}, {_clawback_sql(program, params)} AS clawback
        FROM metrics),
    capped AS (
        SELECT *, {positive} AS positive,
               CASE WHEN $per_partner IS NOT NULL
                         AND {positive} > CAST($per_partner AS DECIMAL(38,2))
                    THEN CAST($per_partner AS DECIMAL(38,2)) ELSE {positive} END AS capped
        FROM lines),
    program AS (SELECT sum(capped) AS program_total FROM capped)
    SELECT partner_id, segment, p_deals, p_revenue, b_deals, b_revenue, clawed,
           clawed_amount, positive, capped, program_total,
           CASE WHEN $per_program IS NOT NULL
                     AND program_total > CAST($per_program AS DECIMAL(38,2))
                THEN CAST(capped * 100 AS HUGEINT)
                     * CAST(CAST($per_program AS DECIMAL(38,2)) * 100 AS HUGEINT)
                     // CAST(program_total * 100 AS HUGEINT) END AS scaled_cents,
           clawback
           {"".join(", " + column for column in metric_list)}
           {"".join(f", r{index}" for index in range(len(program.rules)))}
    FROM capped, program"""
    return sql, params


def _figure(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _segment_sql(program: Program, params: dict[str, Any]) -> str:
    branches = []
    for index, segment in enumerate(program.segments):
        params[f"s{index}"] = segment.name
        conditions = []
        for position, (attribute, values) in enumerate(segment.criteria):
            params[f"s{index}a{position}"] = attribute
            params[f"s{index}v{position}"] = sorted(values)
            conditions.append(
                f"coalesce(list_contains($s{index}v{position}, p.attrs[$s{index}a{position}]),"
                " false)")
        branches.append(f"WHEN {' AND '.join(conditions)} THEN $s{index}")
    if not branches:
        return "$unsegmented"
    return f"CASE {' '.join(branches)} ELSE $unsegmented END"


def _applies(rule: Rule, index: int, params: dict[str, Any]) -> str | None:
    """The condition for the rule to apply to a partner's segment; None when it always does."""
    if ALL_SEGMENTS in rule.segments:
        return None
    params[f"segs{index}"] = list(rule.segments)
    return f"list_contains($segs{index}, segment)"


def _metric(metric: str, side: str, program: Program) -> str:
    if metric == METRIC_DEALS:
        return f"{side}_deals"
    if metric == METRIC_REVENUE:
        return f"{side}_revenue"
    return f"{side}_k{program.tracked_kinds.index(metric)}"


def _rule_sql(rule: Rule, index: int, program: Program, params: dict[str, Any]) -> str:
    def figure(name: str, value: Decimal | None) -> str:
        params[f"r{index}_{name}"] = _figure(value)
        return f"CAST($r{index}_{name} AS {FIGURE})"

    if isinstance(rule, PerDealRebate):
        exact = (f"{figure('rate', rule.rate)} * p_revenue" if rule.rate is not None
                 else f"{figure('amount', rule.amount)} * p_deals")
    elif isinstance(rule, Target):
        value = _metric(rule.metric, "p", program)
        exact = (f"CASE WHEN {value} >= {figure('threshold', rule.threshold)} "
                 f"THEN {figure('bonus', rule.bonus)} ELSE 0 END")
    elif isinstance(rule, Tiered):
        value = _metric(rule.metric, "p", program)
        slices = []
        for position, tier in enumerate(rule.tiers):
            start = figure(f"from{position}", tier.start)
            top = value
            if position + 1 < len(rule.tiers):
                top = f"least({value}, {figure(f'to{position}', rule.tiers[position + 1].start)})"
            slices.append(f"{figure(f'rate{position}', tier.rate)} * "
                          f"greatest({top} - {start}, 0)")
        exact = " + ".join(slices)
    elif isinstance(rule, Improvement):
        value = _metric(rule.metric, "p", program)
        base = f"greatest({_metric(rule.metric, 'b', program)}, {figure('floor', rule.floor)})"
        gain = f"{figure('rate', rule.rate)} * ({value} - {base})"
        if rule.cap is not None:
            gain = f"least({gain}, {figure('cap', rule.cap)})"
        exact = (f"CASE WHEN {value} >= {base} * (1 + {figure('min_gain', rule.min_gain)}) "
                 f"THEN {gain} ELSE 0 END")
    else:
        exact = _points_sql(rule, index, program, params)
    amount = f"round({exact}, 2)"
    condition = _applies(rule, index, params)
    return amount if condition is None else f"CASE WHEN {condition} THEN {amount} END"


def _points_sql(rule: Points, index: int, program: Program, params: dict[str, Any]) -> str:
    terms = []
    for position, (kind, points) in enumerate(rule.points):
        params[f"r{index}_p{position}"] = points
        terms.append(f"CAST($r{index}_p{position} AS BIGINT) * "
                     f"{_metric(kind, 'p', program)}")
    earned = " + ".join(terms) if terms else "0"
    if rule.cap_points is not None:
        params[f"r{index}_cap"] = rule.cap_points
        earned = f"least({earned}, CAST($r{index}_cap AS BIGINT))"
    params[f"r{index}_value"] = str(rule.point_value)
    return f"CAST($r{index}_value AS {FIGURE}) * ({earned})"


def _clawback_sql(program: Program, params: dict[str, Any]) -> str:
    terms, conditions = [], []
    for index, rule in enumerate(program.rules):
        if not isinstance(rule, PerDealRebate):
            continue
        if rule.rate is not None:
            exact = f"CAST($r{index}_rate AS {FIGURE}) * clawed_amount"
        else:
            exact = f"CAST($r{index}_amount AS {FIGURE}) * len(clawed)"
        condition = _applies(rule, index, params) or "true"
        conditions.append(condition)
        terms.append(f"CASE WHEN {condition} THEN {exact} ELSE 0 END")
    if not terms:
        return "CAST(NULL AS DECIMAL(38,2))"
    return (f"CASE WHEN len(clawed) > 0 AND ({' OR '.join(conditions)}) "
            f"THEN -round({' + '.join(terms)}, 2) END")
