"""Rate cards: the shipped ones, the workspace's own in their place, and overrides (the
workspace's, then a contract's); listing, showing and converting with them, and loading a card or
an overrides file into the workspace."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditops.adapters.ratecards import (
    card_from_document,
    is_overrides_document,
    overrides_from_document,
    read_card_file,
    shipped_cards,
)
from creditops.adapters.storage.tables import PoolRow, RateCardFileRow
from creditops.adapters.usage_file import file_sha256
from creditops.adapters.yamlio import parse_yaml
from creditops.core.errors import InputError
from creditops.core.ratecard import (
    CardOverride,
    Conversion,
    Figure,
    RateCard,
    apply_overrides,
    convert,
)
from creditops.services.errors import NotFoundError
from creditops.services.workspace import Workspace, current_actor, open_workspace


def _workspace_documents(session: Session) -> list[RateCardFileRow]:
    return list(session.scalars(select(RateCardFileRow).order_by(RateCardFileRow.id)))


def cards_in(session: Session | None) -> dict[str, RateCard]:
    """The shipped cards, with the workspace's own cards in place of any of the same name."""
    cards = shipped_cards()
    if session is not None:
        for row in _workspace_documents(session):
            if row.kind == "card":
                card = card_from_document(parse_yaml(row.text, f"workspace rate card {row.name}"))
                cards[card.name] = card
    return cards


def overrides_in(session: Session | None, card: str, contract: str | None
                 ) -> list[CardOverride]:
    """The overrides of a card that apply: the workspace's first, then the contract's (which
    therefore win)."""
    if session is None:
        return []
    general: list[CardOverride] = []
    specific: list[CardOverride] = []
    for row in _workspace_documents(session):
        if row.kind != "overrides":
            continue
        for name, for_contract, override in overrides_from_document(
                parse_yaml(row.text, f"workspace overrides {row.name}")):
            if name != card:
                continue
            if for_contract is None:
                general.append(override)
            elif for_contract == contract:
                specific.append(override)
    return general + specific


def effective_card(session: Session | None, name: str, contract: str | None = None) -> RateCard:
    cards = cards_in(session)
    if name not in cards:
        raise NotFoundError(f"no rate card {name!r} (rate cards: {', '.join(sorted(cards))})")
    return apply_overrides(cards[name], overrides_in(session, name, contract))


def _optional_workspace(database_url: str | None) -> Workspace | None:
    try:
        return open_workspace(database_url)
    except NotFoundError:
        return None


def list_cards(database_url: str | None) -> list[tuple[RateCard, str]]:
    """Every card available, with where it comes from ("shipped" or "workspace")."""
    workspace = _optional_workspace(database_url)
    shipped = shipped_cards()
    if workspace is None:
        return [(card, "shipped") for card in shipped.values()]
    try:
        with workspace.session() as session:
            cards = cards_in(session)
            own = {row.name for row in _workspace_documents(session) if row.kind == "card"}
    finally:
        workspace.close()
    return [(card, "workspace" if card.name in own and card is not shipped.get(card.name)
             else "shipped") for card in sorted(cards.values(), key=lambda c: c.name)]


def show_card(database_url: str | None, name: str, contract: str | None = None) -> RateCard:
    workspace = _optional_workspace(database_url)
    if workspace is None:
        return effective_card(None, name, contract)
    try:
        with workspace.session() as session:
            return effective_card(session, name, contract)
    finally:
        workspace.close()


def convert_quantity(database_url: str | None, card_name: str, usage_type: str,
                     quantity: Decimal, *, month_to_date: Decimal = Decimal(0),
                     sandbox: bool = False, contract: str | None = None) -> Conversion:
    card = show_card(database_url, card_name, contract)
    return convert(card, usage_type, quantity, month_to_date=month_to_date, sandbox=sandbox)


def load_rate_card_file(workspace: Workspace, path: Path, *, actor: str | None = None,
                        now: datetime | None = None) -> str:
    """Stores a rate card (replacing the shipped one of the same name for this workspace) or an
    overrides file; loading a file of the same name again replaces it."""
    document = read_card_file(path)
    with workspace.session() as session:
        if is_overrides_document(document):
            entries = overrides_from_document(document)
            cards = cards_in(session)
            contracts = {row for row in session.scalars(select(PoolRow.contract_id)) if row}
            problems = []
            for index, (card_name, contract, override) in enumerate(entries):
                if card_name not in cards:
                    problems.append(document.problem(("overrides", index, "card"),
                                                     f"no rate card {card_name!r}"))
                    continue
                if contract is not None and contract not in contracts:
                    problems.append(document.problem(
                        ("overrides", index, "contract"),
                        f"no pool of the workspace belongs to contract {contract!r}"))
                try:
                    apply_overrides(cards[card_name], [override])
                except InputError as error:
                    problems += [document.problem(("overrides", index), p.reason)
                                 for p in error.problems]
            if problems:
                raise InputError(problems)
            kind, name = "overrides", path.name
            summary = f"{len(entries)} override(s) from {path.name}"
        else:
            card = card_from_document(document)
            kind, name = "card", card.name
            summary = f"rate card {card.name} (version {card.version.isoformat()})"
        row = session.scalars(select(RateCardFileRow).where(
            RateCardFileRow.kind == kind, RateCardFileRow.name == name)).first()
        text = path.read_text(encoding="utf-8")
        values = {"kind": kind, "name": name, "text": text, "file_hash": file_sha256(path),
                  "actor": actor or current_actor(), "loaded_at": now or datetime.now(UTC)}
        if row is None:
            session.add(RateCardFileRow(**values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
    return summary



def figure_warning(card: RateCard, label: str, figure: Figure) -> str:
    note = f" — {figure.note}" if figure.note else ""
    return f"{card.name} {label}: {figure.value} is low confidence ({figure.describe()}){note}"
