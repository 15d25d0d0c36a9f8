"""A Typer app holding only this area's commands, so its tests do not depend on other areas."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from creditops.cli import renewal, trueup

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="session")
def cli() -> typer.Typer:
    app = typer.Typer()
    report = typer.Typer()
    app.add_typer(report, name="report")
    trueup.register(app, report)
    renewal.register(app, report)
    return app


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def examples() -> Path:
    return EXAMPLES
