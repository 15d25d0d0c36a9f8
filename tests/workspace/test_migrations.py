"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from creditops.adapters.storage.repository import is_current, migrate, open_engine
from creditops.adapters.storage.tables import Base


def test_migrations_match_the_models_and_can_run_twice(database_url: str) -> None:
    engine = open_engine(database_url)
    assert not is_current(engine)
    migrate(engine)
    migrate(engine)
    assert is_current(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []
