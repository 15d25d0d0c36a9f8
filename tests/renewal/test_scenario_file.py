"""Scenario files: exact numbers, and bad files reported by key and line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from creditops.adapters.scenario_file import read_scenario
from creditops.core.errors import InputError
from creditops.core.trueup import DrawPer, GrowthModel, Pricing, Timing
from creditops.core.uplift import CapKind

EXAMPLES = Path(__file__).parents[2] / "examples"

MINIMAL = """\
currency: USD
term: {start: 2027-02-01, years: 3}
products:
  - id: sales-enterprise
    name: "Sales Cloud Enterprise"
    list_price: "175"
    quantity: 1000
    discount: "0.30"
    list_escalation: 0.07
    ramp: [1000, 1000, 1000]
    growth: {model: linear, annual: "0.10"}
clauses:
  - {id: A, pricing: list_no_discount, timing: monthly, coterm: true, backbill: false}
  - {id: D, pricing: capped_escalation, cap: "0.03", timing: quarterly, coterm: true,
     backbill: false}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(InputError) as caught:
        read_scenario(write(tmp_path, text))
    return [str(problem) for problem in caught.value.problems]


def test_the_issue_example_reads_exactly(tmp_path: Path) -> None:
    file = read_scenario(write(tmp_path, MINIMAL))
    product = file.scenario.products[0]
    assert product.list_escalation == Decimal("0.07")  # unquoted, still exact
    assert str(product.list_escalation) == "0.07"
    assert product.growth.annual == (Decimal("0.10"),) * 3
    assert product.ramp == (1000, 1000, 1000)
    assert [c.pricing for c in file.scenario.clauses] == [Pricing.LIST_NO_DISCOUNT,
                                                          Pricing.CAPPED_ESCALATION]
    assert file.scenario.clauses[1].timing is Timing.QUARTERLY
    assert file.simulation.paths == 10_000
    assert file.uplift is None and file.caps == ()


def test_shipped_examples_all_read() -> None:
    for path in sorted(EXAMPLES.glob("trueup-*.yaml")):
        assert read_scenario(path).scenario.products, path


def test_optional_sections(tmp_path: Path) -> None:
    text = MINIMAL.replace("growth: {model: linear, annual: \"0.10\"}",
                           "growth: {model: compound, annual: [\"0.1\", \"0.2\", \"0\"], "
                           "initial: 990.5, uncertainty: {distribution: triangular, low: \"0\", "
                           "mode: \"0.1\", high: \"0.3\", per: term}}")
    text += ("simulation: {paths: 500, seed: 7}\n"
             "uplift: {rate: \"0.07\", terms: 2, success_plan_pct: \"0.3\", cap_per_year: "
             "\"0.03\", cap_per_renewal: \"0.05\", cpi: [\"0.02\", \"0.025\"], cpi_margin: "
             "\"0.01\"}\n")
    file = read_scenario(write(tmp_path, text))
    growth = file.scenario.products[0].growth
    assert growth.model is GrowthModel.COMPOUND and growth.initial == Decimal("990.5")
    assert growth.uncertainty is not None and growth.uncertainty.per is DrawPer.TERM
    assert file.simulation.paths == 500 and file.simulation.seed == 7
    assert file.uplift is not None
    assert file.uplift.licence == 1000 * 12 * Decimal("122.5")
    assert file.uplift.term_years == 3
    assert [cap.kind for cap in file.caps] == [CapKind.PER_YEAR, CapKind.PER_RENEWAL, CapKind.CPI]


@pytest.mark.parametrize(("change", "expected"), [
    (("pricing: list_no_discount", "pricing: list_no_discont"),
     ", line 13, key 'clauses[0].pricing': Input should be 'list_no_discount'"),
    (('list_price: "175"', 'list_price: "-175"'),
     ", line 6, key 'products[0].list_price': a price cannot be negative"),
    (('discount: "0.30"', 'discount: "1"'),
     ", line 8, key 'products[0].discount': must be at least 0 and below 1"),
    (("term: {start: 2027-02-01, years: 3}\n", ""), "key 'term': missing required key 'term'"),
    (("discount:", "discont:"),
     "key 'products[0].discont': unknown key 'discont'; expected one of: discount, growth, id, "
     "list_escalation, list_price, name, quantity, ramp"),
    (('cap: "0.03", ', ""), "key 'clauses[1].cap': capped_escalation needs a cap"),
    (("quantity: 1000", "quantity: 1000.5"), "key 'products[0].quantity': 1000.5"),
    (("quantity: 1000", "quantity: lots"), "'lots' is not a number"),
    (("ramp: [1000, 1000, 1000]", "ramp: [1000, 1000]"),
     "key 'products[0].ramp': has 2 entries; the term has 3 years"),
    (("years: 3", "years: 0"), "key 'term.years': must be a whole number of years"),
    (('annual: "0.10"', 'annual: ["0.1", "0.2"]'), "key 'products[0].growth.annual': has 2"),
    (("id: D", "id: A"), "key 'clauses[1].id': id 'A' is used twice"),
    (("start: 2027-02-01", "start: someday"), "key 'term.start'"),
])
def test_bad_files_name_the_key(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    found = problems(tmp_path, MINIMAL.replace(*change))
    assert any(expected in problem for problem in found), found


def test_path_growth_must_cover_every_month(tmp_path: Path) -> None:
    text = MINIMAL.replace('growth: {model: linear, annual: "0.10"}',
                           "growth: {model: path, path: [1000, 1001], annual: \"0.1\", "
                           "uncertainty: {distribution: normal, sd: \"0.1\"}}")
    found = problems(tmp_path, text)
    assert any("growth.path': has 2 months; a 3-year term has 36" in p for p in found), found
    assert any("growth.annual': a path model takes no annual rate" in p for p in found)
    assert any("growth.uncertainty': applies to linear or compound" in p for p in found)


def test_problems_point_at_the_line(tmp_path: Path) -> None:
    found = problems(tmp_path, MINIMAL.replace('discount: "0.30"', 'discount: "1.5"'))
    assert found[0].startswith(f"{tmp_path / 'scenario.yaml'}, line 8, key 'products[0].discount'")


@pytest.mark.parametrize(("text", "expected"), [
    ("term: [1, 2\n", "not valid YAML"),
    ("- just\n- a list\n", "a scenario file is a mapping"),
    ("a: .nan\n", "is not a finite number"),
    ("a: 1:30.5\n", "line 1: not valid YAML: 1:30.5 is not a decimal number"),
    ("", "the file is empty"),
])
def test_unreadable_files(tmp_path: Path, text: str, expected: str) -> None:
    assert any(expected in problem for problem in problems(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_scenario(tmp_path / "nope.yaml")
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="not UTF-8 text"):
        read_scenario(tmp_path / "binary.yaml")
    with pytest.raises(InputError, match="cannot read the file"):
        read_scenario(tmp_path)


def test_uplift_and_simulation_sections_are_checked(tmp_path: Path) -> None:
    text = MINIMAL + ("simulation: {paths: 0}\n"
                      "uplift: {rate: \"-1\", terms: 0, success_plan_pct: \"-0.1\", "
                      "cap_per_year: \"-0.01\", cpi: [\"-1\"], licence: \"-5\"}\n")
    found = "\n".join(problems(tmp_path, text))
    for key in ("simulation.paths", "uplift.rate", "uplift.terms", "uplift.success_plan_pct",
                "uplift.cap_per_year", "uplift.cpi", "uplift.licence"):
        assert f"key '{key}'" in found, key
