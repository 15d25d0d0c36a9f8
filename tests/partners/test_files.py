"""Program, partners and events files: exact numbers in, clear errors out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from creditops.adapters.partner_events import (
    inspect_events,
    read_events,
)
from creditops.adapters.partner_files import (
    load_program,
    read_partners,
    segment_attribute_problems,
)
from creditops.core.errors import InputError
from creditops.core.incentives import Improvement, PerDealRebate, Points, Tiered
from tests.partners.helpers import write_events_csv

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "partners" / "program.yaml"
HEAD = """program: p
currency: USD
period: {start: 2027-02-01, end: 2027-04-30}
segments:
  growth: {tier: [Gold]}
"""


def program_problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "program.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_program(path)
    return [f"{problem.row}|{problem.column}|{problem.reason}"
            for problem in caught.value.problems]


def test_the_example_program_reads_exactly() -> None:
    program = load_program(EXAMPLE)
    assert program.id == "fy27-q1" and program.version == "1"
    rebate, _, tiers, growth, behaviour = program.rules
    assert isinstance(rebate, PerDealRebate) and rebate.rate == Decimal("0.02")
    assert isinstance(tiers, Tiered) and tiers.tiers[2].start == Decimal(1000000)
    assert isinstance(growth, Improvement) and growth.min_gain == Decimal("0.10")
    assert isinstance(behaviour, Points) and behaviour.cap_points == 2000
    assert program.caps.per_partner == Decimal(50000)
    assert program.period.end == date(2027, 4, 30)


def test_unquoted_numbers_are_exact_too(tmp_path: Path) -> None:
    path = tmp_path / "program.yaml"
    path.write_text(HEAD + "rules:\n  - {id: r, type: per_deal_rebate, segments: [all], "
                    "rate: 0.1}\n", encoding="utf-8")
    rule = load_program(path).rules[0]
    assert isinstance(rule, PerDealRebate) and rule.rate == Decimal("0.1")


def test_an_unknown_rule_type_names_the_rule_and_line(tmp_path: Path) -> None:
    assert program_problems(tmp_path, HEAD + """rules:
  - {id: r, type: per_deal_rebate, segments: [all], rate: "0.01"}
  - {id: bonus, type: kicker, segments: [all]}
  - {segments: [all]}
""") == [
        "8|rules[1].type|rule 'bonus': unknown rule type 'kicker' (expected one of: "
        "per_deal_rebate, target, tiered, improvement, points)",
        "9|rules[2].type|rules[2]: missing required key 'type' (expected one of: "
        "per_deal_rebate, target, tiered, improvement, points)"]


def test_a_typo_names_the_key_and_what_was_expected(tmp_path: Path) -> None:
    found = program_problems(tmp_path, HEAD + """rules:
  - id: ten
    type: target
    segments: [growth]
    metric: deals
    treshold: 10
    bonus: "5000"
""")
    assert found == [
        "7|rules[0].threshold|rule 'ten': missing required key 'threshold'",
        "11|rules[0].treshold|rule 'ten': unknown key 'treshold'; expected one of: bonus, id, "
        "metric, segments, threshold, type"]


def test_meaning_problems_carry_their_line(tmp_path: Path) -> None:
    found = program_problems(tmp_path, HEAD + """timezone: Mars/Olympus
rules:
  - id: tiers
    type: tiered
    segments: [growth, partners]
    metric: revenue
    tiers:
      - {from: "0", rate: "0"}
      - {from: "1000", rate: "-0.01"}
      - {from: "500", rate: "0.02"}
""")
    assert found == [
        "6|timezone|unknown time zone 'Mars/Olympus' (an IANA name, e.g. Europe/Paris)"]
    found = program_problems(tmp_path, HEAD + """rules:
  - id: tiers
    type: tiered
    segments: [growth, partners]
    metric: revenue
    tiers:
      - {from: "0", rate: "0"}
      - {from: "1000", rate: "-0.01"}
      - {from: "500", rate: "0.02"}
""")
    assert found == [
        "9|rules[0].segments|rule 'tiers': segment 'partners' is not defined (defined: all, "
        "growth)",
        "13|rules[0].tiers[1].rate|rule 'tiers': must not be negative (got -0.01)",
        "14|rules[0].tiers[2].from|rule 'tiers': tiers are not in ascending order: 500 comes "
        "after 1000"]


def test_top_level_shape_problems(tmp_path: Path) -> None:
    assert program_problems(tmp_path, "- a list\n") == [
        "None|None|a program file is a mapping (program:, period:, rules: …)"]
    found = program_problems(tmp_path, "program: p\ncurrency: usd\nperiod: {start: "
                                       "2027-02-01, end: 2027-04-30}\nrules: []\nextra: 1\n")
    assert [line.split("|")[1] for line in found] == ["currency", "rules", "extra"]


def test_partners_file(tmp_path: Path) -> None:
    path = tmp_path / "partners.csv"
    path.write_text("partner_id,name,tier,type,region,vertical\n"
                    "P1, Acme ,Gold,MSP,EMEA,health\nP2,Beta,Silver,Reseller,NA,\n",
                    encoding="utf-8")
    first, second = read_partners(path)
    assert (first.partner_id, first.name) == ("P1", "Acme")
    assert first.attributes == {"tier": "Gold", "type": "MSP", "region": "EMEA",
                                "vertical": "health"}
    assert second.attributes["vertical"] == ""


def test_partners_file_problems(tmp_path: Path) -> None:
    path = tmp_path / "partners.csv"
    path.write_text("partner_id,name,tier\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_partners(path)
    assert [problem.column for problem in caught.value.problems] == ["type", "region"]
    path.write_text("partner_id,name,tier,type,region\nP1,A,Gold,MSP,NA\n,B,Gold,MSP,NA\n"
                    "P1,C,Gold,MSP,NA\nP3,D,Gold\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_partners(path)
    assert [str(problem).split(": ", 1)[1] for problem in caught.value.problems] == [
        "missing partner_id", "partner 'P1' is listed twice (first at row 2)",
        "3 fields where the header has 5"]
    with pytest.raises(InputError, match="file not found"):
        read_partners(tmp_path / "absent.csv")


def test_segments_must_match_on_columns_the_partners_file_has(tmp_path: Path) -> None:
    program = load_program(EXAMPLE)
    path = tmp_path / "partners.csv"
    path.write_text("partner_id,name,tier,type,region\nP1,A,Gold,MSP,NA\n", encoding="utf-8")
    assert segment_attribute_problems(program, read_partners(path), "p.yaml") == []
    changed = tmp_path / "program.yaml"
    changed.write_text(EXAMPLE.read_text(encoding="utf-8").replace(
        "strategic: {tier: [Platinum]}", "strategic: {level: [Platinum]}"), encoding="utf-8")
    found = segment_attribute_problems(load_program(changed), read_partners(path), "p.yaml")
    assert [str(problem) for problem in found] == [
        "p.yaml, column 'segments.strategic.level': segment 'strategic' matches on 'level', "
        "which is not a column of the partners file (region, tier, type)"]


def test_events_file_columns(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        inspect_events(write_events_csv(tmp_path / "e.csv", [], header=("id", "kind")))
    assert [problem.column for problem in caught.value.problems] == ["partner_id", "at"]
    with pytest.raises(InputError, match="file not found"):
        inspect_events(tmp_path / "none.parquet")
    floats = tmp_path / "floats.parquet"
    pq.write_table(pa.table({"id": ["a"], "partner_id": ["P1"], "at": ["2027-02-01"],
                             "kind": ["deal_closed"], "amount": [1.5]}), floats)
    with pytest.raises(InputError) as caught:
        inspect_events(floats)
    assert str(caught.value.problems[0]).endswith(
        "column type double cannot hold amount (floating-point amounts are inexact: store "
        "them as decimals or text)")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(InputError, match="cannot read the Parquet file"):
        inspect_events(broken)


def test_typed_parquet_columns_read_as_the_reference_expects(tmp_path: Path) -> None:
    path = tmp_path / "typed.parquet"
    pq.write_table(pa.table({
        "id": pa.array([1, 2], pa.int64()),
        "partner_id": pa.array(["P1", "P1"]).dictionary_encode(),
        "at": pa.array([date(2027, 2, 1), date(2027, 2, 2)], pa.date32()),
        "kind": ["deal_closed", "email_sent"],
        "amount": pa.array([Decimal("10.50"), None], pa.decimal128(10, 2)),
        "extra": ["x", "y"]}), path)
    events = inspect_events(path)
    assert events.columns == {"id": "integer", "partner_id": "text", "at": "date",
                              "kind": "text", "amount": "decimal"}
    parsed = read_events(events, "UTC", ("deal_closed", "email_sent"))
    assert [(event.id, event.on, event.amount, event.ref) for event in parsed] == [
        ("1", date(2027, 2, 1), Decimal("10.50"), None), ("2", date(2027, 2, 2), None, None)]


def test_a_csv_row_with_missing_fields_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("id,partner_id,at,kind\ne1,P1,2027-02-01\n", encoding="utf-8")
    with pytest.raises(InputError, match="3 fields where the header has 4"):
        read_events(inspect_events(path), "UTC", ("email_sent",))
