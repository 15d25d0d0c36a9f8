"""Consumption data in: rate cards, Digital Wallet exports, Marketing Cloud send logs, raw events
at scale, and the Salesforce API."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from creditops.cli.ledger import (
    DbOption,
    JsonOption,
    import_app,
    print_import_summary,
    run_with_progress,
)
from creditops.cli.output import (
    LazyModule,
    console,
    err_console,
    print_json,
    print_table,
    to_jsonable,
)
from creditops.core.errors import InputError, Problem
from creditops.core.numbers import parse_decimal
from creditops.core.ratecard import Conversion, RateCard

if TYPE_CHECKING:
    import creditops.services.consumption as cs
    import creditops.services.marketing_cloud as marketing
    import creditops.services.ratecards as rc
    import creditops.services.salesforce_sync as sf
    import creditops.services.wallet as wallet
    import creditops.services.workspace as ws
else:
    cs = LazyModule("creditops.services.consumption")
    marketing = LazyModule("creditops.services.marketing_cloud")
    rc = LazyModule("creditops.services.ratecards")
    sf = LazyModule("creditops.services.salesforce_sync")
    wallet = LazyModule("creditops.services.wallet")
    ws = LazyModule("creditops.services.workspace")

ratecard_app = typer.Typer(help="Rate cards: list, show, convert usage to credits, load your own.",
                           no_args_is_help=True)
sync_app = typer.Typer(help="Read consumption from a Salesforce org.", no_args_is_help=True)

QuarantineOption = Annotated[Path | None, typer.Option(
    "--quarantine", help="Import the good rows; write the bad ones here with reasons.")]
ContractOption = Annotated[str | None, typer.Option(
    "--contract", help="Apply this contract's rate overrides too.")]


def register(app: typer.Typer, report: typer.Typer) -> None:
    app.add_typer(ratecard_app, name="ratecard")
    app.add_typer(sync_app, name="sync")
    import_app.command("digital-wallet")(import_digital_wallet)
    import_app.command("marketing-cloud")(import_marketing_cloud)
    import_app.command("events")(import_events)
    ratecard_app.command("list")(ratecard_list)
    ratecard_app.command("show")(ratecard_show)
    ratecard_app.command("convert")(ratecard_convert)
    ratecard_app.command("load")(ratecard_load)
    sync_app.command("salesforce")(sync_salesforce)
    sync_app.command("status")(sync_status)


def _decimal(text: str, option: str) -> Decimal:
    try:
        return parse_decimal(text.replace(",", ""))
    except ValueError as error:
        raise InputError(Problem(str(error), column=option)) from None


def _warn_low_confidence(lines: tuple[str, ...] | list[str]) -> None:
    for line in lines:
        err_console.print(f"[yellow]low confidence:[/yellow] {line}", highlight=False,
                          soft_wrap=True)


# -- rate cards --------------------------------------------------------------------------------

def ratecard_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """The rate cards available: shipped with creditops, or loaded into the workspace."""
    cards = rc.list_cards(db)
    if as_json:
        print_json([{"name": c.name, "title": c.title, "version": c.version, "origin": origin,
                     "converts_to": c.converts_to, "usage_types": len(c.usage_types),
                     "low_confidence_figures": sum(1 for _, f in c.figures()
                                                   if f.confidence.is_low)}
                    for c, origin in cards])
        return
    print_table("Rate cards", ["name", "title", "version", "converts to", "usage types",
                               "low-confidence figures", "origin"],
                [[c.name, c.title, c.version, c.converts_to, len(c.usage_types),
                  sum(1 for _, f in c.figures() if f.confidence.is_low), origin]
                 for c, origin in cards], numeric=["usage types", "low-confidence figures"])


def _card_json(card: RateCard) -> dict[str, Any]:
    return {
        "name": card.name, "title": card.title, "version": card.version,
        "converts_to": card.converts_to, "currency": card.currency,
        "price": card.price, "rounding": card.rounding, "sources": dict(card.sources),
        "notes": list(card.notes), "tiers": card.tiers, "usage_types": card.usage_types,
    }


def ratecard_show(name: Annotated[str, typer.Argument(help="Rate card name.")],
                  contract: ContractOption = None, db: DbOption = None,
                  as_json: JsonOption = False) -> None:
    """Every figure of a rate card with its sources, date and confidence (low ones flagged)."""
    card = rc.show_card(db, name, contract)
    if as_json:
        print_json(_card_json(card))
        return
    console.print(f"[bold]{card.title}[/bold] ({card.name}, version {card.version}); converts "
                  f"usage to {card.converts_to}s; {card.rounding.describe()}", highlight=False)
    if card.price is not None:
        console.print(f"price: {card.price.value} {card.currency} per {card.converts_to} "
                      f"[{card.price.describe()}]", highlight=False)
    if card.tiers is not None:
        starts = ", ".join(f"{f.value:,f}" for f in card.tiers.starts if f.value is not None)
        console.print(f"monthly tiers ({card.tiers.mode.value}, per {card.tiers.scope.value}) "
                      f"start at {starts} {card.converts_to}s "
                      f"[{card.tiers.starts[0].describe()}]", highlight=False)
    tiered = card.tiers is not None
    header = ["usage type", "label", "per", "unit",
              *(("tier rates",) if tiered else ("rate",)), "sandbox", "sources", "as of",
              "confidence"]
    rows = []
    for usage in card.usage_types:
        rate = " / ".join("TBA" if f.value is None else f"{f.value:,f}"
                          for f in usage.production)
        figure = usage.production[0]
        flag = " [bold red]LOW[/]" if any(f.confidence.is_low for f in usage.production) else ""
        sandbox = "—" if usage.sandbox is None or usage.sandbox.value is None \
            else f"{usage.sandbox.value:,f}"
        origin = "" if figure.origin == "card" else f" ({figure.origin})"
        rows.append([usage.key, usage.label, f"{usage.per:,f}", usage.unit, rate + origin,
                     sandbox, ", ".join(figure.sources), figure.as_of,
                     figure.confidence.value + flag])
    print_table(None, header, rows, numeric=["per"])
    for key, text in card.sources.items():
        console.print(f"  {key}: {text}", highlight=False, soft_wrap=True)
    for note in card.notes:
        console.print(f"  note: {note}", highlight=False, soft_wrap=True)


def _conversion_json(conversion: Conversion) -> dict[str, Any]:
    return {
        "card": conversion.card.name, "version": conversion.card.version,
        "usage_type": conversion.usage_type.key, "quantity": conversion.quantity,
        "unit": conversion.usage_type.unit, "billed_units": conversion.billed_units,
        "sandbox": conversion.sandbox, "month_to_date": conversion.month_to_date,
        "steps": [{"tier": s.tier, "units": str(s.units), "rate": s.rate.value,
                   "amount": str(s.amount), "sources": s.rate.sources,
                   "confidence": s.rate.confidence.value} for s in conversion.steps],
        "exact": str(conversion.exact), "amount": conversion.amount,
        "converts_to": conversion.card.converts_to,
        "rounding": conversion.card.rounding.describe(),
        "low_confidence": [f.describe() for f in conversion.low_confidence],
        "explanation": conversion.explanation(),
    }


def ratecard_convert(
    name: Annotated[str, typer.Argument(help="Rate card name, e.g. data360-flex.")],
    usage_type: Annotated[str, typer.Argument(help="Usage type, e.g. unification.")],
    quantity: Annotated[str, typer.Argument(help="Quantity in the usage type's natural unit "
                                            "(rows, actions, messages...).")],
    month_to_date: Annotated[str, typer.Option(
        "--month-to-date", help="Credits already used this month in the tier scope (places the "
        "run in the monthly volume tiers).")] = "0",
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Use the sandbox rate.")] = False,
    contract: ContractOption = None, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Convert a quantity to credits (or super messages), showing tier, rate and rounding."""
    conversion = rc.convert_quantity(db, name, usage_type, _decimal(quantity, "QUANTITY"),
                                     month_to_date=_decimal(month_to_date, "--month-to-date"),
                                     sandbox=sandbox, contract=contract)
    if as_json:
        print_json(_conversion_json(conversion))
        return
    console.print(f"[bold]{conversion.amount:,f} {conversion.card.converts_to}s[/bold]",
                  highlight=False)
    for line in conversion.explanation():
        style = "bold red" if line.startswith("LOW CONFIDENCE") else ""
        console.print(f"[{style}]{line}[/]" if style else line, highlight=False,
                      soft_wrap=True)


def ratecard_load(file: Annotated[Path, typer.Argument(help="A rate card or overrides file "
                                                       "(YAML).")], db: DbOption = None) -> None:
    """Load your own rate card (replaces the shipped one of that name in this workspace) or an
    overrides file (`overrides:` entries for the workspace or one contract)."""
    workspace = ws.open_workspace(db)
    try:
        summary = rc.load_rate_card_file(workspace, file)
    finally:
        workspace.close()
    console.print(f"loaded {summary}", highlight=False)


# -- imports -----------------------------------------------------------------------------------

def _events_progress(work: Any, label: str) -> Any:
    """Runs ``work(on_progress)`` with a bar of the rows read (of how many the files hold:
    exact for Parquet, estimated from the size for CSV)."""
    if not console.is_terminal:
        return work(None)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.fields[rows]}"), TimeElapsedColumn(), console=console,
                  transient=True) as progress:
        task = progress.add_task(f"reading {label}", total=None, rows="")

        def show(read: Any) -> None:
            progress.update(task, total=read.total, completed=read.rows, rows=rows_read(read))

        return work(show)


def rows_read(read: Any) -> str:
    """``1,200,000 rows read of about 10,000,000`` (a ReadProgress, as the bar shows it)."""
    of = "" if read.total is None else f" of {'' if read.exact else 'about '}{read.total:,}"
    return f"{read.rows:,} rows read{of}"


def _print_events_summary(summary: cs.EventsSummary) -> None:
    console.print(
        f"import {summary.import_id}: {summary.rows_read:,} rows read, {summary.events:,} events "
        f"counted into {summary.daily_totals:,} daily totals, {summary.duplicate:,} already "
        f"imported or repeated, {summary.rejected:,} rejected", highlight=False)
    for pool, quantity in sorted(summary.by_pool.items()):
        console.print(f"  {pool}: {quantity:,f}", highlight=False)
    if summary.quarantine is not None:
        console.print(f"bad rows written to {summary.quarantine}", highlight=False)
    _warn_low_confidence(summary.low_confidence)


def import_events(
    source: Annotated[str, typer.Argument(help="CSV or Parquet file, or a glob (quote it); with "
                                          "a Spark engine, a path the cluster sees or a table.")],
    mapping: Annotated[str | None, typer.Option(
        "--map", help="Column names when they differ: id=EventId,at=EventTime,pool=...,"
        "usage_type=...,quantity=...")] = None,
    rate_card: Annotated[str | None, typer.Option(
        "--rate-card", help="Convert quantities in natural units to credits by usage type.")]
    = None,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Use the card's sandbox rates.")]
    = False,
    engine: Annotated[str, typer.Option(
        "--engine", help="duckdb (default, in process), spark://HOST:PORT, local[N] or "
        "sc://HOST:15002 (Spark Connect).")] = "duckdb",
    quarantine: QuarantineOption = None, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Import raw events (columns id, at, pool, usage_type, quantity) as daily totals per pool
    and usage type (UTC days). Event ids already imported are skipped."""
    workspace = ws.open_workspace(db)
    try:
        summary = _events_progress(
            lambda progress: cs.import_events(workspace, source, mapping=mapping,
                                              rate_card=rate_card, sandbox=sandbox,
                                              engine_url=engine, quarantine=quarantine,
                                              on_progress=progress), Path(source).name)
    finally:
        workspace.close()
    if as_json:
        print_json(summary)
        return
    _print_events_summary(summary)


def import_digital_wallet(
    file: Annotated[Path | None, typer.Argument(help="Digital Wallet report export (CSV or "
                                                "XLSX) of TenantEnrichedUsageEvent data.")]
    = None,
    pending: Annotated[bool, typer.Option(
        "--pending", help="Import the rows kept from earlier imports whose card is mapped "
        "now.")] = False,
    quarantine: QuarantineOption = None, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Import Digital Wallet usage: UnitsConsumed per row, to the pool whose `match:` list
    claims its card, usage type, org and environment. Unmapped rows are kept and listed."""
    if file is None and not pending:
        raise InputError(Problem("give a FILE, or --pending to import the kept rows"))
    workspace = ws.open_workspace(db)
    try:
        if file is None:
            summary = wallet.import_pending(workspace)
        else:
            summary = run_with_progress(file, lambda progress: wallet.import_wallet_file(
                workspace, file, quarantine=quarantine, on_progress=progress))
    finally:
        workspace.close()
    if as_json:
        print_json(summary)
        return
    print_wallet_summary(summary)


def print_wallet_summary(summary: wallet.WalletSummary) -> None:
    print_import_summary(summary.base)
    if summary.pending_imported:
        console.print(f"{summary.pending_imported} kept row(s) of earlier imports now mapped "
                      "and imported", highlight=False)
    if summary.unmapped:
        console.print("[yellow]not mapped to any pool (kept; add a `match:` entry to a pool, "
                      "load the register, then `creditops import digital-wallet --pending`):"
                      "[/yellow]", highlight=False)
        print_table(None, ["card", "usage type", "org", "env", "rows", "units consumed"],
                    [[u.card, u.usage_type or "", u.org or "", u.env or "", u.rows,
                      f"{u.total:,f}"] for u in summary.unmapped],
                    numeric=["rows", "units consumed"])


def import_marketing_cloud(
    file: Annotated[Path, typer.Argument(help="Send-log extract: the _Sent data view (email) "
                                         "or _SMSMessageTracking (SMS), CSV or XLSX.")],
    pool: Annotated[str | None, typer.Option(
        "--pool", help="Pool of super messages (default: the only marketing_cloud_messages "
        "pool).")] = None,
    rate_card: Annotated[str, typer.Option("--rate-card", help="Super-message rate card.")]
    = "marketing-cloud-super-messages",
    high_priority: Annotated[list[str] | None, typer.Option(
        "--high-priority", help="TriggeredSendCustomerKey of a High Priority triggered send "
        "(repeat the option).")] = None,
    zone: Annotated[str, typer.Option(
        "--timezone", help="Zone of the extract's times without offset (Marketing Cloud system "
        "time is UTC-6 all year).")] = "-06:00",
    quarantine: QuarantineOption = None, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Import sent messages converted to super messages per channel with the rate card, as
    daily totals; re-importing an overlapping extract adds only the new messages."""
    workspace = ws.open_workspace(db)
    try:
        summary = run_with_progress(file, lambda progress: marketing.import_marketing_cloud(
            workspace, file, pool=pool, rate_card=rate_card, high_priority=high_priority or [],
            zone=zone, quarantine=quarantine, on_progress=progress))
    finally:
        workspace.close()
    if as_json:
        print_json(summary)
        return
    _print_events_summary(summary)


# -- Salesforce --------------------------------------------------------------------------------

def sync_salesforce(
    wallet_object: Annotated[str | None, typer.Option(
        "--digital-wallet", help="Also read Digital Wallet usage through the Data 360 query API "
        "from this object (e.g. TenantEnrichedUsageEvent__dll).")] = None,
    full: Annotated[bool, typer.Option("--full", help="Ignore the watermarks and read "
                                       "everything again (still idempotent).")] = False,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Read TenantUsageEntitlement (SOQL) and, with --digital-wallet, usage events (Data 360
    query API) from the org. Credentials come from the environment only: CREDITOPS_SF_USERNAME
    with CREDITOPS_SF_PASSWORD and CREDITOPS_SF_TOKEN, or CREDITOPS_SF_CLIENT_ID with
    CREDITOPS_SF_PRIVATE_KEY_FILE (JWT); CREDITOPS_SF_DOMAIN (login, test or My Domain)."""
    workspace = ws.open_workspace(db)
    try:
        summary = sf.sync_salesforce(workspace, wallet_object=wallet_object, full=full)
    finally:
        workspace.close()
    if as_json:
        print_json(summary)
        return
    console.print(
        f"import {summary.import_id}: {summary.entitlements_read} entitlement(s) read "
        f"({summary.entitlements_changed} new or changed); watermark "
        f"{summary.entitlement_watermark or '—'}", highlight=False)
    if summary.wallet is not None:
        console.print(f"Digital Wallet: {summary.wallet_rows_read} row(s) read; watermark "
                      f"{summary.wallet_watermark or '—'}", highlight=False)
        print_wallet_summary(summary.wallet)


def sync_status(db: DbOption = None, as_json: JsonOption = False) -> None:
    """The entitlements last read from the org and the sync watermarks."""
    workspace = ws.open_workspace(db)
    try:
        status = sf.sync_status(workspace)
    finally:
        workspace.close()
    if as_json:
        print_json(status)
        return
    for key, value in status.watermarks.items():
        console.print(f"{key}: {value}", highlight=False)
    print_table("Salesforce entitlements (TenantUsageEntitlement)",
                ["label", "setting", "frequency", "used", "allowed", "start", "end",
                 "last modified"],
                [[e.master_label, e.setting, e.frequency, to_jsonable(e.amount_used),
                  to_jsonable(e.current_amount_allowed), e.start_date, e.end_date,
                  e.last_modified] for e in status.entitlements],
                numeric=["used", "allowed"])
