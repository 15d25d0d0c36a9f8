"""The shipped rate cards, the workspace's own cards and overrides, and the `ratecard` and
`import` commands end to end."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

from creditops.adapters.ratecards import card_from_document, shipped_card_texts, shipped_cards
from creditops.adapters.yamlio import parse_yaml
from creditops.core.errors import InputError
from creditops.services import ratecards as rc
from tests.command_line import run
from tests.conftest import EXAMPLES
from tests.consumption.conftest import REGISTER


def test_every_shipped_figure_has_sources_a_date_and_a_confidence() -> None:
    cards = shipped_cards()
    assert set(cards) == {"flex-credits", "data360-flex", "data-services",
                          "marketing-cloud-super-messages"}
    for card in cards.values():
        for label, figure in card.figures():
            assert figure.sources and all(s in card.sources for s in figure.sources), label
            assert figure.as_of.year >= 2019
    flex = cards["flex-credits"]
    assert flex.usage_type("Standard Action").production[0].value == 20
    assert flex.usage_type("standard_action").sandbox.value == 16  # type: ignore[union-attr]
    assert flex.price is not None and flex.price.value == D("0.005")
    d360 = cards["data360-flex"]
    assert [f.value for f in d360.usage_type("queries").production] == \
        [D(3), D("2.4"), D("1.2"), D("0.6")]
    assert cards["data-services"].usage_type("DataCloud_BatchProfileUnification").key == \
        "batch_profile_unification"


def test_rate_card_files_are_validated_with_lines_and_keys() -> None:
    text = shipped_card_texts()["data360-flex.yaml"]
    broken = text.replace("    rates: {values: [40, 32, 16, 8],",
                          "    rates: {values: [40, 32, 16],")
    with pytest.raises(InputError, match="3 rates but the card has 4 tier"):
        card_from_document(parse_yaml(broken, "card.yaml"))
    typo = text.replace("    per: 1000000\n", "    pre: 1000000\n", 1)
    with pytest.raises(InputError) as error:
        card_from_document(parse_yaml(typo, "card.yaml"))
    assert "unknown key 'pre'" in str(error.value) and "line" in str(error.value)
    unknown = text.replace("sources: [S4], as_of: 2026-08-31, confidence: medium}\n    sandbox",
                           "sources: [S99], as_of: 2026-08-31, confidence: medium}\n    sandbox",
                           1)
    with pytest.raises(InputError, match="unknown source"):
        card_from_document(parse_yaml(unknown, "card.yaml"))
    with pytest.raises(InputError, match="either `rate`"):
        card_from_document(parse_yaml(text.replace("    rates: {values: [40, 32, 16, 8],",
                                                   "    rate: {value: 1, sources: [S4], as_of: "
                                                   "2026-08-31, confidence: medium}\n"
                                                   "    rates: {values: [40, 32, 16, 8],"),
                                      "card.yaml"))
    descending = text.replace("values: [0, 300000, 1500000, 12500000]",
                              "values: [0, 300000, 150000, 12500000]")
    with pytest.raises(InputError, match="tier starts must begin at 0 and increase"):
        card_from_document(parse_yaml(descending, "card.yaml"))


def test_convert_shows_tier_arithmetic_and_flags_weak_figures(capsys, monkeypatch, tmp_path
                                                              ) -> None:
    monkeypatch.setenv("CREDITOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    code, out, _ = run(capsys, monkeypatch, "ratecard", "convert", "data360-flex", "unification",
                       "3200000", "--month-to-date", "250000")
    assert code == 0
    assert out.splitlines()[0] == "202,000 credits"
    assert "tier 2: ≈2,533,333.33333333 row(s) × 60,000 / 1,000,000 = 152,000 credits" in out
    assert "rounded half up to 4 decimal places" in out
    code, out, _ = run(capsys, monkeypatch, "ratecard", "convert", "flex-credits",
                       "voice_minutes", "61", "--json")
    data = json.loads(out)
    assert data["amount"] == "3660" and data["low_confidence"]
    code, out, _ = run(capsys, monkeypatch, "ratecard", "convert", "flex-credits", "translation",
                       "2500000")
    assert "LOW CONFIDENCE" in out and out.startswith("10,000 credits")
    code, out, _ = run(capsys, monkeypatch, "ratecard", "show", "flex-credits")
    assert code == 0 and "LOW" in out and "S5:" in out
    code, out, _ = run(capsys, monkeypatch, "ratecard", "list", "--json")
    assert {c["name"] for c in json.loads(out)} >= {"data360-flex", "flex-credits"}
    code, _, err = run(capsys, monkeypatch, "ratecard", "convert", "flex-credits", "nope", "1")
    assert code == 2 and "no usage type 'nope'" in err
    code, _, err = run(capsys, monkeypatch, "ratecard", "convert", "flex-credits",
                       "standard_action", "1.5e")
    assert code == 2 and "QUANTITY" in err
    code, _, err = run(capsys, monkeypatch, "ratecard", "show", "nope")
    assert code == 3


def test_workspace_cards_and_contract_overrides(capsys, monkeypatch, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    monkeypatch.setenv("CREDITOPS_DATABASE_URL", url)
    register = tmp_path / "register.yaml"
    register.write_text(REGISTER, encoding="utf-8")
    assert run(capsys, monkeypatch, "init")[0] == 0
    assert run(capsys, monkeypatch, "load", str(register))[0] == 0
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text("""\
overrides:
  - card: flex-credits
    usage_types:
      standard_action:
        rate: {value: 18, sources: ["negotiated list"], as_of: 2026-01-15, confidence: high}
  - card: flex-credits
    contract: MSA
    usage_types:
      standard_action:
        rate: {value: 15, sources: ["Order form MSA, schedule A"], as_of: 2026-02-01,
               confidence: high}
""", encoding="utf-8")
    code, out, _ = run(capsys, monkeypatch, "ratecard", "load", str(overrides))
    assert code == 0 and "2 override(s)" in out
    assert rc.convert_quantity(url, "flex-credits", "standard_action", D(10)).amount == 180
    by_contract = rc.convert_quantity(url, "flex-credits", "standard_action", D(10),
                                      contract="MSA")
    assert by_contract.amount == 150
    assert "set by contract MSA" in "\n".join(by_contract.explanation())
    own = tmp_path / "card.yaml"
    own.write_text(shipped_card_texts()["flex-credits.yaml"].replace(
        "version: 2026-08-31", "version: 2026-11-15"), encoding="utf-8")
    code, out, _ = run(capsys, monkeypatch, "ratecard", "load", str(own))
    assert code == 0 and "version 2026-11-15" in out
    listed = {c["name"]: c for c in json.loads(run(capsys, monkeypatch, "ratecard", "list",
                                                   "--json")[1])}
    assert listed["flex-credits"]["origin"] == "workspace"
    assert listed["flex-credits"]["version"] == "2026-11-15"
    bad = tmp_path / "bad.yaml"
    bad.write_text("overrides:\n  - card: nope\n  - card: flex-credits\n    contract: XX\n",
                   encoding="utf-8")
    code, _, err = run(capsys, monkeypatch, "ratecard", "load", str(bad))
    assert code == 2 and "no rate card 'nope'" in err and "contract 'XX'" in err


@pytest.fixture
def loaded(capsys, monkeypatch, tmp_path) -> None:
    """A workspace with the consumption register loaded, as CREDITOPS_DATABASE_URL."""
    monkeypatch.setenv("CREDITOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'ws.db'}")
    register = tmp_path / "register.yaml"
    register.write_text(REGISTER, encoding="utf-8")
    run(capsys, monkeypatch, "init")
    run(capsys, monkeypatch, "load", str(register))


def test_import_commands_end_to_end(loaded, capsys, monkeypatch, tmp_path) -> None:
    events = tmp_path / "events.csv"
    events.write_text("id,at,pool,usage_type,quantity\n"
                      "1,2026-08-01T10:00:00Z,data-cloud,unification,3200000\n", encoding="utf-8")
    code, out, _ = run(capsys, monkeypatch, "import", "events", str(events), "--rate-card",
                       "data360-flex")
    assert code == 0 and "1 events counted into 1 daily totals" in out
    assert "data-cloud: 240,000" in out
    code, out, _ = run(capsys, monkeypatch, "import", "events", str(events), "--json")
    assert json.loads(out)["duplicate"] == 1
    code, out, _ = run(capsys, monkeypatch, "import", "digital-wallet",
                       str(EXAMPLES / "demo" / "digital-wallet-export.csv"))
    assert code == 0 and "not mapped to any pool" in out and "TableauNextFlexCredits" in out
    code, out, _ = run(capsys, monkeypatch, "import", "digital-wallet", "--pending", "--json")
    assert code == 0 and json.loads(out)["pending_imported"] == 0
    code, _, err = run(capsys, monkeypatch, "import", "digital-wallet")
    assert code == 2 and "--pending" in err
    code, out, _ = run(capsys, monkeypatch, "import", "marketing-cloud",
                       str(EXAMPLES / "demo" / "marketing-cloud-sent.csv"), "--high-priority",
                       "password-reset")
    assert code == 0 and "mc-messages: 54" in out
    code, _, err = run(capsys, monkeypatch, "import", "events", str(tmp_path / "none.csv"))
    assert code == 2 and "no such file" in err


def test_import_events_shows_the_rows_read_on_a_terminal(loaded, capsys, monkeypatch,
                                                          tmp_path) -> None:
    from creditops.adapters.events import ReadProgress
    from creditops.cli import consumption, output

    assert consumption.rows_read(ReadProgress(1_200_000, 10_000_000, False)) == \
        "1,200,000 rows read of about 10,000,000"
    assert consumption.rows_read(ReadProgress(7, 7, True)) == "7 rows read of 7"
    assert consumption.rows_read(ReadProgress(0, None, False)) == "0 rows read"
    shown: list[ReadProgress] = []
    monkeypatch.setattr(consumption, "rows_read", lambda read: shown.append(read) or "")
    events = tmp_path / "events.csv"
    events.write_text("id,at,pool,usage_type,quantity\n" + "".join(
        f"{i},2026-08-01T10:00:00Z,data-cloud,unification,1\n" for i in range(300)),
        encoding="utf-8")
    monkeypatch.setattr(output.console, "_force_terminal", True)
    code, out, _ = run(capsys, monkeypatch, "import", "events", str(events))
    assert code == 0 and "300 events counted" in out
    assert shown[-1] == ReadProgress(300, 300, True)  # the bar ends on the rows really read


def test_rate_card_services_load_no_event_engine() -> None:
    """`creditops ratecard …` needs the rate cards only: not DuckDB, Ibis or Arrow, which the
    raw-event import loads."""
    import subprocess
    import sys

    code = ("import sys\nimport creditops.services.ratecards\n"
            "print(' '.join(n for n in ('duckdb', 'ibis', 'pyarrow') if n in sys.modules))\n")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    assert loaded == []
