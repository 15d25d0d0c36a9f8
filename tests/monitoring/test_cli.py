"""The monitoring commands end to end on the demo workspace: output formats, determinism,
exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.command_line import run
from tests.conftest import EXAMPLES
from tests.monitoring.conftest import free_port

AS_OF = "2026-10-31"



@pytest.fixture
def demo(sqlite_url: str, capsys, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CREDITOPS_DATABASE_URL", sqlite_url)
    for name in ("CREDITOPS_SMTP_URL", "CREDITOPS_MAIL_FROM", "CREDITOPS_NOTIFY_URLS"):
        monkeypatch.delenv(name, raising=False)
    assert run(capsys, monkeypatch, "init")[0] == 0
    assert run(capsys, monkeypatch, "load", str(EXAMPLES / "demo" / "register.yaml"))[0] == 0
    assert run(capsys, monkeypatch, "import", "usage", str(EXAMPLES / "demo" / "usage.csv"))[0] \
        == 0
    code, out, _ = run(capsys, monkeypatch, "plan", "import", str(EXAMPLES / "demo" / "plan.csv"))
    assert code == 0 and "14 created" in out
    return sqlite_url


def test_forecast_is_deterministic_and_backtested(demo, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    args = ("forecast", "--as-of", AS_OF, "--paths", "1000", "--json")
    code, first, _ = run(capsys, monkeypatch, *args)
    assert code == 0 and first == run(capsys, monkeypatch, *args)[1]
    assert first != run(capsys, monkeypatch, *args, "--seed", "1")[1]
    pools = {p["pool"]: p for p in json.loads(first)}
    flex = pools["flex-prod"]["grants"][0]
    assert flex["grant"] == "flex-y2" and flex["last_day"] == "2027-01-31"
    # The plan's 550,000 credits still ahead bring the lapse under the risk threshold, which
    # the run-rate baseline cannot know.
    assert set(flex["lapse"]) == {"p10", "p50", "p90"} and flex["status"] == "on_track"
    assert float(flex["lapse"]["p50"]) < float(flex["baseline_projected_unconsumed"]) - 500000
    code, one, _ = run(capsys, monkeypatch, "forecast", "flex-prod", "--as-of", AS_OF,
                       "--paths", "1000", "--json")
    assert code == 0 and json.loads(one) == [pools["flex-prod"]]
    code, table, _ = run(capsys, monkeypatch, "forecast", "training", "--as-of", AS_OF,
                         "--paths", "500")
    assert code == 0 and "vouchers-2025" in table and "P(lapse > threshold)" in table
    code, out, _ = run(capsys, monkeypatch, "forecast", "backtest", "--as-of", AS_OF,
                       "--paths", "300", "--json")
    report = json.loads(out)
    assert code == 0 and report["overall"]["cases"] > 20
    assert set(report["by_lead"]) == {"90", "60", "30"}
    code, out, _ = run(capsys, monkeypatch, "forecast", "--help")
    assert code == 0 and "backtest" in out
    assert run(capsys, monkeypatch, "forecast", "nope")[0] == 3
    code, _, err = run(capsys, monkeypatch, "forecast", "--paths", "0")
    assert code == 2 and "paths" in err


def test_register_gains_plan_fields_and_keeps_its_baseline(demo, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, monkeypatch, "register", "--as-of", AS_OF, "--json")
    pools = {p["pool"]: p for p in json.loads(out)["pools"]}
    assert code == 0
    assert pools["training"]["plan_coverage"] == "0.434783"  # 10 planned ÷ 23 left
    assert pools["training"]["front_loading"] == "0.5"
    assert pools["heroku"]["plan_coverage"] is None
    assert pools["flex-prod"]["projected_unconsumed"] == "1057991.733272"
    code, out, _ = run(capsys, monkeypatch, "register", "--as-of", AS_OF)
    assert code == 0 and "plans: dev-credits coverage" in out


def test_check_plans_outcomes_report_and_calendar(demo, capsys, monkeypatch,
                                                  tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, monkeypatch, "check", "--as-of", AS_OF, "--dry-run")
    assert code == 0 and "would raise" in out and "[projected_lapse] flex-y2" in out
    assert "dry run: nothing stored" in out
    assert json.loads(run(capsys, monkeypatch, "alerts", "list", "--json")[1]) == []
    port = free_port()
    monkeypatch.setenv("CREDITOPS_SMTP_URL", f"smtp://127.0.0.1:{port}?timeout=5")
    monkeypatch.setenv("CREDITOPS_MAIL_FROM", "creditops@northwind.example")
    code, out, err = run(capsys, monkeypatch, "check", "--as-of", AS_OF)
    assert code == 4 and f"SMTP server 127.0.0.1:{port}" in err and "retried" in err
    alerts = json.loads(run(capsys, monkeypatch, "alerts", "list", "--json")[1])
    assert alerts and all(d["status"] == "pending" and d["attempts"] == 1
                          for a in alerts for d in a["deliveries"])
    code, out, _ = run(capsys, monkeypatch, "alerts", "ack", str(alerts[0]["id"]))
    assert code == 0 and "acknowledged" in out
    assert run(capsys, monkeypatch, "alerts", "resolve", "9999")[0] == 3
    code, out, _ = run(capsys, monkeypatch, "alerts", "list", "--state", "all")
    assert code == 0 and "pending" in out
    monkeypatch.setenv("CREDITOPS_SMTP_URL", "ftp://mail")
    code, _, err = run(capsys, monkeypatch, "check", "--as-of", AS_OF)
    assert code == 2 and "CREDITOPS_SMTP_URL" in err
    monkeypatch.delenv("CREDITOPS_SMTP_URL")

    code, out, _ = run(capsys, monkeypatch, "plan", "show", "training", "--as-of", AS_OF)
    assert code == 0 and "Admin certifications (wave 2)" in out
    code, out, _ = run(capsys, monkeypatch, "accelerate", "flex-y2", "--as-of", AS_OF,
                       "--json")
    plan = json.loads(out)
    assert code == 0 and plan["needed_rate"] == "26621.451613"  # 1,650,530 over 62 days
    assert len(plan["candidates"]) == 2 and plan["weeks"]
    code, out, _ = run(capsys, monkeypatch, "accelerate", "flex-y2", "--as-of", AS_OF)
    assert code == 0 and "Weekly tracking" in out and "SDR agent rollout" in out
    code, out, _ = run(capsys, monkeypatch, "outcome", "add", "--pool", "success-fund",
                       "--metric", "user adoption", "--unit", "%", "--before", "52",
                       "--after", "62.4", "--value-used", "90000", "--after-date",
                       "2026-06-30")
    assert code == 0 and "user adoption +20%" in out
    code, _, err = run(capsys, monkeypatch, "outcome", "add", "--pool", "success-fund",
                       "--metric", "x", "--before", "1.5.2")
    assert code == 2 and "--before" in err
    code, out, _ = run(capsys, monkeypatch, "outcome", "list", "--json")
    assert code == 0 and json.loads(out)[0]["change"] == "0.2"

    target = tmp_path / "review.md"
    code, out, _ = run(capsys, monkeypatch, "report", "governance", "--period", "2026Q3",
                       "--output", str(target))
    assert code == 0 and target.exists()
    text = target.read_text()
    assert "USD 90,000.00 of Customer success fund → user adoption +20%" in text
    code, out, _ = run(capsys, monkeypatch, "calendar", "export", str(tmp_path / "c.ics"),
                       "--as-of", AS_OF)
    assert code == 0 and "events written" in out and "milestone" in out
