"""Opening a workspace, migrating it, and translating rows to and from the domain model."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session, configure_mappers, sessionmaker

from creditops.adapters.storage.tables import (
    Base,
    ContractRow,
    GrantRow,
    PoolRow,
    SettingRow,
    UsageRow,
)
from creditops.core.model import (
    Contract,
    Duration,
    Grant,
    OveragePolicy,
    Pool,
    Recurrence,
    Rollover,
    Usage,
    day_end,
    day_start,
)

MIGRATIONS = Path(__file__).with_name("migrations")


class WorkspaceError(RuntimeError):
    """The workspace cannot be opened or is not initialised."""


def open_engine(url: str) -> Engine:
    """An engine for the workspace URL. SQLite runs in WAL mode with foreign keys enforced."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine) -> None:
    """Brings the schema to the newest migrations (creates it on an empty database). Areas of
    the product may add their tables on branches of their own; every head is applied."""
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def is_current(engine: Engine) -> bool:
    heads = set(ScriptDirectory.from_config(_alembic_config()).get_heads())
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads()) == heads


def insert_rows(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
    """Inserts many new rows of a model's table (all with the same keys) in one driver call.
    Each value goes through its column's type as with any insert, a column at a time, an instant
    repeated down a column (a day) converted once; the ORM's per-row bookkeeping, which costs
    more than the database's own work for tens of thousands of rows, is skipped."""
    if not rows:
        return
    table = Base.metadata.tables[model.__tablename__]
    connection = session.connection()
    dialect = connection.dialect
    keys = list(rows[0])
    compiled = table.insert().compile(dialect=dialect, column_keys=keys)
    order = list(compiled.positiontup or []) if compiled.positional else keys
    processors = [table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
                  for key in order]
    columns: list[list[Any]] = []
    for key, process in zip(order, processors, strict=True):
        values = [row[key] for row in rows]
        if process is not None:
            if isinstance(next((v for v in values if v is not None), None), datetime):
                converted = {v: process(v) for v in set(values) if v is not None}
                values = [None if v is None else converted[v] for v in values]
            else:
                values = [None if v is None else process(v) for v in values]
        columns.append(values)
    parameters: list[Any] = (list(zip(*columns, strict=True)) if compiled.positional else
                             [dict(zip(order, values, strict=True))
                              for values in zip(*columns, strict=True)])
    connection.exec_driver_sql(compiled.string, parameters)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # The ORM prepares its mappings once per process (about a tenth of a second): when the
    # workspace opens, rather than inside whatever the first query is part of.
    configure_mappers()
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any error."""
    with factory() as session, session.begin():
        yield session


# -- settings ----------------------------------------------------------------------------------

DEFAULT_SETTINGS: dict[str, Any] = {
    "currency": "USD",
    "timezone": "UTC",
    "risk_threshold": "0.20",
    "run_rate_window_days": 90,
}


def read_settings(session: Session) -> dict[str, Any]:
    settings = dict(DEFAULT_SETTINGS)
    for row in session.scalars(select(SettingRow)):
        settings[row.key] = row.value
    return settings


def write_setting(session: Session, key: str, value: Any) -> None:
    row = session.get(SettingRow, key)
    if row is None:
        session.add(SettingRow(key=key, value=value))
    else:
        row.value = value


def workspace_zone(session: Session) -> tzinfo:
    return ZoneInfo(read_settings(session)["timezone"])


# -- rows to domain ----------------------------------------------------------------------------

def _local(instant: datetime | None, zone: tzinfo) -> datetime | None:
    # Recurrences and day counting are wall-clock arithmetic, so instants enter the core in the
    # workspace time zone.
    return instant.astimezone(zone) if instant is not None else None


def grant_from_row(row: GrantRow, zone: tzinfo) -> Grant:
    recurrence = None
    if row.recurrence_every:
        anchor = _local(row.recurrence_anchor or row.effective, zone)
        assert anchor is not None
        recurrence = Recurrence(Duration.parse(row.recurrence_every), anchor)
    rollover = None
    if row.has_rollover:
        rollover = Rollover(
            fraction=row.rollover_fraction if row.rollover_fraction is not None else Decimal(1),
            max=row.rollover_max,
            expires=_local(row.rollover_expires, zone),
        )
    effective = _local(row.effective, zone)
    assert effective is not None
    return Grant(
        id=row.id,
        quantity=row.quantity,
        effective=effective,
        expires=_local(row.expires, zone),
        priority=row.priority,
        applies_to=frozenset(row.applies_to) if row.applies_to is not None else None,
        recurrence=recurrence,
        rollover=rollover,
        voided_at=_local(row.voided_at, zone),
        owner=row.owner,
        purpose=row.purpose,
        conditions=row.conditions,
    )


def pool_from_row(row: PoolRow, grants: Iterable[Grant]) -> Pool:
    return Pool(
        id=row.id,
        kind=row.kind,
        unit=row.unit,
        unit_value=row.unit_value,
        grants=tuple(grants),
        name=row.name,
        overage_policy=OveragePolicy(row.overage_policy),
        overage_rate=row.overage_rate,
        risk_threshold=row.risk_threshold,
        contract=row.contract_id,
        owner=row.owner,
        purpose=row.purpose,
        conditions=row.conditions,
        attributes={k: str(v) for k, v in (row.attributes or {}).items()},
    )


def contract_from_row(row: ContractRow, zone: tzinfo) -> Contract:
    return Contract(
        id=row.id,
        name=row.name,
        start=day_start(row.start, zone),
        end=day_end(row.end, zone),
        currency=row.currency or "USD",
        net_annual_value=row.net_annual_value,
    )


def load_pools(session: Session, pool_ids: Iterable[str] | None = None) -> list[Pool]:
    zone = workspace_zone(session)
    query = select(PoolRow).order_by(PoolRow.id)
    grant_query = select(GrantRow).order_by(GrantRow.id)
    if pool_ids is not None:
        wanted = list(pool_ids)
        query = query.where(PoolRow.id.in_(wanted))
        grant_query = grant_query.where(GrantRow.pool_id.in_(wanted))
    grants: dict[str, list[Grant]] = defaultdict(list)
    for grant_row in session.scalars(grant_query):
        grants[grant_row.pool_id].append(grant_from_row(grant_row, zone))
    return [pool_from_row(row, grants[row.id]) for row in session.scalars(query)]


def load_contracts(session: Session) -> dict[str, Contract]:
    zone = workspace_zone(session)
    return {row.id: contract_from_row(row, zone) for row in session.scalars(select(ContractRow))}


def load_usage(session: Session, pool_ids: Iterable[str] | None = None,
               before: datetime | None = None) -> dict[str, list[Usage]]:
    """Usage per pool, as the core's records (instants in the workspace time zone)."""
    zone = workspace_zone(session)
    columns = (UsageRow.pool_id, UsageRow.identity, UsageRow.at, UsageRow.quantity,
               UsageRow.usage_type, UsageRow.reverses)
    query = select(*columns)
    if pool_ids is not None:
        query = query.where(UsageRow.pool_id.in_(list(pool_ids)))
    if before is not None:
        query = query.where(UsageRow.at < before.astimezone(UTC))
    usages: dict[str, list[Usage]] = defaultdict(list)
    for pool_id, identity, at, quantity, usage_type, reverses in session.execute(query):
        usages[pool_id].append(Usage(identity, at.astimezone(zone), quantity, usage_type, reverses))
    return usages
