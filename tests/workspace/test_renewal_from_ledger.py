"""Renewal commands fed by the workspace: commitment sizing from a pool, the clause check of a
contract, and the renewal brief with the ledger's unused and lapsed incentives."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from creditops.core.numbers import round_money
from tests.conftest import EXAMPLES
from tests.workspace.test_cli import run

AS_OF = "2026-10-31"


@pytest.fixture
def demo(sqlite_url: str, capsys, monkeypatch) -> str:
    monkeypatch.setenv("CREDITOPS_DATABASE_URL", sqlite_url)
    for args in (["init"], ["load", str(EXAMPLES / "demo" / "register.yaml")],
                 ["import", "usage", str(EXAMPLES / "demo" / "usage.csv")]):
        assert run(capsys, monkeypatch, *args)[0] == 0
    return sqlite_url


def test_commit_size_from_a_pool_uses_its_usage_and_unit_value(demo, capsys, monkeypatch
                                                                ) -> None:
    code, out, _ = run(capsys, monkeypatch, "commit", "size", "flex-prod", "--as-of", AS_OF,
                       "--pilot-days", "90", "--paths", "500", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["pilot"]["last_day"] == "2026-10-31" and data["pilot"]["days"] == 90
    recommended = data["recommended"]
    volume, value = (Decimal(recommended[key]) for key in ("volume", "value"))
    assert volume > 0 and value == round_money(volume * Decimal("0.004"))  # the pool's value
    code, _, err = run(capsys, monkeypatch, "commit", "size")
    assert code == 2 and "POOL" in err
    code, _, err = run(capsys, monkeypatch, "commit", "size", "nope")
    assert code == 3 and "no pool 'nope'" in err


def test_clause_check_of_a_workspace_contract_uses_its_documents(demo, capsys, monkeypatch
                                                                 ) -> None:
    code, out, _ = run(capsys, monkeypatch, "clauses", "check", "MSA-2025", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["scenario"].endswith("trueup-seed.yaml")
    assert data["text"].endswith("clauses-vendor.txt")
    items = data["items"]
    assert len(items) == 12 and any(item["evidence"] for item in items)
    code, _, err = run(capsys, monkeypatch, "clauses", "check", "MSA-1999")
    assert code == 3 and "no contract 'MSA-1999'" in err


def test_renewal_brief_of_a_contract_lists_lapsed_and_unused_incentives(
        demo, capsys, monkeypatch, tmp_path: Path) -> None:
    out_file = tmp_path / "brief.html"
    code, out, _ = run(capsys, monkeypatch, "report", "renewal", "--contract", "MSA-2025",
                       "--as-of", AS_OF, "--paths", "0", "--format", "html", "--out",
                       str(out_file))
    assert code == 0 and "asks" in out
    html = out_file.read_text()
    assert "flex-y1" in html and "2,312.27" in html  # lapsed at the end of year 1
    assert "vouchers-2025" in html  # unused, expiring 31 December
    assert "mc-annual" not in html  # the Marketing Cloud contract is another one
