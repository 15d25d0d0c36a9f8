"""`creditops partners …` end to end on the shipped example, locks and clawbacks included."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from creditops.services import partners as service
from tests.command_line import run as run_command
from tests.partners.helpers import write_events_csv

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "partners"


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        *args: str) -> tuple[int, str, str]:
    return run_command(capsys, monkeypatch, "partners", *args)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A private copy of the example (locks are written next to the program)."""
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE, folder)
    return folder


def inputs(folder: Path) -> list[str]:
    return [str(folder / "program.yaml"), "--partners", str(folder / "partners.csv"),
            "--events", str(folder / "events.csv")]


def test_run_prints_the_payouts_as_json_with_statements_and_workbook(
        example: Path, capsys, monkeypatch) -> None:
    code, out, err = run(capsys, monkeypatch, "run", *inputs(example), "--json",
                         "--statements", str(example / "statements"),
                         "--xlsx", str(example / "payouts.xlsx"))
    assert code == 0, err
    document = json.loads(out)
    assert document["program"] == "fy27-q1"
    assert document["period"] == {"start": "2027-02-01", "end": "2027-04-30"}
    assert len(document["partners"]) == 120
    total = Decimal(document["total"])
    assert total == sum(Decimal(item["total"]) for item in document["partners"])
    assert total == sum(Decimal(amount) for amount in document["by_rule"].values())
    assert total == sum(Decimal(amount) for amount in document["by_segment"].values())
    for item in document["partners"]:
        assert Decimal(item["total"]) == sum(Decimal(line["amount"]) for line in item["lines"])
        assert all({"rule", "amount", "explain"} <= set(line) for line in item["lines"])
    assert set(document["by_rule"]) >= {"rebate", "ten-deals", "tiers", "growth", "behaviour",
                                        "per_partner_cap", "clawback"}
    assert "wrote 120 statements" in err
    first = document["partners"][0]
    page = (example / "statements" / f"{first['partner_id']}.html").read_text(encoding="utf-8")
    assert first["name"] in page and first["lines"][0]["explain"] in page
    assert (example / "statements" / "index.html").exists()
    rows = (example / "statements" / "payouts.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "partner_id,name,segment,rule,amount,explain"
    assert len(rows) == 1 + sum(len(item["lines"]) for item in document["partners"])
    book = load_workbook(example / "payouts.xlsx")
    assert book.sheetnames == ["Partners", "Lines", "By rule", "By segment"]
    assert Decimal(str(book["By rule"].cell(book["By rule"].max_row, 2).value)) == total


def test_run_prints_tables_for_people(example: Path, capsys, monkeypatch) -> None:
    code, out, _ = run(capsys, monkeypatch, "run", *inputs(example), "--top", "3")
    assert code == 0
    assert "fy27-q1 2027-02-01..2027-04-30" in out and "By segment" in out
    assert "… 117 more partners" in out


def test_the_engines_agree_on_the_example() -> None:
    paths = (EXAMPLE / "program.yaml", EXAMPLE / "partners.csv", EXAMPLE / "events.csv")
    documents: dict[str, Any] = {}
    for engine in service.ENGINES:
        run_result = service.run_program(*paths, engine=engine).result
        diagnosis = service.diagnose_program(*paths, engine=engine)
        simulation = service.simulate_program(*paths, periods=2, engine=engine)
        documents[engine] = (run_result, diagnosis, simulation)
    assert documents["columnar"] == documents["reference"]


def test_diagnose_names_the_donts_of_the_example(example: Path, capsys, monkeypatch) -> None:
    code, out, _ = run(capsys, monkeypatch, "diagnose", *inputs(example), "--json")
    assert code == 0
    document = json.loads(out)
    assert document["history_period"] == {"start": "2026-11-04", "end": "2027-01-31"}
    codes = {finding["code"] for finding in document["findings"]}
    assert {"per-deal-rebate", "unobtainable-goal", "payout-concentration"} <= codes
    emerging = next(item for item in document["attainability"]
                    if item["rule"] == "ten-deals" and item["segment"] == "emerging")
    assert emerging["reached"] == 0
    code, out, _ = run(capsys, monkeypatch, "diagnose", *inputs(example))
    assert code == 0 and "Attainability" in out and "per-deal-rebate" in out


def test_simulate_replays_the_last_periods(example: Path, capsys, monkeypatch) -> None:
    code, out, _ = run(capsys, monkeypatch, "simulate", *inputs(example), "--periods", "3",
                       "--json")
    assert code == 0
    document = json.loads(out)
    assert [item["period"]["end"] for item in document["periods"]] == [
        "2026-08-06", "2026-11-03", "2027-01-31"]
    assert Decimal(document["total_cost"]) == sum(Decimal(item["cost"])
                                                  for item in document["periods"])
    code, out, _ = run(capsys, monkeypatch, "simulate", *inputs(example), "--periods", "1",
                       "--through", "2026-12-31")
    assert code == 0 and "2026-10-04..2026-12-31" in out


def test_a_locked_period_is_never_recomputed_silently(example: Path, capsys,
                                                      monkeypatch) -> None:
    code, first, err = run(capsys, monkeypatch, "run", *inputs(example), "--json", "--lock")
    assert code == 0 and "locked period 2027-02-01..2027-04-30" in err
    lock = example / ".creditops-locks" / "fy27-q1" / "2027-02-01..2027-04-30.json"
    stored = json.loads(lock.read_text(encoding="utf-8"))
    assert stored["inputs"]["program"] and stored["reversed_deals"]
    code, again, err = run(capsys, monkeypatch, "run", *inputs(example), "--json")
    assert code == 0 and again == first and "the result comes from the lock" in err
    # A late deal in the locked period: the lock stands, the change is reported.
    with (example / "events.csv").open("a", encoding="utf-8") as handle:
        handle.write("X1,P00001,2027-03-01,deal_closed,99999.00,\n")
    code, later, err = run(capsys, monkeypatch, "run", *inputs(example), "--json")
    assert code == 0 and later == first and "inputs changed since (events)" in err
    code, _, err = run(capsys, monkeypatch, "run", *inputs(example), "--recompute")
    assert code == 2 and "a locked period is never recomputed" in err
    lines = (example / "events.csv").read_text(encoding="utf-8").splitlines()[:-1]
    (example / "events.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = run(capsys, monkeypatch, "run", *inputs(example), "--recompute")
    assert code == 0 and "the result matches the lock" in err
    code, _, err = run(capsys, monkeypatch, "run", *inputs(example), "--recompute",
                       "--lock-dir", str(example / "elsewhere"))
    assert code == 0 and "is not locked: computed" in err


def _program(folder: Path, name: str, start: str, end: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(f"""program: {name}
currency: USD
period: {{start: {start}, end: {end}}}
segments:
  growth: {{tier: [Gold]}}
rules:
  - {{id: rebate, type: per_deal_rebate, segments: [growth], rate: "0.10"}}
""", encoding="utf-8")
    return path


def test_a_reversal_recorded_after_the_lock_is_clawed_back_once(tmp_path: Path) -> None:
    partners = tmp_path / "partners.csv"
    partners.write_text("partner_id,name,tier,type,region\nG1,Gold One,Gold,MSP,NA\n",
                        encoding="utf-8")
    rows = [["d1", "G1", "2027-02-10", "deal_closed", "1000", None],
            ["d2", "G1", "2027-03-10", "deal_closed", "500", None]]
    events = write_events_csv(tmp_path / "events.csv", rows)
    q1 = _program(tmp_path, "q1", "2027-02-01", "2027-04-30")
    q2 = _program(tmp_path, "q2", "2027-05-01", "2027-07-31")
    q3 = _program(tmp_path, "q3", "2027-08-01", "2027-10-31")
    locked = service.run_program(q1, partners, events, lock=True).result
    assert locked.total == Decimal("150.00")
    # Recorded later, dated inside the locked quarter: q1 keeps its result...
    write_events_csv(events, [*rows, ["r1", "G1", "2027-04-20", "deal_reversed", None, "d1"]])
    assert service.run_program(q1, partners, events).result.total == Decimal("150.00")
    # ...and q2 claws the rebate back.
    outcome = service.run_program(q2, partners, events, lock=True)
    lines = outcome.result.partners[0].lines
    assert [(line.rule, line.amount) for line in lines] == [
        ("rebate", Decimal("0.00")), ("clawback", Decimal("-100.00"))]
    assert any("recorded after the lock (d1)" in note for note in outcome.notes)
    # Once: q3 does not claw it back again.
    assert service.run_program(q3, partners, events).result.total == Decimal("0.00")


def test_bad_input_exits_2_naming_the_problem(example: Path, capsys, monkeypatch,
                                              tmp_path: Path) -> None:
    program = example / "program.yaml"
    program.write_text(program.read_text(encoding="utf-8").replace(
        "type: target", "type: goal"), encoding="utf-8")
    code, _, err = run(capsys, monkeypatch, "run", *inputs(example))
    assert code == 2 and "rule 'ten-deals': unknown rule type 'goal'" in err
    shutil.copy(EXAMPLE / "program.yaml", program)
    with (example / "events.csv").open("a", encoding="utf-8") as handle:
        handle.write("Z1,P99999,2027-03-01,email_sent,,\n")
    code, _, err = run(capsys, monkeypatch, "run", *inputs(example))
    assert code == 2 and "partner 'P99999' is not in the partners file" in err
    code, _, err = run(capsys, monkeypatch, "run", *inputs(example), "--engine", "fast")
    assert code == 2 and "not an engine" in err
    code, _, err = run(capsys, monkeypatch, "simulate", *inputs(example), "--periods", "0")
    assert code == 2 and "--periods must be at least 1" in err
    code, _, err = run(capsys, monkeypatch, "simulate", *inputs(example), "--through", "soon")
    assert code == 2 and "'soon' is not a date" in err
    empty = write_events_csv(tmp_path / "empty.csv", [])
    code, _, err = run(capsys, monkeypatch, "simulate", str(program), "--partners",
                       str(example / "partners.csv"), "--events", str(empty))
    assert code == 2 and "no event to replay" in err
    broken = example / ".creditops-locks" / "fy27-q1"
    broken.mkdir(parents=True)
    (broken / "2027-02-01..2027-04-30.json").write_text("{}", encoding="utf-8")
    code, _, err = run(capsys, monkeypatch, "run", *inputs(example))
    assert code == 2 and "unreadable lock file" in err


def test_a_segment_nobody_matches_is_a_warning(example: Path, capsys, monkeypatch) -> None:
    program = example / "program.yaml"
    program.write_text(program.read_text(encoding="utf-8").replace(
        "emerging: {tier: [Registered]}", "emerging: {tier: [Registered]}\n"
        "  vip: {tier: [Diamond]}"), encoding="utf-8")
    code, _, err = run(capsys, monkeypatch, "run", *inputs(example), "--json")
    assert code == 0 and "segment 'vip' matches no partner in the partners file" in err
