"""Reading the tier catalogue, profiles and CSV files: exact numbers, clear errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from creditops.adapters import success_files as files
from creditops.adapters import success_tiers as tiers
from creditops.core.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

PROFILE = """\
net_licence_annual: "1000000"
downtime_cost_per_hour: 2500.50
incidents_per_year: {sev1: 2, sev2: "10", sev3: "20", sev4: "30"}
impact_share: {sev1: "1", sev2: 0.3, sev3: "0.1", sev4: "0"}
consulting_rate_per_hour: "200"
accelerator_hours: "3"
accelerators_used_per_year: "4"
admin_assist_hours_used_per_month: "0"
admin_rate_per_hour: "80"
fte_cost_annual: "150000"
"""


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def problems(error: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [str(problem) for problem in error.value.problems]


def load(tmp_path: Path, text: str = PROFILE) -> tiers.AdvisorInputs:
    return tiers.load_profile(write(tmp_path, "profile.yaml", text), tiers.load_tier_catalogue())


# ---------------------------------------------------------------------------------------------
# Tier catalogue and profile


def test_shipped_catalogue_carries_sources_and_confidence() -> None:
    catalogue = tiers.load_tier_catalogue()
    assert catalogue.names() == ["Standard", "Premier", "Premier+", "Signature",
                                 "Mission Critical", "US Premier Plus"]
    assert catalogue.baseline == "Standard"
    assert catalogue.csm_rule.licence_above == Decimal("1000000")
    assert catalogue.csm_rule.tier_price_at_least == Decimal("100000")
    for tier in catalogue.tiers:
        for key, figure in tiers._tier_figures(tier):
            assert figure.source, f"{tier.name} {key} has no source"
            assert figure.confidence in ("high", "medium", "low", "unknown", "user")
    premier = catalogue.tiers[1]
    assert premier.price_pct.value == Decimal("0.30")
    assert premier.accelerators_per_year.value == "unlimited"


def test_profile_numbers_are_exact_decimals_even_unquoted(tmp_path: Path) -> None:
    inputs = load(tmp_path)
    assert inputs.profile.downtime_cost_per_hour == Decimal("2500.50")
    assert str(inputs.profile.impact_share["sev2"]) == "0.3"
    assert inputs.profile.incidents_per_year["sev1"] == Decimal(2)
    # current tiers only: legacy ones wait for a current_tier that names them
    assert [tier.name for tier in inputs.tiers] == ["Standard", "Premier", "Premier+",
                                                    "Signature"]
    assert inputs.all_tiers["Mission Critical"] is None
    premier = inputs.tiers[1]
    assert premier.accelerators_per_year is None and premier.price_pct == Decimal("0.30")
    listed = {(a.tier, a.key) for a in inputs.assumptions}
    assert ("Premier", "price_pct") in listed and ("Standard", "price_pct") not in listed


def test_overrides_replace_catalogue_figures(tmp_path: Path) -> None:
    inputs = load(tmp_path, PROFILE + """\
tier_overrides:
  Premier: {price_pct: "0.22", accelerators_per_year: "12", response_hours: {sev2: "1.5"}}
  Signature: {accelerators_per_year: unlimited, other_value: "50000"}
""")
    tiers = {tier.name: tier for tier in inputs.tiers}
    assert tiers["Premier"].price_pct == Decimal("0.22")
    assert tiers["Premier"].accelerators_per_year == Decimal(12)
    assert tiers["Premier"].response_hours["sev2"] == Decimal("1.5")
    assert tiers["Premier"].response_hours["sev3"] == Decimal(4)
    assert tiers["Signature"].other_value == Decimal(50000)
    listed = {(a.tier, a.key) for a in inputs.assumptions}
    assert ("Premier", "price_pct") not in listed
    assert ("Premier", "response_hours.sev2") not in listed
    assert ("Premier", "response_hours.sev3") in listed


def test_legacy_tier_is_compared_when_it_is_the_current_one(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        load(tmp_path, PROFILE + "current_tier: US Premier Plus\n")
    assert "tier 'US Premier Plus' has no value for price_pct" in problems(error)[0]
    inputs = load(tmp_path, PROFILE + """\
current_tier: US Premier Plus
tier_overrides: {US Premier Plus: {price_pct: "0.33"}}
""")
    assert [tier.name for tier in inputs.tiers][-1] == "US Premier Plus"
    assert inputs.current_tier == "US Premier Plus"


@pytest.mark.parametrize(("change", "message"), [
    (("sev3: \"20\", ", ""), "key 'incidents_per_year.sev3': missing"),
    (("admin_rate_per_hour: \"80\"", "admin_rate_per_hour: \"-80\""),
     "line 9, key 'admin_rate_per_hour': must not be negative (got -80)"),
    (("sev2: 0.3", "sev2: 30"),
     "key 'impact_share.sev2': must be a share between 0 and 1, 0.3 for 30% (got 30)"),
    (("fte_cost_annual", "fte_cost_anual"), "key 'fte_cost_anual': unknown key"),
    (("consulting_rate_per_hour: \"200\"", "consulting_rate_per_hour: yes"),
     "key 'consulting_rate_per_hour': True is not an exact decimal"),
    (("accelerator_hours: \"3\"", "accelerator_hours: \"three\""),
     "key 'accelerator_hours': 'three' is not a number"),
    (("accelerator_hours: \"3\"", "accelerator_hours: .inf"),
     "line 6: not valid YAML: .inf is not a finite number"),
])
def test_bad_profiles_name_the_key(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    assert change[0] in PROFILE
    with pytest.raises(InputError) as error:
        load(tmp_path, PROFILE.replace(*change))
    assert any(message in problem for problem in problems(error)), problems(error)


def test_unknown_tiers_in_a_profile_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        load(tmp_path, PROFILE + "current_tier: Gold\ntier_overrides: {Platinum: {}}\n")
    assert problems(error) == [
        f"{tmp_path / 'profile.yaml'}, line 11, key 'current_tier': unknown tier 'Gold' (tiers: "
        "Standard, Premier, Premier+, Signature, Mission Critical, US Premier Plus)",
        f"{tmp_path / 'profile.yaml'}, line 12, key 'tier_overrides.Platinum': unknown tier "
        "'Platinum' (tiers: "
        "Standard, Premier, Premier+, Signature, Mission Critical, US Premier Plus)",
    ]


def test_yaml_errors_give_the_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        load(tmp_path, "net_licence_annual: 1\n  bad: [\n")
    assert "line 2: not valid YAML: mapping values are not allowed here" in problems(error)[0]
    with pytest.raises(InputError) as error:
        tiers.load_yaml(tmp_path / "missing.yaml")
    assert problems(error) == [f"{tmp_path / 'missing.yaml'}: file not found"]
    with pytest.raises(InputError) as error:
        tiers.load_yaml(write(tmp_path, "latin.yaml", "a: é\n", encoding="latin-1"))
    assert "latin.yaml: not UTF-8 text" in problems(error)[0]


def test_a_profile_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        load(tmp_path, "- 1\n- 2\n")
    assert "Input should be a valid dictionary" in problems(error)[0]


TIERS = """\
baseline: Basic
csm_rule: {licence_above: "1000000", tier: Plus, tier_price_at_least: "100000"}
tiers:
  - name: Basic
    price_pct: "0"
    response_hours: {sev1: 48, sev2: 48, sev3: 48, sev4: 48}
    accelerators_per_year: 0
    admin_assist_hours_per_month: 0
  - name: Plus
    price_pct: {value: "0.2", source: order form, confidence: high}
    response_hours: {sev1: 1, sev2: 2, sev3: 4, sev4: 8}
    accelerators_per_year: unlimited
    admin_assist_hours_per_month: 0
upgrade_from: Basic
upgrade_to: Plus
"""


def test_users_own_tier_file_with_plain_numbers(tmp_path: Path) -> None:
    catalogue = tiers.load_tier_catalogue(write(tmp_path, "tiers.yaml", TIERS))
    inputs = tiers.load_profile(write(tmp_path, "p.yaml", PROFILE), catalogue)
    assert [tier.name for tier in inputs.tiers] == ["Basic", "Plus"]
    assert inputs.assumptions == ()
    assert inputs.tiers[1].price_pct == Decimal("0.2")


@pytest.mark.parametrize(("change", "message"), [
    (("baseline: Basic", "baseline: Gold"), "key 'baseline': unknown tier 'Gold'"),
    (("tier: Plus", "tier: Nope"), "key 'csm_rule.tier': unknown tier 'Nope'"),
    (("name: Plus", "name: Basic"), "tier 'Basic' appears more than once"),
    (("price_pct: \"0\"", "price_pct: unlimited"),
     "line 5, key 'tiers[0].price_pct': 'unlimited' is only for accelerators_per_year"),
    (("licence_above: \"1000000\"", "licence_above: unlimited"),
     "line 2, key 'csm_rule.licence_above': needs an amount"),
    (("accelerators_per_year: 0", "accelerators_per_year: -1"),
     "line 7, key 'tiers[0].accelerators_per_year': must not be negative (got -1)"),
    (("accelerators_per_year: 0", "accelerators_per_year: {value: \"-1\"}"),
     "key 'tiers[0].accelerators_per_year': must not be negative (got -1)"),
    (("accelerators_per_year: 0", "accelerators_per_year: {source: x}"),
     "key 'tiers[0].accelerators_per_year.value': missing required key 'value'"),
])
def test_bad_tier_files_name_the_key(tmp_path: Path, change: tuple[str, str],
                                     message: str) -> None:
    assert change[0] in TIERS
    with pytest.raises(InputError) as error:
        tiers.load_tier_catalogue(write(tmp_path, "tiers.yaml", TIERS.replace(*change, 1)))
    assert any(message in problem for problem in problems(error)), problems(error)


def test_unknown_figures_are_allowed_in_a_tier_file_until_compared(tmp_path: Path) -> None:
    text = TIERS.replace("accelerators_per_year: unlimited", "accelerators_per_year: "
                         "{value: null, source: not found, confidence: unknown}")
    catalogue = tiers.load_tier_catalogue(write(tmp_path, "tiers.yaml", text))
    with pytest.raises(InputError) as error:
        tiers.load_profile(write(tmp_path, "p.yaml", PROFILE), catalogue)
    assert "tier 'Plus' has no value for accelerators_per_year" in problems(error)[0]


# ---------------------------------------------------------------------------------------------
# CSV files


def test_example_files_read() -> None:
    catalogue = files.read_accelerator_catalogue(EXAMPLES / "accelerator-catalogue.csv")
    assert [entry.id for entry in catalogue][:2] == ["EX-01", "EX-02"]
    assert catalogue[0].hours == Decimal(3)
    packaged = files.read_accelerator_catalogue(files.example_accelerator_catalogue_path())
    assert packaged == catalogue
    backlog = files.read_backlog(EXAMPLES / "backlog.csv")
    assert backlog[1].priority == 1 and backlog[0].priority == 2
    assert backlog[0].questions.startswith("Platform events")
    cases = files.read_support_cases(EXAMPLES / "support-cases.csv")
    assert len(cases) == 24 and cases[0].severity == "sev2"


def test_jira_headers_bom_and_optional_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "jira.csv", "\ufeffIssue key,Summary,Assignee,Priority,Status\n"
                 "CRM-1,Fix sharing,Ana,Highest,Open\nCRM-2,Reports,,,Open\n\n")
    items = files.read_backlog(path)
    assert [(i.id, i.title, i.owner, i.priority, i.description) for i in items] == [
        ("CRM-1", "Fix sharing", "Ana", 1, ""), ("CRM-2", "Reports", "", 5, "")]
    azure = write(tmp_path, "azure.csv", "ID,Title,Assigned To,Priority\n42,Flows,Ben,2\n")
    assert files.read_backlog(azure)[0].priority == 2
    catalogue = write(tmp_path, "cat.csv", "Name,ID,Description\nFlow,F1,Flows\n")
    [entry] = files.read_accelerator_catalogue(catalogue)
    assert (entry.id, entry.title, entry.product, entry.hours) == ("F1", "Flow", "", None)


@pytest.mark.parametrize(("text", "expected"), [
    ("1", 1), ("P2", 2), ("p3", 3), ("High", 2), ("blocker", 1), ("Trivial", 5),
    ("2 - High", 2), ("Medium - default", 3), ("", 5), ("  ", 5),
])
def test_priorities(text: str, expected: int) -> None:
    assert files.parse_priority(text) == expected


@pytest.mark.parametrize("text", ["soon", "0", "P0", "-1"])
def test_bad_priorities(text: str) -> None:
    with pytest.raises(ValueError, match="is not a priority"):
        files.parse_priority(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("sev1", "sev1"), ("Sev 2", "sev2"), ("Severity 3 - Minor", "sev3"), ("4", "sev4"),
    ("P1", "sev1"), ("S2", "sev2"),
])
def test_severities(text: str, expected: str) -> None:
    assert files.parse_severity(text) == expected


def test_bad_rows_are_all_reported_with_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "cases.csv", (
        "id,opened,severity,first_response_hours,resolution_hours\n"
        "c1,2026-01-05,sev1,1,4\n"
        "c2,05/01/2026,sev1,1,4\n"
        "c3,2026-01-05,urgent,1,4\n"
        "c4,2026-01-05,sev2,-3,4\n"
        "c1,2026-01-05T10:00:00Z,sev2,1.5,\n"
        ",2026-01-05,sev2,abc,4\n"
    ))
    with pytest.raises(InputError) as error:
        files.read_support_cases(path)
    source = str(path)
    assert problems(error) == [
        f"{source}, row 6, column 'id': 'c1' already appears on row 2",
        f"{source}, row 3, column 'opened': '05/01/2026' is not a date (write it as 2026-03-31)",
        f"{source}, row 4, column 'severity': 'urgent' is not a severity (use sev1, sev2, sev3 "
        "or sev4)",
        f"{source}, row 5, column 'first_response_hours': must not be negative, got -3",
        f"{source}, row 7, column 'id': empty: a value is required",
        f"{source}, row 7, column 'first_response_hours': 'abc' is not a number",
    ]


def test_open_cases_and_timestamps(tmp_path: Path) -> None:
    path = write(tmp_path, "cases.csv", "Case Number,Created Date,Priority,First Response,"
                 "Resolution\n1,2026-01-05T10:00:00Z,Sev 1,0.5,\n")
    [case] = files.read_support_cases(path)
    assert (case.opened.isoformat(), case.severity, case.resolution_hours) == (
        "2026-01-05", "sev1", None)


@pytest.mark.parametrize(("text", "message"), [
    ("", "the file is empty: expected a header row"),
    ("# only a comment\n\n", "the file is empty"),
    ("id,title\nB1,x\n", "row 1: missing column(s) date, catalogue_id; the header has: id, title"),
    ("date,catalogue_id\n2026-01-01,C1,extra\n", "row 2: 3 values but the header has 2 columns"),
    ('date,catalogue_id\n"2026-01-01,C1\n', "not valid CSV"),
    ("date,catalogue_id\n2026-13-01,C1\n", "row 2, column 'date'"),
])
def test_bad_used_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError) as error:
        files.read_used_sessions(write(tmp_path, "used.csv", text))
    assert message in problems(error)[0], problems(error)


def test_used_sessions_and_unreadable_files(tmp_path: Path) -> None:
    path = write(tmp_path, "used.csv", "# delivered\nDate,Accelerator ID,Item ID\n"
                 "2026-02-03,EX-01,BL-1\n2026-03-03,EX-02,\n")
    sessions = files.read_used_sessions(path)
    assert [(s.day.isoformat(), s.catalogue_id, s.backlog_id) for s in sessions] == [
        ("2026-02-03", "EX-01", "BL-1"), ("2026-03-03", "EX-02", None)]
    with pytest.raises(InputError, match="file not found"):
        files.read_backlog(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="not UTF-8"):
        files.read_backlog(write(tmp_path, "latin.csv", "id,title\nB1,café\n",
                                 encoding="latin-1"))
    with pytest.raises(InputError, match="cannot read"):
        files.read_backlog(tmp_path)


def test_bad_backlog_and_catalogue_rows(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        files.read_backlog(write(tmp_path, "b.csv", "id,title,priority\nB1,,soon\n"))
    assert [p.column for p in error.value.problems] == ["title", "priority"]
    with pytest.raises(InputError) as error:
        files.read_accelerator_catalogue(write(tmp_path, "c.csv",
                                               "id,title,description,hours\nC1,T,D,2h\n"))
    assert problems(error) == [f"{tmp_path / 'c.csv'}, row 2, column 'hours': '2h' is not a "
                               "number"]
