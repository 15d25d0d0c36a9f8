"""Opening a workspace, and the use cases of the register: load the register file, balances and
the credits register (usage files and rolling imports back are in ``imports``)."""

from __future__ import annotations

import gc
import getpass
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from creditops.adapters.register_file import read_register_file
from creditops.adapters.storage.repository import (
    is_current,
    load_contracts,
    load_pools,
    load_usage,
    migrate,
    open_engine,
    read_settings,
    session_factory,
    unit_of_work,
    workspace_zone,
)
from creditops.adapters.storage.tables import (
    Base,
    ChangeRow,
    ContractRow,
    GrantRow,
    ImportRow,
    KindRow,
    MilestoneRow,
    PoolRow,
    SettingRow,
)
from creditops.adapters.usage_file import file_sha256
from creditops.config import load_settings
from creditops.core.balances import PoolBalance
from creditops.core.errors import InputError, Problem
from creditops.core.ledger import balance_at
from creditops.core.model import Contract, Pool, Usage, day_end
from creditops.core.register import Register, RegisterSettings, build_register
from creditops.services.errors import NotFoundError
from creditops.services.milestones import sync_milestones


@dataclass
class Workspace:
    url: str
    engine: Engine
    factory: sessionmaker[Session]

    def session(self) -> AbstractContextManager[Session]:
        """One transaction: committed at the end of the block, rolled back on error."""
        return unit_of_work(self.factory)

    def close(self) -> None:
        self.engine.dispose()


def current_actor() -> str:
    actor = os.environ.get("CREDITOPS_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def init_workspace(database_url: str | None = None) -> Workspace:
    """Creates the workspace (or brings its schema up to date); safe to run again."""
    url = load_settings(database_url).database_url
    engine = open_engine(url)
    migrate(engine)
    return Workspace(url, engine, session_factory(engine))


def open_workspace(database_url: str | None = None) -> Workspace:
    url = load_settings(database_url).database_url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            raise NotFoundError(
                f"no workspace at {path}; create one with `creditops init`"
            )
    engine = open_engine(url)
    if not is_current(engine):
        engine.dispose()
        raise NotFoundError(
            "the workspace is not initialised or its schema is out of date; run `creditops init`"
        )
    return Workspace(url, engine, session_factory(engine))


# -- time ------------------------------------------------------------------------------------

def resolve_as_of(text: str | None, zone: tzinfo, now: datetime | None = None) -> datetime:
    """``2026-06-30`` is the end of that day in the workspace time zone (that day's usage
    counts); an ISO datetime is that instant (without offset: workspace time); none is now."""
    if text is None:
        return (now or datetime.now(UTC)).astimezone(zone)
    text = text.strip()
    try:
        if len(text) == 10:
            return day_end(date.fromisoformat(text), zone)
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(Problem(
            f"{text!r} is not a date (YYYY-MM-DD) or an ISO 8601 datetime", column="--as-of"
        )) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=zone)
    return instant.astimezone(zone)


# -- history -----------------------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _columns(row: Base) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a.astimezone(UTC) == b.astimezone(UTC)
    return bool(a == b)


Change = Callable[[str, str, dict[str, Any] | None, dict[str, Any] | None], None]


def change_recorder(session: Session, record: ImportRow, actor: str, now: datetime) -> Change:
    """Records each change an import makes (entity, id, before and after) in the history, so
    that the import can be listed and rolled back."""

    def change(entity: str, entity_id: str, before: dict[str, Any] | None,
               after: dict[str, Any] | None) -> None:
        session.add(ChangeRow(at=now, actor=actor, import_id=record.id, entity=entity,
                              entity_id=entity_id, action="create" if before is None
                              else "update", before=before, after=after))

    return change


def _upsert(session: Session, model: type[Base], key: Any, values: dict[str, Any],
            change: Change, entity: str) -> str:
    row = session.get(model, key)
    if row is None:
        session.add(model(**values))
        change(entity, str(key), None, {k: _jsonable(v) for k, v in values.items()})
        return "created"
    before = _columns(row)
    differing = {k: v for k, v in values.items() if not _same(before.get(k), v)}
    if not differing:
        return "unchanged"
    for name, value in differing.items():
        setattr(row, name, value)
    change(entity, str(key), {k: _jsonable(before[k]) for k in differing},
           {k: _jsonable(v) for k, v in differing.items()})
    return "updated"


@dataclass(frozen=True)
class LoadSummary:
    import_id: int
    created: int
    updated: int
    unchanged: int


def load_register(workspace: Workspace, path: Path, *, actor: str | None = None,
                  now: datetime | None = None) -> LoadSummary:
    """Loads a register file; loading it again updates in place by id, and every change is
    kept (who, when, before, after) so that the load can be rolled back."""
    now = now or datetime.now(UTC)
    actor = actor or current_actor()
    with workspace.session() as session:
        known_kinds = set(session.scalars(select(KindRow.id)))
        data = read_register_file(path, known_kinds)
        record = ImportRow(kind="register", source=path.name, file_hash=file_sha256(path),
                           actor=actor, at=now)
        session.add(record)
        session.flush()
        outcomes: list[str] = []

        change = change_recorder(session, record, actor, now)
        for key, value in data.settings.items():
            outcomes.append(_upsert(session, SettingRow, key, {"key": key, "value": value},
                                    change, "setting"))
        for kind in data.kinds:
            outcomes.append(_upsert(session, KindRow, kind["id"], kind, change, "kind"))
        for contract in data.contracts:
            outcomes.append(_upsert(session, ContractRow, contract["id"], contract, change,
                                    "contract"))
        session.flush()
        for pool in data.pools:
            outcomes.append(_upsert(session, PoolRow, pool["id"], pool, change, "pool"))
        session.flush()
        for grant in data.grants:
            outcomes.append(_upsert(session, GrantRow, grant["id"], grant, change, "grant"))
        outcomes += sync_milestones(
            session, data.milestones, {pool["id"] for pool in data.pools},
            lambda row: _upsert(session, MilestoneRow, row["id"], row, change, "milestone"),
            import_id=record.id, actor=actor, now=now)
        record.rows_read = len(outcomes)
        record.rows_accepted = sum(1 for o in outcomes if o != "unchanged")
        record.rows_duplicate = outcomes.count("unchanged")
        return LoadSummary(record.id, outcomes.count("created"), outcomes.count("updated"),
                           outcomes.count("unchanged"))


# -- balances and the register ------------------------------------------------------------------

def register_settings(settings: dict[str, Any]) -> RegisterSettings:
    return RegisterSettings(
        risk_threshold=Decimal(str(settings["risk_threshold"])),
        window_days=int(settings["run_rate_window_days"]),
    )


@dataclass(frozen=True)
class WorkspaceFacts:
    """What a register-like computation needs, read in one transaction."""

    zone: tzinfo
    as_of: datetime
    document: dict[str, Any]  # the workspace's settings as stored (currency, alert rules, ...)
    settings: RegisterSettings
    pools: list[Pool]
    usage: dict[str, list[Usage]]
    contracts: dict[str, Contract]


def load_facts(session: Session, as_of_text: str | None = None, *, pool_id: str | None = None,
               now: datetime | None = None) -> WorkspaceFacts:
    """Pools (one, or all), their usage before the as-of instant, contracts and settings."""
    zone = workspace_zone(session)
    as_of = resolve_as_of(as_of_text, zone, now)
    pools = load_pools(session, [pool_id] if pool_id else None)
    if pool_id and not pools:
        raise NotFoundError(f"no pool {pool_id!r}")
    document = read_settings(session)
    return WorkspaceFacts(
        zone=zone, as_of=as_of, document=document, settings=register_settings(document),
        pools=pools, usage=load_usage(session, [p.id for p in pools] if pool_id else None,
                                      before=as_of),
        contracts=load_contracts(session),
    )


@contextmanager
def heap_frozen() -> Iterator[None]:
    """Keeps what is loaded so far out of the cyclic garbage collector while a replay runs:
    millions of usage records would otherwise be rescanned by every collection (a third of the
    register's time). Unfrozen afterwards, so a long-running process collects as usual."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def build_workspace_register(workspace: Workspace, as_of_text: str | None = None, *,
                             now: datetime | None = None) -> Register:
    with workspace.session() as session:
        facts = load_facts(session, as_of_text, now=now)
    with heap_frozen():
        return build_register(((pool, facts.usage.get(pool.id, [])) for pool in facts.pools),
                              facts.as_of, facts.settings, facts.contracts)


def pool_balance(workspace: Workspace, pool_id: str, as_of_text: str | None = None, *,
                 now: datetime | None = None) -> PoolBalance:
    with workspace.session() as session:
        zone = workspace_zone(session)
        as_of = resolve_as_of(as_of_text, zone, now)
        pools = load_pools(session, [pool_id])
        if not pools:
            known = ", ".join(session.scalars(select(PoolRow.id).order_by(PoolRow.id)))
            raise NotFoundError(f"no pool {pool_id!r} (pools: {known or 'none'})")
        usage = load_usage(session, [pool_id], before=as_of)
    return balance_at(pools[0], usage.get(pool_id, []), as_of)


def workspace_currency(workspace: Workspace) -> str:
    with workspace.session() as session:
        return str(read_settings(session)["currency"])


def iter_pool_ids(workspace: Workspace) -> Iterator[str]:
    with workspace.session() as session:
        yield from list(session.scalars(select(PoolRow.id).order_by(PoolRow.id)))
