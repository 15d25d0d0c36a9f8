"""The register file (YAML): contracts, pools, grants and custom kinds, validated strictly.

A date means a whole day in the workspace time zone: ``effective`` from the start of that day,
``expires`` through the end of that day (the grant ends at the start of the next), ``voided_at``
from the start of that day. An ISO datetime is an instant (without an offset: workspace time).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from creditops.adapters.monitoring_file import AlertsSpec, MilestoneSpec, add_monitoring
from creditops.adapters.yamlio import YamlDocument, load_yaml
from creditops.core.errors import InputError, Problem
from creditops.core.model import KINDS, Duration, Grant, Recurrence, Rollover, day_end, day_start
from creditops.core.wallet_mapping import make_match, overlapping

DateOrInstant = date | datetime


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecurrenceSpec(_Strict):
    every: str
    anchor: DateOrInstant | None = None

    @field_validator("every")
    @classmethod
    def _period(cls, value: str) -> str:
        Duration.parse(value)
        return value.upper()


class RolloverSpec(_Strict):
    fraction: Decimal | None = Field(default=None, ge=0, le=1)
    max: Decimal | None = Field(default=None, ge=0)
    expires: DateOrInstant | None = None


class GrantSpec(_Strict):
    id: str = Field(min_length=1)
    quantity: Decimal = Field(ge=0)
    effective: DateOrInstant
    expires: DateOrInstant | None = None
    priority: int = 10
    applies_to: list[str] | None = Field(default=None, min_length=1)
    recurrence: RecurrenceSpec | None = None
    rollover: RolloverSpec | None = None
    voided_at: DateOrInstant | None = None
    owner: str | None = None
    purpose: str | None = None
    conditions: str | None = None


class MatchSpec(_Strict):
    """Which Digital Wallet rows belong to the pool."""

    card: str
    usage_types: list[str] | None = None
    org: str | None = None
    env: Literal["production", "sandbox"] | None = None


class PoolSpec(_Strict):
    id: str = Field(min_length=1)
    kind: str
    name: str | None = None
    unit: str
    unit_value: Decimal = Field(ge=0)
    contract: str | None = None
    owner: str | None = None
    purpose: str | None = None
    conditions: str | None = None
    overage_policy: Literal["bill", "carry"] = "bill"
    overage_rate: Decimal | None = Field(default=None, ge=0)
    risk_threshold: Decimal | None = Field(default=None, ge=0, le=1)
    grants: list[GrantSpec] = []
    match: list[MatchSpec] = []
    notify: list[str] = []
    attributes: dict[str, str] = {}
    plan: list[MilestoneSpec] = Field(default=[], exclude=True)
    alerts: AlertsSpec | None = Field(default=None, exclude=True)


class ContractSpec(_Strict):
    id: str = Field(min_length=1)
    name: str
    start: date
    end: date
    currency: str | None = None
    net_annual_value: Decimal | None = Field(default=None, ge=0)
    # Renewal economics of the contract: a true-up scenario file and the clause text, as paths
    # relative to the register file.
    trueup_scenario: str | None = None
    clause_text: str | None = None


class KindSpec(_Strict):
    id: str = Field(min_length=1)
    description: str | None = None


class OwnerSpec(_Strict):
    name: str
    email: str | None = None
    role: str | None = None


class RegisterFile(_Strict):
    currency: str = "USD"
    timezone: str = "UTC"
    risk_threshold: Decimal | None = Field(default=None, ge=0, le=1)
    run_rate_window_days: int | None = Field(default=None, gt=0)
    administrator: str | None = None
    notify: list[str] = []
    kinds: list[KindSpec | str] = []
    owners: list[OwnerSpec] = []
    contracts: list[ContractSpec] = []
    pools: list[PoolSpec] = []
    alerts: AlertsSpec | None = Field(default=None, exclude=True)


@dataclass
class RegisterData:
    """The file's content as column values per table, ready to upsert."""

    settings: dict[str, Any]
    kinds: list[dict[str, Any]] = field(default_factory=list)
    contracts: list[dict[str, Any]] = field(default_factory=list)
    pools: list[dict[str, Any]] = field(default_factory=list)
    grants: list[dict[str, Any]] = field(default_factory=list)
    milestones: list[dict[str, Any]] = field(default_factory=list)


def _instant(value: DateOrInstant | None, zone: tzinfo, *, end_of_day: bool = False
             ) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    return day_end(value, zone) if end_of_day else day_start(value, zone)


def read_register_file(path: Path | str, known_kinds: set[str] | None = None) -> RegisterData:
    """Parses and checks a register file; every problem found is reported at once."""
    document = load_yaml(path)
    spec: RegisterFile = document.validate(RegisterFile)
    data = _translate(document, spec, known_kinds or set())
    add_monitoring(document, spec, data)
    return data


def _duplicates(document: YamlDocument, what: str, ids: list[tuple[tuple[Any, ...], str]]
                ) -> list[Problem]:
    counts = Counter(identifier for _, identifier in ids)
    return [
        document.problem(path, f"duplicate {what} id {identifier!r}")
        for path, identifier in ids
        if counts[identifier] > 1
    ]


def _translate(document: YamlDocument, spec: RegisterFile, known_kinds: set[str]
               ) -> RegisterData:
    problems: list[Problem] = []
    try:
        zone: tzinfo = ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(document.problem(
            ("timezone",), f"unknown time zone {spec.timezone!r} (e.g. UTC, Europe/Paris)"
        )) from None
    settings: dict[str, Any] = {"currency": spec.currency, "timezone": spec.timezone}
    if spec.risk_threshold is not None:
        settings["risk_threshold"] = format(spec.risk_threshold, "f")
    if spec.run_rate_window_days is not None:
        settings["run_rate_window_days"] = spec.run_rate_window_days
    if spec.administrator is not None:
        settings["administrator"] = spec.administrator
    if spec.notify:
        settings["notify"] = spec.notify
    if spec.owners:
        settings["owners"] = [owner.model_dump(exclude_none=True) for owner in spec.owners]
    data = RegisterData(settings=settings)

    kinds = [KindSpec(id=k) if isinstance(k, str) else k for k in spec.kinds]
    data.kinds = [k.model_dump() for k in kinds]
    declared = set(KINDS) | known_kinds | {k.id for k in kinds}
    problems += _duplicates(document, "kind", [(("kinds", i), k.id) for i, k in enumerate(kinds)])
    problems += _duplicates(
        document, "contract", [(("contracts", i, "id"), c.id) for i, c in enumerate(spec.contracts)]
    )
    problems += _duplicates(
        document, "pool", [(("pools", i, "id"), p.id) for i, p in enumerate(spec.pools)]
    )
    problems += _duplicates(document, "grant", [
        (("pools", i, "grants", j, "id"), g.id)
        for i, p in enumerate(spec.pools) for j, g in enumerate(p.grants)
    ])
    contract_ids = {c.id for c in spec.contracts}
    for i, contract in enumerate(spec.contracts):
        if contract.end < contract.start:
            problems.append(document.problem(("contracts", i, "end"),
                                             "the contract ends before it starts"))
        columns = contract.model_dump(exclude={"trueup_scenario", "clause_text"})
        base = Path(document.source).parent
        columns["attributes"] = {
            key: str(base / value)
            for key, value in (("trueup_scenario", contract.trueup_scenario),
                               ("clause_text", contract.clause_text)) if value
        }
        data.contracts.append(columns)

    for i, pool in enumerate(spec.pools):
        if pool.kind not in declared:
            problems.append(document.problem(
                ("pools", i, "kind"),
                f"unknown kind {pool.kind!r}; expected one of {', '.join(KINDS)}, "
                "or declare a custom kind under `kinds:`",
            ))
        if pool.contract is not None and pool.contract not in contract_ids:
            problems.append(document.problem(
                ("pools", i, "contract"), f"unknown contract {pool.contract!r}"
            ))
        columns = pool.model_dump(exclude={"grants", "match", "notify", "attributes", "contract"})
        columns["contract_id"] = pool.contract
        columns["attributes"] = dict(pool.attributes)
        if pool.match:
            columns["attributes"]["match"] = [m.model_dump(exclude_none=True) for m in pool.match]
        if pool.notify:
            columns["attributes"]["notify"] = list(pool.notify)
        data.pools.append(columns)
        for j, grant in enumerate(pool.grants):
            row, grant_problems = _grant_columns(grant, pool.id, zone)
            problems += [document.problem(("pools", i, "grants", j), p) for p in grant_problems]
            data.grants.append(row)
    problems += _overlapping_matches(document, spec)
    if problems:
        raise InputError(problems)
    return data


def _overlapping_matches(document: YamlDocument, spec: RegisterFile) -> list[Problem]:
    """Two pools whose `match:` entries could claim the same Digital Wallet row."""
    entries = [make_match(pool.id, m.card, m.usage_types, m.org, m.env, j)
               for pool in spec.pools for j, m in enumerate(pool.match)]
    index = {pool.id: i for i, pool in enumerate(spec.pools)}
    return [document.problem(
        ("pools", index[b.pool], "match", b.position),
        f"pools {a.pool!r} and {b.pool!r} both match Digital Wallet card {b.card!r}; make the "
        "entries exclusive with usage_types, org or env") for a, b in overlapping(entries)]


def _grant_columns(grant: GrantSpec, pool_id: str, zone: tzinfo) -> tuple[dict[str, Any],
                                                                          list[str]]:
    effective = _instant(grant.effective, zone)
    assert effective is not None
    expires = _instant(grant.expires, zone, end_of_day=True)
    rollover = grant.rollover
    row: dict[str, Any] = {
        "id": grant.id,
        "pool_id": pool_id,
        "quantity": grant.quantity,
        "effective": effective,
        "expires": expires,
        "priority": grant.priority,
        "applies_to": grant.applies_to,
        "recurrence_every": grant.recurrence.every if grant.recurrence else None,
        "recurrence_anchor": _instant(grant.recurrence.anchor, zone)
        if grant.recurrence else None,
        "has_rollover": rollover is not None,
        "rollover_fraction": rollover.fraction if rollover else None,
        "rollover_max": rollover.max if rollover else None,
        "rollover_expires": _instant(rollover.expires, zone, end_of_day=True)
        if rollover else None,
        "voided_at": _instant(grant.voided_at, zone),
        "owner": grant.owner,
        "purpose": grant.purpose,
        "conditions": grant.conditions,
    }
    core_grant = Grant(
        id=grant.id,
        quantity=grant.quantity,
        effective=effective,
        expires=expires,
        recurrence=Recurrence(Duration.parse(grant.recurrence.every),
                              row["recurrence_anchor"] or effective)
        if grant.recurrence else None,
        rollover=Rollover(
            fraction=rollover.fraction if rollover.fraction is not None else Decimal(1),
            max=rollover.max,
            expires=row["rollover_expires"],
        ) if rollover else None,
    )
    reasons = [problem.split(": ", 1)[1] for problem in core_grant.problems()]
    return row, reasons
