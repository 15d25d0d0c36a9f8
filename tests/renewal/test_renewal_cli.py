"""The renewal commands end to end, on the shipped examples."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import get_args

import pytest
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from creditops.cli.renewal import BriefFormatName
from creditops.core.errors import InputError
from creditops.services.errors import NotFoundError
from creditops.services.renewal_brief import BriefFormat


def run(runner: CliRunner, cli: typer.Typer, *args: str) -> str:
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_model_json_follows_the_documented_shape(runner: CliRunner, cli: typer.Typer,
                                                 examples: Path) -> None:
    document = json.loads(run(runner, cli, "trueup", "model",
                              str(examples / "trueup-seed.yaml"), "--json"))
    clauses = {clause["id"]: clause for clause in document["clauses"]}
    assert list(clauses) == ["A", "B", "C", "D"]
    first = clauses["A"]
    for key in ("trueup_total", "trueup_by_year", "beyond_term", "original_contract_value",
                "trueup_pct_of_original", "effective_discount", "products"):
        assert key in first
    assert first["trueup_total"] == "959994.88"
    assert first["trueup_by_year"] == ["96950.00", "314912.50", "548132.38"]
    assert first["original_contract_value"] == "4410000.00"
    assert len(first["trueup_pct_of_original"].split(".")[1]) >= 6
    assert first["products"]["sales-enterprise"]["trueup_total"] == "959994.88"
    assert document["spread"] == "315399.88"
    assert Decimal(document["spread"]) == (Decimal(first["trueup_total"])
                                           - Decimal(clauses["C"]["trueup_total"]))


def test_model_table_and_workbook(runner: CliRunner, cli: typer.Typer, examples: Path,
                                  tmp_path: Path) -> None:
    out = tmp_path / "seed.xlsx"
    output = run(runner, cli, "trueup", "model", str(examples / "trueup-portfolio.yaml"),
                 "--xlsx", str(out))
    assert "Spread: clause" in output and "Per product" in output
    workbook = load_workbook(out)
    assert workbook.sheetnames == ["Clauses", "Products", "By month", "Adds"]
    clauses = workbook["Clauses"]
    assert [cell.value for cell in clauses[1]][:3] == ["clause", "name", "pricing"]
    assert clauses.max_row == 5
    assert workbook["By month"].max_row == 37


def test_simulate_and_optimise(runner: CliRunner, cli: typer.Typer, examples: Path) -> None:
    seed = str(examples / "trueup-seed.yaml")
    simulated = json.loads(run(runner, cli, "trueup", "simulate", seed, "--paths", "500",
                               "--seed", "3", "--json"))
    assert simulated["paths"] == 500
    for clause in simulated["clauses"]:
        assert Decimal(clause["p10"]) <= Decimal(clause["p50"]) <= Decimal(clause["p90"])
    assert "P50" in run(runner, cli, "trueup", "simulate", str(examples /
                                                                "trueup-portfolio.yaml"),
                        "--paths", "200")
    optimised = json.loads(run(runner, cli, "trueup", "optimise", seed, "--paths", "500",
                               "--json", "--points", "5"))
    best = {c["id"]: c["products"]["sales-enterprise"]["best_quantity"]
            for c in optimised["clauses"]}
    assert best["A"] >= best["C"]
    assert "Best quantity" in run(runner, cli, "trueup", "optimise", seed, "--paths", "300",
                                  "--step", "10")


def test_uplift_options_and_scenario(runner: CliRunner, cli: typer.Typer,
                                     examples: Path) -> None:
    document = json.loads(run(runner, cli, "uplift", "--licence", "1000000", "--uplift", "0.07",
                              "--terms", "3", "--term-years", "1", "--success-plan-pct", "0.30",
                              "--cap-per-year", "0.03", "--cpi", "0.02,0.025", "--json"))
    uncapped, capped, cpi = document["paths"]
    assert uncapped["licence_total"] == "3214900.00"  # 1,000,000 × (1 + 1.07 + 1.07²)
    assert capped["licence_total"] == "3090900.00"  # 1 + 1.03 + 1.03²
    assert cpi["cap"] == "CPI [0.02, 0.025]"
    assert uncapped["success_plan_total"] == "964470.00"
    output = run(runner, cli, "uplift", "--scenario", str(examples / "trueup-seed.yaml"),
                 "--by-year")
    assert "per renewal" in output and "By year" in output


def test_uplift_errors(runner: CliRunner, cli: typer.Typer, examples: Path) -> None:
    result = runner.invoke(cli, ["uplift"])
    assert isinstance(result.exception, InputError)
    assert "--licence" in str(result.exception)
    result = runner.invoke(cli, ["uplift", "--licence", "abc"])
    assert isinstance(result.exception, InputError)
    result = runner.invoke(cli, ["uplift", "--licence", "10", "--success-plan-pct", "-1"])
    assert "--success-plan-pct" in str(result.exception)
    result = runner.invoke(cli, ["uplift", "--scenario",
                                 str(examples / "trueup-portfolio.yaml").replace(
                                     "portfolio", "late-settlement")])
    assert "no uplift section" in str(result.exception)


def test_clauses_check(runner: CliRunner, cli: typer.Typer, examples: Path) -> None:
    document = json.loads(run(runner, cli, "clauses", "check", str(examples / "trueup-seed.yaml"),
                              "--text", str(examples / "clauses-vendor.txt"), "--clause", "C",
                              "--json"))
    items = {item["key"]: item for item in document["items"]}
    assert len(items) == 12
    assert items["ambiguous_pricing"]["mark"] == "missing"
    assert "then-current pricing" in items["ambiguous_pricing"]["evidence"][0]["sentence"]
    assert items["ambiguous_pricing"]["exposure"] == "315399.88"
    assert items["growth_modelling"]["mark"] == "present"
    output = run(runner, cli, "clauses", "check", "--text",
                 str(examples / "clauses-negotiated.txt"))
    assert "present" in output
    result = runner.invoke(cli, ["clauses", "check", str(examples / "trueup-seed.yaml"),
                                 "--clause", "Z"])
    assert isinstance(result.exception, NotFoundError)
    result = runner.invoke(cli, ["clauses", "check", str(examples / "trueup-seed.yaml"),
                                 "--scenario", str(examples / "trueup-portfolio.yaml")])
    assert isinstance(result.exception, InputError)
    table = run(runner, cli, "clauses", "check", "--scenario",
                str(examples / "trueup-portfolio.yaml"), "--history")
    assert "missing" in table


def test_history(runner: CliRunner, cli: typer.Typer, examples: Path) -> None:
    csv = str(examples / "trueup-settlements.csv")
    document = json.loads(run(runner, cli, "trueup", "history", csv, "--scenario",
                              str(examples / "trueup-seed.yaml"), "--json"))
    assert document["original_contract_value"] == "4410000.00"
    assert len(document["disputes"]) == 1
    assert document["settlements"][0]["months"] == 33  # 2027-05-01 to the term end 2030-01-31
    output = run(runner, cli, "trueup", "history", csv, "--original-value", "1000000",
                 "--term-end", "2030-01-31")
    assert "Cumulative true-up cost" in output and "Disputed" in output
    result = runner.invoke(cli, ["trueup", "history", csv, "--term-end", "31/01/2030"])
    assert isinstance(result.exception, InputError)
    result = runner.invoke(cli, ["trueup", "history", csv, "--original-value", "-1"])
    assert isinstance(result.exception, InputError)


def test_commit_size(runner: CliRunner, cli: typer.Typer, examples: Path) -> None:
    usage = str(examples / "flex-pilot-usage.csv")
    document = json.loads(run(runner, cli, "commit", "size", "--usage-csv", usage, "--paths",
                              "400", "--carry-forward", "0.5", "--unit-value", "0.005",
                              "--json"))
    assert document["pilot"]["days"] == 90
    volume = Decimal(document["recommended"]["volume"])
    percentiles = document["first_year_consumption"]
    assert Decimal(percentiles["p10"]) <= volume <= Decimal(percentiles["p50"])
    validities = [option["validity"] for option in document["recommended"]["lapse"]]
    assert validities == ["12 months", "18 months", "24 months", "12 months + carry-forward"]
    output = run(runner, cli, "commit", "size", "--usage-csv", usage, "--paths", "300",
                 "--pack-size", "100000", "--unit-value", "0.005")
    assert "Recommended commitment" in output
    result = runner.invoke(cli, ["commit", "size", "--usage-csv", usage, "--confidence", "2"])
    assert isinstance(result.exception, InputError)


def test_renewal_report_in_three_formats(runner: CliRunner, cli: typer.Typer, examples: Path,
                                         tmp_path: Path) -> None:
    common = ["report", "renewal", "--scenario", str(examples / "trueup-seed.yaml"),
              "--history", str(examples / "trueup-settlements.csv"), "--text",
              str(examples / "clauses-vendor.txt"), "--clause", "C", "--paths", "300",
              "--as-of", "2029-11-15"]
    for fmt in ("html", "pdf", "xlsx"):
        out = tmp_path / f"brief.{fmt}"
        assert "Renewal brief written" in run(runner, cli, *common, "--format", fmt, "--out",
                                              str(out))
        assert out.stat().st_size > 1000
    html = (tmp_path / "brief.html").read_text(encoding="utf-8")
    assert "The asks" in html and "<svg" in html and "True-up history" in html
    assert (tmp_path / "brief.pdf").read_bytes().startswith(b"%PDF")
    assert "Asks" in load_workbook(tmp_path / "brief.xlsx").sheetnames


def test_brief_format_option_offers_every_format_of_the_service(runner: CliRunner,
                                                                 cli: typer.Typer) -> None:
    assert set(get_args(BriefFormatName)) == {fmt.value for fmt in BriefFormat}
    result = runner.invoke(cli, ["report", "renewal", "--out", "x.doc", "--format", "doc"])
    assert result.exit_code == 2 and "doc" in result.output


HEAVY = ("numpy", "openpyxl", "weasyprint", "sklearn", "jinja2", "pydantic", "yaml",
         "icalendar", "duckdb", "sqlalchemy", "apprise", "ibis", "pyarrow")


@pytest.mark.parametrize("area", ["ledger", "consumption", "monitoring", "governance", "trueup",
                                  "renewal", "success", "partners"])
def test_cli_modules_import_no_heavy_library(area: str) -> None:
    """Every area's command module loads its services only when a command runs, so that
    `creditops --help` stays quick. The area's module is imported on its own
    (creditops/cli/__init__.py would import every other area too)."""
    code = (
        "import sys, types, creditops\n"
        "package = types.ModuleType('creditops.cli')\n"
        "package.__path__ = [creditops.__path__[0] + '/cli']\n"
        "sys.modules['creditops.cli'] = package\n"
        f"import creditops.cli.{area}\n"
        f"print(' '.join(name for name in {HEAVY!r} if name in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    assert loaded == []
