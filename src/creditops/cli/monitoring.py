"""Commands of this area: none yet."""

import typer


def register(app: typer.Typer, report: typer.Typer) -> None:
    """Adds this module's commands to the main app and the `report` group."""
