"""The command line end to end: output formats, exit codes and the demo workspace."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.command_line import run
from tests.conftest import EXAMPLES

DEMO_AS_OF = "2026-10-31"



@pytest.fixture
def demo(sqlite_url: str, capsys, monkeypatch) -> str:
    monkeypatch.setenv("CREDITOPS_DATABASE_URL", sqlite_url)
    assert run(capsys, monkeypatch, "init")[0] == 0
    assert run(capsys, monkeypatch, "load", str(EXAMPLES / "demo" / "register.yaml"))[0] == 0
    code, out, _ = run(capsys, monkeypatch, "import", "usage",
                       str(EXAMPLES / "demo" / "usage.csv"))
    assert code == 0 and "0 rejected" in out
    return sqlite_url


def test_demo_register_json_has_the_documented_shape(demo, capsys, monkeypatch) -> None:
    code, out, _ = run(capsys, monkeypatch, "register", "--as-of", DEMO_AS_OF, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["as_of"] == "2026-11-01T00:00:00-04:00"
    keys = {"pool", "kind", "unit", "contracted", "consumed", "remaining", "expires", "run_rate",
            "projected_unconsumed", "projected_unconsumed_pct", "projected_unconsumed_value",
            "status", "owner", "grants"}
    for pool in data["pools"]:
        assert keys <= set(pool)
        for grant in pool["grants"]:
            assert keys - {"pool", "kind", "unit", "grants"} | {"grant"} <= set(grant)
            assert isinstance(grant["consumed"], str)


def test_demo_workspace_is_a_realistic_company(demo, capsys, monkeypatch) -> None:
    """Every kind, two years of usage, and each situation the register must show."""
    data = json.loads(run(capsys, monkeypatch, "register", "--as-of", DEMO_AS_OF, "--json")[1])
    pools = {p["pool"]: p for p in data["pools"]}
    kinds = {p["kind"] for p in pools.values()}
    assert {"flex_credits", "data_cloud_credits", "marketing_cloud_messages",
            "success_plan_sessions", "admin_assist_hours", "development_credits",
            "success_funds", "training_credits", "partner_services", "add_on"} <= kinds
    grant_status = {g["grant"]: g["status"] for p in pools.values() for g in p["grants"]}
    assert "at_risk" in grant_status.values()
    assert "overage" in {p["status"] for p in pools.values()}
    assert grant_status["vouchers-bonus"] == "voided"
    assert "flex-y1~rollover" in grant_status
    assert pools["mc-messages"]["grants"][0]["contracted"] == "12000000"
    assert all(p["owner"] for p in pools.values())
    with (EXAMPLES / "demo" / "usage.csv").open() as handle:
        dates = [row["date"] for row in csv.DictReader(handle)]
    assert min(dates) <= "2024-11-01" and max(dates) >= "2026-10-31"


def test_register_table_and_csv(demo, capsys, monkeypatch) -> None:
    code, out, _ = run(capsys, monkeypatch, "register", "--as-of", DEMO_AS_OF)
    assert code == 0 and "flex-y2" in out and "at_risk" in out and "value projected" in out
    code, out, _ = run(capsys, monkeypatch, "register", "--as-of", DEMO_AS_OF, "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and rows[0]["pool"] == "accelerators" and "status" in rows[0]


def test_balance_json_lists_every_effective_grant(demo, capsys, monkeypatch) -> None:
    code, out, _ = run(capsys, monkeypatch, "balance", "flex-prod", "--as-of", DEMO_AS_OF,
                       "--json")
    data = json.loads(out)
    assert code == 0
    assert set(data) == {"pool", "as_of", "balance", "consumed", "overage", "lapsed", "voided",
                         "grants"}
    assert set(data["grants"]) == {"flex-pilot", "flex-y1", "flex-y1~rollover", "flex-y2"}
    assert data["grants"]["flex-pilot"] == "0"
    code, out, _ = run(capsys, monkeypatch, "balance", "flex-prod", "--as-of", DEMO_AS_OF)
    assert code == 0 and "balance" in out


def test_exit_codes_mean_something(demo, capsys, monkeypatch, tmp_path: Path) -> None:
    code, _, err = run(capsys, monkeypatch, "balance", "nope")
    assert code == 3 and "no pool 'nope'" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("date,pool,quantity\n2026-01-01,flex-prod,x\n")
    code, _, err = run(capsys, monkeypatch, "import", "usage", str(bad))
    assert code == 2 and "row 2" in err and "'quantity'" in err
    code, out, _ = run(capsys, monkeypatch, "import", "usage", str(bad), "--quarantine",
                       str(tmp_path / "q.csv"))
    assert code == 0 and "1 rejected" in out and (tmp_path / "q.csv").exists()
    code, _, err = run(capsys, monkeypatch, "register", "--as-of", "tomorrow")
    assert code == 2 and "--as-of" in err


def test_imports_list_and_rollback(demo, capsys, monkeypatch) -> None:
    code, out, _ = run(capsys, monkeypatch, "imports", "list", "--json")
    records = json.loads(out)
    assert code == 0 and [r["kind"] for r in records] == ["register", "usage"]
    assert records[1]["rows_accepted"] == records[1]["rows_read"] > 5000
    code, out, _ = run(capsys, monkeypatch, "imports", "rollback", "2")
    assert code == 0 and "rolled back" in out
    code, out, _ = run(capsys, monkeypatch, "imports", "list")
    assert code == 0 and "rolled_back" in out.replace("…", "")
    code, _, _ = run(capsys, monkeypatch, "imports", "rollback", "77")
    assert code == 3


def test_commands_need_an_initialised_workspace(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("CREDITOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    code, _, err = run(capsys, monkeypatch, "register")
    assert code == 3 and "creditops init" in err
