"""Shared fixtures: a fresh workspace per test on SQLite and on the real PostgreSQL server that
`make test` starts (its URL in $CREDITOPS_TEST_POSTGRES_URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
POSTGRES_URL = os.environ.get("CREDITOPS_TEST_POSTGRES_URL")


def _postgres_database() -> Iterator[str]:
    if not POSTGRES_URL:
        if os.environ.get("CREDITOPS_REQUIRE_POSTGRES"):
            pytest.fail("CREDITOPS_TEST_POSTGRES_URL is not set but PostgreSQL is required")
        pytest.skip("PostgreSQL not started: run the suite with `make test`")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, _ = POSTGRES_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty workspace database: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'workspace.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'workspace.db'}"
