"""What the ledger hands to commitment sizing and to the renewal brief."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from creditops.core.renewal_brief import IncentiveStatus
from creditops.services import imports
from creditops.services import workspace as ws
from creditops.services.errors import NotFoundError
from creditops.services.ledger_inputs import daily_usage, renewal_inputs
from tests.conftest import EXAMPLES


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    path: Path = tmp_path_factory.mktemp("demo") / "demo.db"
    workspace = ws.init_workspace(f"sqlite:///{path}")
    ws.load_register(workspace, EXAMPLES / "demo" / "register.yaml")
    imports.import_usage(workspace, EXAMPLES / "demo" / "usage.csv")
    yield workspace
    workspace.close()


def test_daily_usage_fills_every_day_and_stops_before_as_of(demo) -> None:
    days = daily_usage(demo, "accelerators", "2025-12-31")
    assert days[0] == (date(2025, 3, 18), D(1))
    assert days[-1][0] == date(2025, 12, 31)
    assert sum(q for _, q in days) == D(3) and len(days) == 289
    assert daily_usage(demo, "heroku", "2024-12-31") == []
    with pytest.raises(NotFoundError):
        daily_usage(demo, "nope")


def test_renewal_inputs_list_lapsed_and_unused_value_per_grant(demo) -> None:
    inputs = renewal_inputs(demo, contract_id="MSA-2025", as_of="2026-10-31")
    lines = {(line.grant, line.status): line for line in inputs.incentives}
    flex_y1 = lines[("flex-y1", IncentiveStatus.LAPSED)]
    assert flex_y1.expires == date(2026, 1, 31) and flex_y1.quantity == D(578_067)
    assert flex_y1.value == D("2312.27")  # 578,067 × 0.004, rounded half up to cents
    assert ("flex-y2", IncentiveStatus.UNUSED) in lines
    assert lines[("acc-per-year", IncentiveStatus.LAPSED)].expires is None  # recurring
    assert ("mc-annual", IncentiveStatus.UNUSED) not in lines  # another contract
    kinds = {line.kind: line for line in inputs.utilisation}
    flex = kinds["flex_credits"]
    assert flex.granted == D(5_500_000) and flex.consumed + flex.lapsed <= flex.granted
    assert inputs.success_plan is not None and inputs.success_plan.entitled == D(4)
    assert inputs.currency == "USD" and inputs.contract == "MSA-2025"
    everything = renewal_inputs(demo, as_of="2026-10-31")
    assert ("mc-annual", IncentiveStatus.UNUSED) in {(x.grant, x.status)
                                                     for x in everything.incentives}
    with pytest.raises(NotFoundError, match="contract 'NOPE'"):
        renewal_inputs(demo, contract_id="NOPE")
