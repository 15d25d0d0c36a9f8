"""The columnar engine: a program's rules as SQL over DuckDB, exact to the cent.

It computes what the core's row-by-row reference computes (same checks, same words, same
amounts) in a few passes over the whole file: the row checks, mostly answered from Parquet
statistics; deal ids counted for uniqueness; reversals joined to their deals; then one query
(``partner_sql``) aggregates each partner's period and baseline and applies the rules to one
row per partner. Money is DECIMAL throughout (amounts DECIMAL(18,4), program figures
DECIMAL(22,8)); lines are rounded half away from zero (= half up for positive amounts).

Every value from the user (paths, dates, rates, segment values, kinds) is a bound parameter;
the only names written into the SQL are the events file's fixed column names and patterns
defined in this code base.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from creditops.adapters.partner_events import (
    AMOUNT_PATTERN,
    DATE_PATTERN,
    INSTANT_PATTERN,
    OFFSET_PATTERN,
    EventsFile,
    bad_amount_problem,
    bad_date_problem,
    missing_amount_problem,
    missing_problem,
    missing_ref_problem,
    negative_amount_problem,
    unknown_kind_problem,
)
from creditops.adapters.partner_sql import program_query
from creditops.core.errors import InputError, Problem
from creditops.core.incentive_payouts import (
    PartnerMetrics,
    PartnerPayout,
    PayoutLine,
    PeriodMetrics,
    ProgramResult,
    build_result,
    clawback_line,
    per_partner_cap_line,
    program_cap_line,
)
from creditops.core.incentive_reference import (
    MAX_PROBLEMS,
    Partner,
    Reversal,
    duplicate_deal_problem,
    early_reversal_problem,
    foreign_deal_problem,
    raise_problems,
    repeated_reversal_problem,
    unknown_deal_problem,
    unknown_partner_problem,
)
from creditops.core.incentives import (
    DEAL_CLOSED,
    DEAL_REVERSED,
    PerDealRebate,
    Program,
    Rule,
)
from creditops.core.numbers import ZERO

AMOUNT = "DECIMAL(18,4)"
_PARAMETER = re.compile(r"\$([a-z_][a-z0-9_]*)")


def _quote(name: str) -> str:
    return f'"{name}"'


class ColumnarEvents:
    """An events file read for one program's time zone and event kinds, checked once; then any
    period can be evaluated (the simulation replays several). Use as a context manager."""

    def __init__(self, events: EventsFile, program: Program, partners: Sequence[Partner],
                 threads: int | None = None) -> None:
        self._events = events
        self._partners = partners
        self._names = {partner.partner_id: partner.name for partner in partners}
        self._empty_strings: dict[str, bool] = {}
        self._duplicates = 0
        self._params: dict[str, Any] = {
            "path": str(events.path), "tz": program.timezone,
            "known": list(program.known_kinds), "closed": DEAL_CLOSED,
            "reversed": DEAL_REVERSED}
        config: dict[str, str | bool | int | float | list[str]] = (
            {"threads": threads} if threads else {})
        self._con = duckdb.connect(":memory:", config=config)
        self._con.execute("SET TimeZone = 'UTC'")
        try:
            self._register_partners()
            self._types = self._source_types()
            self._check_rows()
            self._check_relations()
        except BaseException:
            self._con.close()
            raise

    def __enter__(self) -> ColumnarEvents:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()

    # --- reading -------------------------------------------------------------------------

    def _run(self, sql: str, extra: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        params = {**self._params, **(extra or {})}
        used = {name: params[name] for name in set(_PARAMETER.findall(sql))}
        try:
            return self._con.execute(sql, used).fetchall()
        except (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException,
                duckdb.OutOfRangeException) as error:
            raise InputError(Problem(f"cannot read the events: {error}",
                                     self._events.source)) from None

    def _register_partners(self) -> None:
        table = pa.table({
            "partner_id": [partner.partner_id for partner in self._partners],
            "attrs": pa.array([list(partner.attributes.items()) for partner in self._partners],
                              type=pa.map_(pa.string(), pa.string())),
        })
        self._con.register("partners_arrow", table)
        self._con.execute("CREATE TEMP TABLE partners AS SELECT * FROM partners_arrow")
        self._con.unregister("partners_arrow")

    def _source_types(self) -> dict[str, str]:
        if self._events.format == "csv":
            self._run("""
                CREATE TEMP TABLE raw_events AS
                SELECT row_number() OVER () + 1 AS rn, *
                FROM read_csv($path, header = true, all_varchar = true, delim = ',',
                              quote = '"', escape = '"')""")
            source = "raw_events"
        else:
            source = "read_parquet($path)"
        described = self._run(f"DESCRIBE SELECT * FROM {source}")
        return {str(name): str(kind) for name, kind, *_ in described}

    def _source(self, rows: bool) -> str:
        if self._events.format == "csv":
            return "raw_events"
        if rows:
            return "(SELECT *, file_row_number + 1 AS rn FROM " \
                   "read_parquet($path, file_row_number = true))"
        return "read_parquet($path)"

    def _typed(self, rows: bool = False) -> str:
        """The events as (id, partner_id, d, kind, amount, ref): ``d`` the local date, NULL when
        missing or unreadable; ``amount`` NULL when missing or not an exact amount. With
        ``rows``: also the row number and the raw ``at`` and ``amount``."""
        columns = [
            f"{self._text('id')} AS id", f"{self._text('partner_id')} AS partner_id",
            f"{self._day()} AS d", f"{self._text('kind')} AS kind",
            f"{self._amount()} AS amount", f"{self._text('ref')} AS ref"]
        if rows:
            columns += ["rn", 'CAST("at" AS VARCHAR) AS raw_at',
                        f"{self._raw('amount')} AS raw_amount"]
        return f"(SELECT {', '.join(columns)} FROM {self._source(rows)})"

    def _text(self, name: str) -> str:
        kind = self._types.get(name)
        if kind is None:
            return "CAST(NULL AS VARCHAR)"
        if kind == "VARCHAR":
            # An empty string is a missing value; NULLIF costs, so only where there are some.
            return f"NULLIF(\"{name}\", '')" if self._empty_strings.get(name, True) \
                else f'"{name}"'
        return f'CAST("{name}" AS VARCHAR)'

    def _raw(self, name: str) -> str:
        return f'"{name}"' if name in self._types else "NULL"

    def _day(self) -> str:
        kind = self._types["at"]
        if kind == "DATE":
            return '"at"'
        if kind.startswith("TIMESTAMP WITH TIME ZONE"):
            return 'CAST(timezone($tz, "at") AS DATE)'
        if kind.startswith("TIMESTAMP"):
            return 'CAST("at" AS DATE)'
        return (f"""CASE WHEN regexp_full_match("at", '{DATE_PATTERN}')
                    THEN TRY_CAST("at" AS DATE)
                WHEN regexp_full_match("at", '{OFFSET_PATTERN}')
                    THEN CAST(timezone($tz, TRY_CAST("at" AS TIMESTAMPTZ)) AS DATE)
                WHEN regexp_full_match("at", '{INSTANT_PATTERN}')
                    THEN CAST(TRY_CAST("at" AS TIMESTAMP) AS DATE) END""")

    def _amount(self) -> str:
        kind = self._types.get("amount")
        if kind is None:
            return f"CAST(NULL AS {AMOUNT})"
        if kind == "VARCHAR":
            return (f"""CASE WHEN regexp_full_match("amount", '{AMOUNT_PATTERN}')
                    THEN CAST("amount" AS {AMOUNT}) END""")
        decimal = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", kind)
        if decimal and int(decimal[2]) <= 4:
            # No place can be lost; an amount too large for DECIMAL(18,4) becomes NULL.
            if int(decimal[1]) - int(decimal[2]) <= 14:
                return f'CAST("amount" AS {AMOUNT})'
            return f'TRY_CAST("amount" AS {AMOUNT})'
        return (f'CASE WHEN TRY_CAST("amount" AS {AMOUNT}) = "amount" '
                f'THEN CAST("amount" AS {AMOUNT}) END')

    # --- checks --------------------------------------------------------------------------

    _ROW_PROBLEMS = """
        id IS NULL OR partner_id IS NULL OR d IS NULL
        OR kind IS NULL OR NOT list_contains($known, kind)
        OR (kind = $closed AND (amount IS NULL OR amount < 0))
        OR (kind = $reversed AND ref IS NULL)"""

    def _check_rows(self) -> None:
        """What each row must hold by itself (the reference's ``read_events``). Counted with
        queries that Parquet statistics answer cheaply (NULL counts; an empty string is below
        every row group's minimum) or that read few columns; rows are looked at only when
        something is wrong."""
        source = self._source(rows=False)
        present = [name for name in ("id", "partner_id", "at") if name in self._types]
        counts = ", ".join(f"count(*) - count({_quote(name)})" for name in present)
        (nulls,) = self._run(f"SELECT {counts} FROM {source}")
        total = sum(nulls)
        for name in ("id", "partner_id", "kind", "ref"):
            if self._types.get(name) == "VARCHAR":
                ((empty,),) = self._run(
                    f"SELECT count(*) FROM {source} WHERE {_quote(name)} = ''")
                self._empty_strings[name] = bool(empty)
                total += empty if name in ("id", "partner_id") else 0
        if self._types["at"] == "VARCHAR":
            ((unreadable,),) = self._run(f"SELECT count(*) FROM {self._typed()} WHERE d IS NULL")
            total += unreadable - nulls[2]
        known = self._params["known"]
        total += sum(rows for kind, rows in self._run(
            f"SELECT kind, count(*) FROM {self._typed()} GROUP BY kind") if kind not in known)
        # Deals are read once into memory: their amounts checked, their ids counted for
        # uniqueness, and reversals joined to them.
        self._run(f"""
            CREATE OR REPLACE TEMP TABLE deals AS
            SELECT id, partner_id, d, amount FROM {self._typed()} WHERE kind = $closed""")
        ((self._duplicates, bad_amounts),) = self._run("""
            SELECT count(*) - count(DISTINCT id),
                   count(*) FILTER (amount IS NULL OR amount < 0)
            FROM deals""")
        ((no_refs,),) = self._run(f"""
            SELECT count(*) FROM {self._typed()} WHERE kind = $reversed AND ref IS NULL""")
        total += bad_amounts + no_refs
        if total:
            self._row_problems(total)

    def _row_problems(self, total: int) -> None:
        rows = self._run(f"""
            SELECT rn, id IS NULL, partner_id IS NULL, d IS NULL, raw_at, kind, amount,
                   CAST(raw_amount AS VARCHAR), ref IS NULL
            FROM {self._typed(rows=True)}
            WHERE id IS NULL OR partner_id IS NULL OR d IS NULL
                  OR kind IS NULL OR NOT list_contains($known, kind)
                  OR (kind = $closed AND (amount IS NULL OR amount < 0))
                  OR (kind = $reversed AND ref IS NULL)
            ORDER BY rn LIMIT {MAX_PROBLEMS}""")
        source = self._events.source
        known = self._params["known"]
        problems: list[Problem] = []
        for row, no_id, no_partner, no_day, raw_at, kind, amount, raw_amount, no_ref in rows:
            problems += [missing_problem(source, row, name) for name, missing in
                         (("id", no_id), ("partner_id", no_partner)) if missing]
            if no_day:
                problems.append(missing_problem(source, row, "at") if raw_at in (None, "")
                                else bad_date_problem(source, row, raw_at))
            if kind is None:
                problems.append(missing_problem(source, row, "kind"))
            elif kind not in known:
                problems.append(unknown_kind_problem(source, row, kind, known))
            if kind == DEAL_CLOSED:
                if raw_amount in (None, ""):
                    problems.append(missing_amount_problem(source, row))
                elif amount is None:
                    problems.append(bad_amount_problem(source, row, raw_amount))
                elif amount < 0:
                    problems.append(negative_amount_problem(source, row, raw_amount))
            elif kind == DEAL_REVERSED and no_ref:
                problems.append(missing_ref_problem(source, row))
        raise_problems(problems, total, source)

    def _check_relations(self) -> None:
        """Partners exist; deal ids are unique; each reversal reverses an existing deal of the
        same partner, once, on or after its day (the reference's ``check_events``)."""
        source = self._events.source
        problems: list[Problem] = []
        known = {partner.partner_id for partner in self._partners}
        present = [partner_id for (partner_id,) in
                   self._run(f"SELECT DISTINCT partner_id FROM {self._typed()}")]
        unknown = sorted(set(present) - known)
        total = 0
        if unknown:
            found = self._run(f"""
                SELECT rn, partner_id, count(*) OVER () FROM {self._typed(rows=True)}
                WHERE list_contains($unknown, partner_id) ORDER BY rn LIMIT {MAX_PROBLEMS}""",
                              {"unknown": unknown})
            total += found[0][2]
            problems += [unknown_partner_problem(source, row, partner_id)
                         for row, partner_id, _ in found]
        bad = self._duplicates
        if not bad:
            # Each reversal with the deal it reverses (a small table: reversals are few).
            self._run(f"""
                CREATE OR REPLACE TEMP TABLE reversals AS
                SELECT r.ref AS deal_id, d.partner_id, d.d AS closed_on, d.amount,
                       r.d AS reversed_on, r.partner_id AS reversal_partner
                FROM (SELECT partner_id, d, ref FROM {self._typed()}
                      WHERE kind = $reversed) r
                LEFT JOIN deals d ON d.id = r.ref""")
            ((bad,),) = self._run("""
                SELECT count(*) FILTER (partner_id IS NULL OR partner_id <> reversal_partner
                                        OR reversed_on < closed_on)
                       + count(*) - count(DISTINCT deal_id)
                FROM reversals""")
        if bad:
            deal_problems = self._deal_problems()
            total += len(deal_problems)
            problems += deal_problems
        raise_problems(problems, total, source)

    def _deal_problems(self) -> list[Problem]:
        source = self._events.source
        rows = self._run(f"""
            WITH involved AS (
                SELECT rn, id, partner_id, d, kind, ref FROM {self._typed(rows=True)}
                WHERE kind IN ($closed, $reversed)),
            deals AS (
                SELECT id, partner_id, d, rn,
                       row_number() OVER (PARTITION BY id ORDER BY rn) AS k
                FROM involved WHERE kind = $closed),
            revs AS (
                SELECT ref, partner_id, d, rn,
                       row_number() OVER (PARTITION BY ref ORDER BY rn) AS k
                FROM involved WHERE kind = $reversed)
            SELECT 'duplicate', later.rn, later.id, NULL, NULL, NULL, NULL, first.rn, NULL
            FROM deals later JOIN deals first ON first.id = later.id AND first.k = 1
            WHERE later.k > 1
            UNION ALL
            SELECT 'reversal', r.rn, r.ref, r.partner_id, r.d, f.partner_id, f.d, f.rn,
                   CASE WHEN r.k > 1 THEN r1.rn END
            FROM revs r LEFT JOIN deals f ON f.id = r.ref AND f.k = 1
                        LEFT JOIN revs r1 ON r1.ref = r.ref AND r1.k = 1""")
        problems: list[Problem] = []
        for kind, row, ref, partner, on, owner, closed_on, deal_row, first_reversal in rows:
            if kind == "duplicate":
                problems.append(duplicate_deal_problem(source, row, ref, deal_row))
                continue
            if owner is None:
                problems.append(unknown_deal_problem(source, row, ref))
                continue
            if owner != partner:
                problems.append(foreign_deal_problem(source, row, ref, owner))
            if on < closed_on:
                problems.append(early_reversal_problem(source, row, on, ref, closed_on,
                                                       deal_row))
            if first_reversal is not None:
                problems.append(repeated_reversal_problem(source, row, ref, first_reversal))
        return problems

    # --- what the lock and the simulation need -------------------------------------------

    def reversals(self) -> list[Reversal]:
        return [Reversal(*row) for row in self._run(
            "SELECT deal_id, partner_id, closed_on, reversed_on FROM reversals ORDER BY deal_id")]

    def date_span(self) -> tuple[date, date] | None:
        ((first, last),) = self._run(f"SELECT min(d), max(d) FROM {self._typed()}")
        return None if first is None else (first, last)

    def digest(self, through: date) -> str:
        """A fingerprint of every event dated up to ``through``, independent of row order."""
        ((value,),) = self._run(f"""
            SELECT md5(coalesce(string_agg(partner_id || ':' || h, chr(10)
                                           ORDER BY partner_id), ''))
            FROM (SELECT partner_id, md5(string_agg(line, chr(10) ORDER BY line)) AS h
                  FROM (SELECT partner_id, concat_ws('|', id, partner_id, strftime(d, '%Y-%m-%d'),
                               kind, CASE WHEN kind = $closed THEN CAST(amount AS VARCHAR)
                                          ELSE '' END, coalesce(ref, '')) AS line
                        FROM {self._typed()} WHERE d <= $through)
                  GROUP BY partner_id)""", {"through": through})
        return str(value)

    # --- evaluation ----------------------------------------------------------------------

    def evaluate(self, program: Program,
                 late_reversals: Collection[str] = frozenset()) -> ProgramResult:
        """The program over the loaded events; ``late_reversals`` as in the reference."""
        sql, params = program_query(program, self._typed())
        params["late"] = sorted(late_reversals)
        rows = self._run(sql, params)
        kinds = program.tracked_kinds
        rules = program.rules
        payouts = []
        for row in rows:
            payouts.append(_payout(program, rules, kinds, row, self._names[row[0]]))
        return build_result(program, payouts)


def _payout(program: Program, rules: Sequence[Rule], kinds: Sequence[str], row: tuple[Any, ...],
            name: str) -> PartnerPayout:
    """One partner's payout from its row of the program query (built for 10,000s of rows:
    lines are made directly, their figures and words derive from the metrics on demand)."""
    (partner_id, segment, p_deals, p_revenue, b_deals, b_revenue, clawed, clawed_revenue,
     positive, capped, program_total, scaled_cents, clawback) = row[:13]
    width = len(kinds)
    now, before = row[13:13 + width], row[13 + width:13 + 2 * width]
    metrics = PartnerMetrics(
        PeriodMetrics(p_deals, p_revenue, dict(zip(kinds, now, strict=True))),
        PeriodMetrics(b_deals, b_revenue, dict(zip(kinds, before, strict=True))),
        tuple(sorted(clawed)) if clawed else (), clawed_revenue)
    lines = [PayoutLine(rule.id, rule.type, amount, (), rule, metrics)
             for rule, amount in zip(rules, row[13 + 2 * width:], strict=True)
             if amount is not None]
    total = sum([line.amount for line in lines], ZERO)
    if capped != positive:
        assert program.caps.per_partner is not None
        lines.append(per_partner_cap_line(capped - positive, positive, program.caps.per_partner))
        total = capped
    if scaled_cents is not None:
        assert program.caps.per_program is not None
        scaled = Decimal(scaled_cents).scaleb(-2)
        if scaled != capped:
            lines.append(program_cap_line(scaled - capped, capped, program_total,
                                          program.caps.per_program))
            total = scaled
    if clawback is not None:
        rebates = [rule for rule in program.rules_for(segment)
                   if isinstance(rule, PerDealRebate)]
        lines.append(clawback_line(rebates, clawback, metrics))
        total += clawback
    return PartnerPayout(partner_id, name, segment, total, tuple(lines), metrics)
