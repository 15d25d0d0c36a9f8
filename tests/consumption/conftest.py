"""A workspace with pools for consumption imports, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from creditops.adapters.storage.tables import EventManifestRow, ImportRow, UsageRow
from creditops.services import workspace as ws

REGISTER = """\
currency: USD
timezone: America/New_York
contracts:
  - {id: MSA, name: "Order form", start: 2026-02-01, end: 2029-01-31}
  - {id: MC, name: "Marketing Cloud", start: 2026-02-01, end: 2028-01-31}
pools:
  - id: flex
    kind: flex_credits
    unit: credit
    unit_value: "0.005"
    contract: MSA
    match:
      - {card: AgentforceFlexCredits, env: production}
    grants:
      - {id: flex-y1, quantity: 3000000, effective: 2026-02-01, expires: 2027-01-31}
  - id: data-cloud
    kind: data_cloud_credits
    unit: credit
    unit_value: "0.001"
    contract: MSA
    match:
      - {card: DataCloudFlexCredits, org: 00D5f000000NWRob}
    grants:
      - {id: dc-y1, quantity: 9000000, effective: 2026-02-01, expires: 2027-01-31}
  - id: mc-messages
    kind: marketing_cloud_messages
    unit: super message
    unit_value: "0.0027"
    contract: MC
    grants:
      - {id: mc-y1, quantity: 12000000, effective: 2026-02-01, expires: 2027-01-31}
"""


@pytest.fixture
def workspace(database_url: str, tmp_path: Path) -> Iterator[ws.Workspace]:
    workspace = ws.init_workspace(database_url)
    register = tmp_path / "register.yaml"
    register.write_text(REGISTER, encoding="utf-8")
    ws.load_register(workspace, register)
    yield workspace
    workspace.close()


def usage_rows(workspace: ws.Workspace) -> list[UsageRow]:
    with workspace.session() as session:
        return list(session.scalars(select(UsageRow).order_by(UsageRow.pool_id, UsageRow.at,
                                                              UsageRow.usage_type)))


def state(workspace: ws.Workspace) -> tuple[int, int, int]:
    """(usage rows, imports, manifests): what an import that failed must leave unchanged."""
    with workspace.session() as session:
        return tuple(  # type: ignore[return-value]
            int(session.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (UsageRow, ImportRow, EventManifestRow))
