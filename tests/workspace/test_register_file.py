"""The register file: strict validation with the line and key of every problem."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from creditops.adapters.register_file import read_register_file
from creditops.core.errors import InputError

GOOD = """\
timezone: Europe/Paris
kinds: [heroku_credits, {id: mulesoft_vcores, description: "vCores"}]
pools:
  - id: flex
    kind: flex_credits
    unit: credit
    unit_value: 0.005
    match: [{card: AgentforceCredits, env: production}]
    notify: ["json://localhost:9/hook"]
    grants:
      - id: g1
        quantity: 2000000
        effective: 2026-02-01
        expires: 2027-01-31
        applies_to: [standard_action]
        recurrence: {every: p1y, anchor: 2026-02-01}
        rollover: {fraction: "0.25", max: 500000, expires: 2028-01-31}
        voided_at: 2026-09-01T12:00:00Z
      - {id: g2, quantity: 10, effective: "2026-03-01T08:30:00"}
  - {id: heroku, kind: heroku_credits, unit: credit, unit_value: "1"}
"""


def read(tmp_path: Path, text: str, name: str = "register.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_register_file(path)


def test_a_good_file_becomes_rows_with_instants_in_the_workspace_zone(tmp_path: Path) -> None:
    data = read(tmp_path, GOOD)
    paris = ZoneInfo("Europe/Paris")
    g1, g2 = data.grants
    assert g1["quantity"] == D(2000000) and g1["effective"] == datetime(2026, 2, 1, tzinfo=paris)
    assert g1["expires"] == datetime(2027, 2, 1, tzinfo=paris)  # through the end of 31 Jan
    assert g1["rollover_fraction"] == D("0.25") and g1["recurrence_every"] == "P1Y"
    assert g1["voided_at"] == datetime(2026, 9, 1, 12, tzinfo=UTC)
    assert g2["effective"] == datetime(2026, 3, 1, 8, 30, tzinfo=paris)
    assert data.pools[0]["unit_value"] == D("0.005")  # unquoted, yet exact
    assert data.pools[0]["attributes"]["match"] == [{"card": "AgentforceCredits",
                                                     "env": "production"}]
    assert [k["id"] for k in data.kinds] == ["heroku_credits", "mulesoft_vcores"]


@pytest.mark.parametrize(("text", "fragments"), [
    (GOOD.replace("quantity: 2000000", "quantiy: 2000000"),
     ["line 11", "pools[0].grants[0].quantiy", "unknown key 'quantiy'", "expected one of",
      "quantity", "missing required key 'quantity'"]),
    (GOOD.replace("kind: flex_credits", "kind: flex_credit"),
     ["line 5", "unknown kind 'flex_credit'", "declare a custom kind"]),
    (GOOD.replace("expires: 2027-01-31", "expires: 2026-01-01"),
     ["expiry is not after its effective instant"]),
    (GOOD.replace("id: g2", "id: g1"), ["duplicate grant id 'g1'"]),
    (GOOD.replace("id: heroku,", "id: flex,"), ["duplicate pool id 'flex'"]),
    (GOOD.replace("unit_value: 0.005", "unit_value: -1"), ["unit_value", "greater than"]),
    (GOOD.replace("timezone: Europe/Paris", "timezone: Mars/Olympus"), ["unknown time zone"]),
    (GOOD.replace("every: p1y", "every: yearly"), ["not a period"]),
    (GOOD.replace("quantity: 10,", "quantity: ten,"), ["quantity", "decimal"]),
    (GOOD.replace("fraction: \"0.25\"", "fraction: 2"), ["fraction", "less than or equal"]),
    (GOOD + "contracts:\n  - {id: C, name: X, start: 2026-02-01, end: 2025-01-01}\n",
     ["contract ends before it starts"]),
    (GOOD.replace("unit: credit\n    unit_value: 0.005", "unit: credit\n    contract: NOPE\n"
                  "    unit_value: 0.005"), ["unknown contract 'NOPE'"]),
    ("pools: [\n", ["not valid YAML", "row"]),
    ("", ["the file is empty"]),
    ("unit_value: .inf\n", ["not a finite number"]),
])
def test_bad_register_files_say_where_and_what(tmp_path: Path, text: str,
                                               fragments: list[str]) -> None:
    with pytest.raises(InputError) as caught:
        read(tmp_path, text)
    message = str(caught.value).replace("row ", "line ")
    assert "register.yaml" in message
    for fragment in fragments:
        assert fragment.replace("row", "line") in message


def test_missing_and_badly_encoded_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_register_file(tmp_path / "absent.yaml")
    path = tmp_path / "latin.yaml"
    path.write_bytes("pools: []\nname: caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_register_file(path)
