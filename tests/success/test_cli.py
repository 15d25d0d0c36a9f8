"""The commands end to end on the shipped examples, with the figures worked by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from icalendar import Calendar
from typer.testing import CliRunner

from creditops.cli import app
from creditops.core.errors import InputError
from creditops.services import success

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PROFILE = str(EXAMPLES / "advisor-profile.yaml")
CATALOGUE = str(EXAMPLES / "accelerator-catalogue.csv")
BACKLOG = str(EXAMPLES / "backlog.csv")

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_embedding_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever is installed where the tests run, these runs use TF-IDF."""
    monkeypatch.setattr(success, "packaged_encoder", lambda: None)


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def run_json(*args: str) -> Any:
    return json.loads(run(*args, "--json"))


def test_advisor_tiers_on_the_example_profile() -> None:
    document = run_json("advisor", "tiers", PROFILE)
    tiers = {row["tier"]: row for row in document["tiers"]}
    # Premier at the profile's negotiated 25% of 1.2M; incidents 3×1×1 + 12×2×0.3 + 40×4×0.05
    # weighted hours × 5,000; 6 Accelerators × 3 h × 250
    assert tiers["Premier"] == {"tier": "Premier", "price": "300000.00",
                                "incident_cost": "91000.00", "included_value": "4500.00",
                                "net_cost": "386500.00"}
    # Standard: 48 h for every severity: (3 + 12×0.3 + 40×0.05) × 48 × 5,000
    assert tiers["Standard"]["net_cost"] == "2064000.00"
    # Premier+ adds 12 × 4 h × 90 of Admin Assist
    assert tiers["Premier+"]["included_value"] == "8820.00"
    assert tiers["Signature"]["incident_cost"] == "79750.00"
    assert document["recommended"] == "Premier"
    # (300,000 − 4,500) / (412.8 − 18.2)
    assert document["break_even"] == {"Premier": "748.86", "Premier+": "1042.02",
                                      "Signature": "1198.19"}
    assert document["csm_eligible"] is True
    assert document["fte_comparison"]["price_minus_fte"]["Premier"] == "150000.00"
    assert document["fte_comparison"]["ftes_for_price"]["Premier"] == "2.00"
    assert any(a["tier"] == "Signature" and a["key"] == "price_pct" and a["value"] == "0.40"
               and a["confidence"] == "low" and "30-40%" in a["source"]
               for a in document["assumptions"])
    assert not any(a["tier"] == "Premier" and a["key"] == "price_pct"
                   for a in document["assumptions"])  # the profile overrides it
    assert document["reasons"][0].startswith("Premier has the lowest expected annual net cost")


def test_advisor_tiers_table_and_catalogue_command() -> None:
    output = run("advisor", "tiers", PROFILE)
    assert "Recommended: Premier" in output
    assert "Assumptions to check" in output
    shipped = yaml.safe_load(run("advisor", "catalogue"))
    assert shipped["baseline"] == "Standard"


def test_advisor_signature_case() -> None:
    document = run_json("advisor", "signature", PROFILE, "--cases",
                        str(EXAMPLES / "support-cases.csv"))
    assert document["window"] == {"after": "2025-06-23", "through": "2026-06-23"}
    assert document["cases_counted"] == 24
    lines = {line["severity"]: line for line in document["by_severity"]}
    # Sev 1 first responses 0.75, 1.25, 0.5, 1 h against 15 minutes: 2.5 h at full impact
    assert lines["sev1"] == {"severity": "sev1", "cases": 4, "saved_hours": "2.50",
                             "value": "12500.00"}
    assert document["saved_hours"] == "21.25"
    assert document["value"] == "20125.00"
    assert document["incremental_price"] == "180000.00"  # (0.40 − 0.25) × 1.2M
    assert document["net_benefit"] == "-159875.00"
    table = run("advisor", "signature", PROFILE, "--cases", str(EXAMPLES / "support-cases.csv"),
                "--as-of", "2026-01-31", "--from", "Premier+", "--to", "Signature")
    assert "Premier+ → Signature" in table and "Net benefit a year" in table


def test_accelerators_match() -> None:
    document = run_json("accelerators", "match", "--catalogue", CATALOGUE, "--backlog", BACKLOG)
    assert document["method"] == "tfidf"
    assert document["method_label"] == "TF-IDF (no embedding model installed)"
    best = {item["id"]: item["matches"][0]["catalogue_id"] for item in document["items"]
            if item["matches"]}
    assert best == {"BL-101": "EX-08", "BL-102": "EX-07", "BL-103": "EX-05", "BL-104": "EX-06",
                    "BL-105": "EX-01", "BL-106": "EX-03", "BL-107": "EX-04", "BL-108": "EX-02"}
    first = document["items"][0]["matches"][0]
    assert "integration" in first["matched_words"]
    csv_text = run("accelerators", "match", "--catalogue", "example", "--backlog", BACKLOG,
                   "--csv", "--top", "1", "--method", "tfidf")
    lines = csv_text.splitlines()
    assert lines[0] == ("backlog_id,backlog_title,rank,catalogue_id,catalogue_title,score,"
                        "matched_words,method")
    assert len(lines) == 9
    table = run("accelerators", "match", "--catalogue", "example", "--backlog", BACKLOG,
                "--min-score", "0.3")
    assert "EXAMPLE data" in table and "No fitting entry (score ≥ 0.3)" in table


def test_accelerators_plan_with_used_sessions_and_calendar(tmp_path: Path) -> None:
    used = tmp_path / "used.csv"
    used.write_text("date,catalogue_id,backlog_id\n2026-03-10,EX-04,BL-107\n", encoding="utf-8")
    ics = tmp_path / "sessions.ics"
    args = ["accelerators", "plan", "--catalogue", CATALOGUE, "--backlog", BACKLOG,
            "--start", "2026-07-01", "--quarters", "4", "--per-quarter", "2", "--used",
            str(used), "--entitled", "6", "--year-start", "2026-01-01", "--ics", str(ics)]
    document = run_json(*args)
    milestones = document["milestones"]
    assert [(m["date"], m["backlog_id"], m["catalogue_id"]) for m in milestones] == [
        # Highest first; then the High items, the better-fitting one first
        ("2026-07-24", "BL-102", "EX-07"),
        ("2026-09-08", "BL-103", "EX-05"),
        ("2026-10-26", "BL-101", "EX-08"),  # Saturday the 24th moves to Monday
        ("2026-12-09", "BL-104", "EX-06"),
        ("2027-01-25", "BL-105", "EX-01"),
        ("2027-03-09", "BL-106", "EX-03"),
        ("2027-04-23", "BL-108", "EX-02"),
        # BL-107 was served by the delivered EX-04; BL-109 fits nothing; every entry is booked
    ]
    assert milestones[0] == {
        "date": "2026-07-24", "quantity": "1",
        "description": "Accelerator: Data migration approaches (for BL-102: Migrate legacy case "
                       "history into Service Cloud)",
        "owner": "Tom Becker", "project": "BL-102", "catalogue_id": "EX-07",
        "backlog_id": "BL-102", "priority": 1, "score": milestones[0]["score"],
        "preparation": "Bulk API or a partner tool? How do we keep the original case numbers "
                       "and owners?"}
    assert document["contract_years"] == [
        {"start": "2026-01-01", "end": "2026-12-31", "entitled": 6, "used": 1, "planned": 4,
         "remaining": 1},
        {"start": "2027-01-01", "end": "2027-12-31", "entitled": 6, "used": 0, "planned": 3,
         "remaining": 3},
    ]
    assert document["warnings"] == [
        "1 of 2 sessions from 2027-04-01 to 2027-06-30: no backlog item has a matching "
        "catalogue entry left; add backlog items or catalogue entries"]
    events = list(Calendar.from_ical(ics.read_bytes()).walk("VEVENT"))
    assert len(events) == 7
    assert str(events[0]["SUMMARY"]) == "Accelerator: Data migration approaches"
    assert "Owner: Tom Becker" in str(events[0]["DESCRIPTION"])
    first_uids = [str(event["UID"]) for event in events]
    run_json(*args)  # exporting again gives the same UIDs: calendars update, not duplicate
    assert [str(e["UID"]) for e in Calendar.from_ical(ics.read_bytes()).walk("VEVENT")] == (
        first_uids)


def test_accelerators_plan_csv_and_table() -> None:
    base = ["accelerators", "plan", "--catalogue", CATALOGUE, "--backlog", BACKLOG, "--start",
            "2026-07-01", "--quarters", "2"]
    lines = run(*base, "--csv").splitlines()
    assert lines[0] == ("date,quantity,description,owner,project,catalogue_id,backlog_id,"
                        "priority,score,preparation")
    assert lines[1].startswith("2026-08-17,1,Accelerator: Data migration approaches")
    table = run(*base)
    assert "Sessions per contract year" in table and "Tom Becker" in table


def test_bad_input_raises_input_error_naming_the_option() -> None:
    with pytest.raises(InputError, match="'--method': 'bert' is not a method"):
        runner.invoke(app, ["accelerators", "match", "--catalogue", CATALOGUE, "--backlog",
                            BACKLOG, "--method", "bert"], catch_exceptions=False)
    with pytest.raises(InputError, match="'--start': 'July' is not a date"):
        runner.invoke(app, ["accelerators", "plan", "--catalogue", CATALOGUE, "--backlog",
                            BACKLOG, "--start", "July", "--quarters", "1"],
                      catch_exceptions=False)
    with pytest.raises(InputError, match="'--quarters': must be at least 1, got 0"):
        runner.invoke(app, ["accelerators", "plan", "--catalogue", CATALOGUE, "--backlog",
                            BACKLOG, "--start", "2026-01-01", "--quarters", "0"],
                      catch_exceptions=False)
    with pytest.raises(InputError, match="'--min-score'"):
        runner.invoke(app, ["accelerators", "match", "--catalogue", CATALOGUE, "--backlog",
                            BACKLOG, "--min-score", "high"], catch_exceptions=False)
    with pytest.raises(InputError, match="'--top': must be at least 1"):
        runner.invoke(app, ["accelerators", "match", "--catalogue", CATALOGUE, "--backlog",
                            BACKLOG, "--top", "0"], catch_exceptions=False)
    with pytest.raises(InputError, match="unknown tier 'Gold'"):
        runner.invoke(app, ["advisor", "signature", PROFILE, "--cases",
                            str(EXAMPLES / "support-cases.csv"), "--to", "Gold"],
                      catch_exceptions=False)


def test_service_errors_for_empty_files_and_unknown_figures(tmp_path: Path) -> None:
    cases = tmp_path / "cases.csv"
    cases.write_text("id,opened,severity,first_response_hours,resolution_hours\n")
    with pytest.raises(InputError, match="no support case"):
        success.upgrade_case(Path(PROFILE), cases)
    with pytest.raises(InputError, match="'Mission Critical' has unknown figures"):
        success.upgrade_case(Path(PROFILE), EXAMPLES / "support-cases.csv",
                             from_tier="Mission Critical")
    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text("id,title,description\n")
    with pytest.raises(InputError, match="the catalogue has no entry"):
        success.match_accelerators(str(catalogue), Path(BACKLOG))
    with pytest.raises(InputError, match="cannot write the calendar"):
        report = success.plan_accelerators(CATALOGUE, Path(BACKLOG), start=_day(), quarters=1)
        success.export_sessions(report.schedule, tmp_path / "missing" / "x.ics", _now())
    tiers = tmp_path / "tiers.yaml"
    tiers.write_text(
        "baseline: B\nupgrade_from: B\nupgrade_to: B\n"
        "csm_rule: {licence_above: '100', tier: L, tier_price_at_least: '1'}\ntiers:\n"
        "  - {name: B, price_pct: '0', response_hours: {sev1: 1, sev2: 1, sev3: 1, sev4: 1},"
        " accelerators_per_year: 0, admin_assist_hours_per_month: 0}\n"
        "  - {name: L, legacy: true, price_pct: '0.1', response_hours: {sev1: 1, sev2: 1, "
        "sev3: 1, sev4: 1}, accelerators_per_year: 0, admin_assist_hours_per_month: 0}\n")
    with pytest.raises(InputError, match="the CSM rule names tier 'L'"):
        # below the licence threshold the rule needs L's price, and L is not compared
        small = tmp_path / "small.yaml"
        small.write_text(SMALL_PROFILE)
        success.advise_tiers(small, tiers)


SMALL_PROFILE = """\
net_licence_annual: "10"
downtime_cost_per_hour: "1"
incidents_per_year: {sev1: "1", sev2: "1", sev3: "1", sev4: "1"}
impact_share: {sev1: "1", sev2: "1", sev3: "1", sev4: "1"}
consulting_rate_per_hour: "1"
accelerator_hours: "1"
accelerators_used_per_year: "1"
admin_assist_hours_used_per_month: "0"
admin_rate_per_hour: "1"
fte_cost_annual: "1"
"""


def _day() -> Any:
    from datetime import date
    return date(2026, 1, 1)


def _now() -> Any:
    from datetime import UTC, datetime
    return datetime(2026, 1, 1, tzinfo=UTC)


def test_the_program_exits_2_with_the_file_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = subprocess.run([sys.executable, "-m", "creditops", "advisor", "tiers", str(missing)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "nope.yaml: file not found" in result.stderr


def test_reasons_say_what_leaving_the_current_tier_saves(tmp_path: Path) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text(Path(PROFILE).read_text().replace("current_tier: Premier",
                                                         "current_tier: Signature"))
    document = run_json("advisor", "tiers", str(profile))
    assert document["current_tier"] == "Signature"
    # 555,250 − 386,500
    assert document["reasons"][-1] == ("Moving from your current Signature to Premier would "
                                       "save USD 168,750.00 a year in expected net cost.")
