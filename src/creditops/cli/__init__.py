"""The `creditops` command line: thin commands over the services, tables for people,
`--json`/`--csv` for machines.

Exit codes: 0 success, 1 unexpected failure, 2 bad input or usage (the message names the file,
row, column or key), 3 something named does not exist (unknown pool, grant, import id).
"""

from __future__ import annotations

import sys

import typer

from creditops.cli import (
    consumption,
    governance,
    ledger,
    monitoring,
    partners,
    renewal,
    success,
    trueup,
)
from creditops.cli.output import err_console
from creditops.core.errors import InputError
from creditops.services.errors import NotFoundError

app = typer.Typer(
    name="creditops",
    help="Get the full value of Salesforce credits, incentives, success plans and clauses.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
report_app = typer.Typer(help="Reports: governance review, renewal brief.", no_args_is_help=True)
app.add_typer(report_app, name="report")

for module in (ledger, consumption, monitoring, governance, trueup, renewal, success, partners):
    module.register(app, report_app)


def main() -> None:
    try:
        app()
    except InputError as error:
        for problem in error.problems:
            err_console.print(f"[red]error:[/red] {problem}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except NotFoundError as error:
        err_console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        sys.exit(3)
