"""The workspace schema (SQLAlchemy 2 typed mappings), identical on SQLite and PostgreSQL.

Quantities and money are exact: PostgreSQL ``NUMERIC`` (arbitrary precision), and on SQLite, which
has no exact decimal type, canonical decimal text. Instants are stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class ExactDecimal(TypeDecorator[Decimal]):
    """Decimal in, Decimal out, with no float on the way on either database."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"exact decimal expected, got {type(value).__name__}")
        if dialect.name == "sqlite":
            return format(value, "f")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("instants must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        instant: datetime = value
        if instant.tzinfo is None:
            return instant.replace(tzinfo=UTC)
        return instant.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class SettingRow(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class KindRow(Base):
    """A custom kind declared in the register file (the built-in kinds need no row)."""

    __tablename__ = "kinds"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str | None] = mapped_column(Text)


class ContractRow(Base):
    __tablename__ = "contracts"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    currency: Mapped[str | None] = mapped_column(String(3))
    net_annual_value: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PoolRow(Base):
    __tablename__ = "pools"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(64))
    unit_value: Mapped[Decimal] = mapped_column(ExactDecimal)
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"))
    owner: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str | None] = mapped_column(Text)
    conditions: Mapped[str | None] = mapped_column(Text)
    overage_policy: Mapped[str] = mapped_column(String(16), default="bill")
    overage_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    risk_threshold: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class GrantRow(Base):
    __tablename__ = "grants"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("pools.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    effective: Mapped[datetime] = mapped_column(UTCDateTime)
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime)
    priority: Mapped[int] = mapped_column(Integer, default=10)
    applies_to: Mapped[list[str] | None] = mapped_column(JSON)
    recurrence_every: Mapped[str | None] = mapped_column(String(16))
    recurrence_anchor: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rollover_fraction: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    rollover_max: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    rollover_expires: Mapped[datetime | None] = mapped_column(UTCDateTime)
    has_rollover: Mapped[bool] = mapped_column(default=False)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str | None] = mapped_column(Text)
    conditions: Mapped[str | None] = mapped_column(Text)


class ImportRow(Base):
    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(Text)
    file_hash: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="committed")
    rolled_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UsageRow(Base):
    __tablename__ = "usage"
    __table_args__ = (
        UniqueConstraint("pool_id", "identity", name="uq_usage_pool_identity"),
        Index("ix_usage_pool_at", "pool_id", "at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("pools.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    usage_type: Mapped[str | None] = mapped_column(String(128))
    identity: Mapped[str] = mapped_column(String(200))
    reverses: Mapped[str | None] = mapped_column(String(200))
    ref: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"), index=True)


class ChangeRow(Base):
    """The history of every change to the register: who, when, what, before and after."""

    __tablename__ = "changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# -- monitoring: utilisation plans, acceleration plans, alerts and their deliveries, outcomes --


class MilestoneRow(Base):
    """One milestone of a pool's utilisation plan: planned use of ``quantity`` units by ``day``."""

    __tablename__ = "plan_milestones"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("pools.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    description: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)
    project: Mapped[str | None] = mapped_column(Text)
    usage_type: Mapped[str | None] = mapped_column(String(128))
    origin: Mapped[str] = mapped_column(String(16), default="register")


class AccelerationPlanRow(Base):
    """An acceleration plan adopted for an at-risk grant, tracked week by week from ``started``."""

    __tablename__ = "acceleration_plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("pools.id"), index=True)
    grant_id: Mapped[str] = mapped_column(String(128), index=True)
    started: Mapped[datetime] = mapped_column(UTCDateTime)
    target: Mapped[datetime] = mapped_column(UTCDateTime)
    starting_remaining: Mapped[Decimal] = mapped_column(ExactDecimal)
    needed_rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    baseline_rate: Mapped[Decimal] = mapped_column(ExactDecimal)
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertRow(Base):
    """A rule that fired, once per (rule, subject, threshold, period): the dedupe key."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(400), unique=True)
    rule: Mapped[str] = mapped_column(String(32), index=True)
    pool_id: Mapped[str | None] = mapped_column(String(128), index=True)
    grant_id: Mapped[str | None] = mapped_column(String(128))
    contract_id: Mapped[str | None] = mapped_column(String(128))
    threshold: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="open")
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    state_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state_changed_by: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)


class AlertDeliveryRow(Base):
    """One recipient or chat target of an alert: pending until a message reaching it went out."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel", "target", name="uq_alert_delivery_target"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(320))
    label: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(8), default="to")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutcomeRow(Base):
    """A before/after metric tied to a pool, grant or milestone, and the value used for it."""

    __tablename__ = "outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pool_id: Mapped[str | None] = mapped_column(ForeignKey("pools.id"), index=True)
    grant_id: Mapped[str | None] = mapped_column(String(128))
    milestone_id: Mapped[str | None] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    after: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    before_day: Mapped[date | None] = mapped_column(Date)
    after_day: Mapped[date | None] = mapped_column(Date)
    value_used: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- consumption: rate-card files, raw-event id manifests, Digital Wallet rows waiting for a
# mapping, Salesforce entitlements and sync watermarks --


class RateCardFileRow(Base):
    """A workspace's own rate card, or an overrides file, as loaded (its text is kept)."""

    __tablename__ = "rate_card_files"
    __table_args__ = (UniqueConstraint("kind", "name", name="uq_rate_card_files_kind_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    file_hash: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EventManifestRow(Base):
    """The ids of the raw events one import counted (a Parquet file, in parts), so that a later
    import skips them."""

    __tablename__ = "event_manifests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"), index=True)
    part: Mapped[int] = mapped_column(Integer)
    id_count: Mapped[int] = mapped_column(Integer)
    ids: Mapped[bytes] = mapped_column(LargeBinary)


class WalletPendingRow(Base):
    """A Digital Wallet usage row no pool's `match:` list claims yet, kept until one does."""

    __tablename__ = "wallet_pending"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)
    card: Mapped[str] = mapped_column(String(128), index=True)
    usage_type: Mapped[str | None] = mapped_column(String(128))
    org: Mapped[str | None] = mapped_column(String(32))
    env: Mapped[str | None] = mapped_column(String(16))
    units_consumed: Mapped[Decimal] = mapped_column(ExactDecimal)
    origin: Mapped[str] = mapped_column(Text)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"), index=True)


class SalesforceEntitlementRow(Base):
    """A `TenantUsageEntitlement` record of the org, as last synced."""

    __tablename__ = "salesforce_entitlements"
    id: Mapped[str] = mapped_column(String(18), primary_key=True)
    master_label: Mapped[str | None] = mapped_column(Text)
    setting: Mapped[str | None] = mapped_column(Text)
    resource_group_key: Mapped[str | None] = mapped_column(Text)
    frequency: Mapped[str | None] = mapped_column(String(16))
    amount_used: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    current_amount_allowed: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    usage_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"), index=True)


class SyncStateRow(Base):
    """How far a sync has read (a watermark per source), so the next one fetches only what is
    new."""

    __tablename__ = "sync_state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
