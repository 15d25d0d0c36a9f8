"""Workspace, register file, usage imports, balances and the credits register."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from creditops.cli.output import LazyModule, console, print_csv, print_json
from creditops.core.balances import PoolBalance
from creditops.core.register import PoolRegister, Register, RegisterRow

if TYPE_CHECKING:
    import creditops.services.imports as imports
    import creditops.services.workspace as ws
    from creditops.services.imports import ImportSummary
else:
    # Imported on use: the database and file-format stack is not needed for `--help`.
    imports = LazyModule("creditops.services.imports")
    ws = LazyModule("creditops.services.workspace")

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Workspace database URL (default: $CREDITOPS_DATABASE_URL, "
                 "else sqlite:///creditops.db)."),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="A date (the end of that day, workspace time zone) or an ISO "
                 "datetime; default now."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")]

import_app = typer.Typer(help="Import consumption data.", no_args_is_help=True)
imports_app = typer.Typer(help="List and roll back imports.", no_args_is_help=True)

STATUS_STYLE = {
    "overage": "bold red", "at_risk": "bold yellow", "on_track": "green",
    "exhausted": "dim", "expired": "dim", "voided": "dim", "empty": "dim",
}


def register(app: typer.Typer, report: typer.Typer) -> None:
    app.command("init")(init)
    app.command("load")(load)
    app.add_typer(import_app, name="import")
    app.add_typer(imports_app, name="imports")
    app.command("register")(show_register)
    app.command("balance")(balance)
    import_app.command("usage")(import_usage)
    imports_app.command("list")(list_imports)
    imports_app.command("rollback")(rollback)


def init(db: DbOption = None) -> None:
    """Create a workspace (or bring its schema up to date)."""
    workspace = ws.init_workspace(db)
    console.print(f"workspace ready: {workspace.url}", highlight=False)
    workspace.close()


def load(file: Annotated[Path, typer.Argument(help="Register file (YAML).")],
         db: DbOption = None) -> None:
    """Load contracts, pools and grants; loading again updates in place by id."""
    workspace = ws.open_workspace(db)
    summary = ws.load_register(workspace, file)
    console.print(
        f"loaded {file.name} (import {summary.import_id}): {summary.created} created, "
        f"{summary.updated} updated, {summary.unchanged} unchanged", highlight=False)
    workspace.close()


def import_usage(
    file: Annotated[Path, typer.Argument(help="Usage file: CSV or XLSX.")],
    quarantine: Annotated[Path | None, typer.Option(
        "--quarantine", help="Import the good rows; write the bad ones here with reasons.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Import usage (columns date or at, pool, quantity; optional usage_type, ref, source,
    note). Idempotent and all-or-nothing."""
    workspace = ws.open_workspace(db)
    summary = run_with_progress(
        file, lambda progress: imports.import_usage(workspace, file, quarantine=quarantine,
                                                    on_progress=progress))
    print_import_summary(summary)
    workspace.close()


def run_with_progress(file: Path, work: Any) -> Any:
    """Runs ``work(on_progress)`` with a progress bar over the file's bytes when it is large."""
    size = file.stat().st_size if file.exists() else 0
    if size < 5_000_000 or not console.is_terminal:
        return work(None)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as progress:
        task = progress.add_task(f"reading {file.name}", total=size)
        return work(lambda done: progress.update(task, completed=done))


def print_import_summary(summary: ImportSummary) -> None:
    console.print(
        f"import {summary.import_id}: {summary.rows_read} rows read, {summary.accepted} "
        f"imported, {summary.duplicate} already present, {summary.rejected} rejected",
        highlight=False)
    if summary.quarantine is not None:
        console.print(f"bad rows written to {summary.quarantine}", highlight=False)


def list_imports(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Every import: who, when, file hash, rows read/accepted/rejected/duplicate."""
    workspace = ws.open_workspace(db)
    records = imports.list_imports(workspace)
    workspace.close()
    fields = ("id", "kind", "source", "at", "actor", "rows_read", "rows_accepted",
              "rows_rejected", "rows_duplicate", "status", "file_hash")
    if as_json:
        print_json([{name: getattr(r, name) for name in fields} for r in records])
        return
    table = Table(title="Imports", header_style="bold")
    for name in fields[:-1]:
        table.add_column(name.replace("rows_", ""), justify="right" if "rows" in name else "left")
    for r in records:
        table.add_row(str(r.id), r.kind, r.source, r.at.strftime("%Y-%m-%d %H:%M"), r.actor,
                      str(r.rows_read), str(r.rows_accepted), str(r.rows_rejected),
                      str(r.rows_duplicate), r.status)
    console.print(table)


def rollback(import_id: Annotated[int, typer.Argument(help="The import's id.")],
             db: DbOption = None) -> None:
    """Undo an import: its usage rows are removed, or its register changes reverted."""
    workspace = ws.open_workspace(db)
    record = imports.rollback_import(workspace, import_id)
    workspace.close()
    console.print(f"import {record.id} ({record.kind}, {record.source}) rolled back",
                  highlight=False)


# -- register and balance ------------------------------------------------------------------------

REGISTER_COLUMNS = ("contracted", "consumed", "remaining", "expires", "run_rate",
                    "projected_unconsumed", "projected_unconsumed_pct",
                    "projected_unconsumed_value", "status", "owner")


def _row_json(row: RegisterRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in REGISTER_COLUMNS} | {
        "lapsed": row.lapsed, "voided": row.voided, "purpose": row.purpose,
        "conditions": row.conditions,
    }


def register_json(register: Register, extra: dict[str, dict[str, Any]] | None = None
                  ) -> dict[str, Any]:
    """The register as JSON; ``extra`` adds fields per pool id (plan coverage, front-loading)
    after the baseline columns."""
    return {
        "as_of": register.as_of,
        "pools": [
            {"pool": entry.pool.id, "kind": entry.pool.kind, "unit": entry.pool.unit}
            | _row_json(entry.row)
            | {"overage": entry.overage, "overage_value": entry.overage_value}
            | (extra or {}).get(entry.pool.id, {})
            | {"grants": [{"grant": g.id} | _row_json(g) for g in entry.grants]}
            for entry in register.pools
        ],
    }


def last_day(expires: datetime | None) -> str:
    """An exclusive expiry instant shown as the last day it can be used."""
    if expires is None:
        return "—"
    return (expires - timedelta(microseconds=1)).date().isoformat()


def _pct(value: Any) -> str:
    return f"{value * 100:.1f}%"


def _qty(value: Any) -> str:
    return f"{value:,f}".rstrip("0").rstrip(".") if "." in f"{value:f}" else f"{value:,}"


def register_table(register: Register, currency: str) -> Table:
    table = Table(title=f"Credits register as of {register.as_of.isoformat()}",
                  header_style="bold", show_lines=False)
    for name, justify in (("pool / grant", "left"), ("kind", "left"), ("contracted", "right"),
                          ("consumed", "right"), ("remaining", "right"),
                          ("last day", "left"), ("run rate/day", "right"),
                          ("proj. unconsumed", "right"), ("%", "right"),
                          (f"value {currency}", "right"), ("status", "left"),
                          ("owner", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for entry in register.pools:
        _add_rows(table, entry)
    return table


def _add_rows(table: Table, entry: PoolRegister) -> None:
    def cells(row: RegisterRow, label: str, kind: str, unit: str) -> list[str]:
        style = STATUS_STYLE.get(row.status, "")
        return [label, kind, f"{_qty(row.contracted)} {unit}", _qty(row.consumed),
                _qty(row.remaining), last_day(row.expires), _qty(row.run_rate),
                _qty(row.projected_unconsumed), _pct(row.projected_unconsumed_pct),
                f"{row.projected_unconsumed_value:,.2f}", f"[{style}]{row.status}[/]",
                (row.owner or "").split("<")[0].strip()]

    pool = entry.pool
    table.add_row(*cells(entry.row, f"[bold]{pool.id}[/]", pool.kind, pool.unit),
                  end_section=not entry.grants)
    for position, grant in enumerate(entry.grants):
        table.add_row(*cells(grant, f"  {grant.id}", "", ""),
                      end_section=position == len(entry.grants) - 1)


def show_register(
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV, one line per pool and grant.")]
    = False,
    db: DbOption = None,
) -> None:
    """The credits register: per pool and grant, contracted, consumed, remaining, expiry,
    run-rate, projected unconsumed at expiry and status."""
    workspace = ws.open_workspace(db)
    result = ws.build_workspace_register(workspace, as_of)
    currency = ws.workspace_currency(workspace)
    from creditops.services.plans import register_plan_fields

    plan_fields = register_plan_fields(workspace, result)
    workspace.close()
    if as_json:
        print_json(register_json(result, plan_fields))
    elif as_csv:
        header = ["pool", "grant", "kind", "unit", *REGISTER_COLUMNS]
        rows = []
        for entry in result.pools:
            for row, grant in [(entry.row, ""), *((g, g.id) for g in entry.grants)]:
                rows.append([entry.pool.id, grant, entry.pool.kind, entry.pool.unit,
                             *(getattr(row, name) for name in REGISTER_COLUMNS)])
        print_csv(header, rows)
    else:
        console.print(register_table(result, currency))
        counts: dict[str, int] = {}
        for entry in result.pools:
            counts[entry.row.status] = counts.get(entry.row.status, 0) + 1
        at_risk_value = sum(e.row.projected_unconsumed_value for e in result.pools)
        console.print(
            "pools: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            + f"; value projected to lapse: {at_risk_value:,.2f} {currency}", highlight=False)
        planned = [f"{pool} coverage {_pct(f['plan_coverage'] or 0)}, front-loading "
                   f"{_pct(f['front_loading'] or 0)}"
                   for pool, f in plan_fields.items() if f["plan_coverage"] is not None]
        if planned:
            console.print("plans: " + "; ".join(planned), highlight=False)


def balance_json(balance: PoolBalance) -> dict[str, Any]:
    return {
        "pool": balance.pool.id,
        "as_of": balance.as_of,
        "balance": balance.balance,
        "consumed": balance.consumed,
        "overage": balance.overage,
        "lapsed": balance.lapsed,
        "voided": balance.voided,
        "grants": {g.grant.id: g.remaining for g in balance.grants},
    }


def balance(pool: Annotated[str, typer.Argument(help="Pool id.")], as_of: AsOfOption = None,
            as_json: JsonOption = False, db: DbOption = None) -> None:
    """A pool's balances at an instant: per grant remaining, consumed, overage, lapsed, voided."""
    workspace = ws.open_workspace(db)
    result = ws.pool_balance(workspace, pool, as_of)
    workspace.close()
    if as_json:
        print_json(balance_json(result))
        return
    table = Table(title=f"{pool} as of {result.as_of.isoformat()}", header_style="bold")
    for name in ("grant", "remaining", "consumed", "lapsed", "voided", "carried forward",
                 "last day", "state"):
        table.add_column(name, justify="left" if name in ("grant", "last day", "state")
                         else "right")
    for g in result.grants:
        table.add_row(g.grant.id, _qty(g.remaining), _qty(g.consumed), _qty(g.lapsed),
                      _qty(g.voided), _qty(g.carried_forward), last_day(g.period_end),
                      "active" if g.active else (g.ended or "ended"))
    console.print(table)
    console.print(
        f"balance {_qty(result.balance)} {result.pool.unit}; consumed {_qty(result.consumed)}; "
        f"overage {_qty(result.overage)}; lapsed {_qty(result.lapsed)}; "
        f"voided {_qty(result.voided)}", highlight=False)
