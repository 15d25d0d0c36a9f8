"""Digital Wallet exports mapped to pools (unmapped rows kept, imported once mapped), the
`match:` overlap check, and Marketing Cloud send logs converted to super messages."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from openpyxl import Workbook

from creditops.adapters.register_file import read_register_file
from creditops.core.errors import InputError
from creditops.services import marketing_cloud as marketing
from creditops.services import ratecards as rc
from creditops.services import wallet
from creditops.services import workspace as ws
from tests.conftest import EXAMPLES
from tests.consumption.conftest import REGISTER, state, usage_rows

WALLET_HEADER = ("Id,EventTime,CardDefinitionDeveloperName,UsageTypeDeveloperName,UsageValue,"
                 "Unit,Multiplier,UnitsConsumed,UsageReportingOrgIdentifier,"
                 "UsageBusinessEnvType\n")
PROD = "00D5f000000NWRobAA"


def wallet_file(path: Path, lines: list[str]) -> Path:
    path.write_text(WALLET_HEADER + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def test_rows_go_to_the_pool_that_matches_and_the_rest_is_kept(workspace, tmp_path) -> None:
    path = wallet_file(tmp_path / "dw.csv", [
        f"0Tu1,2026-10-01T08:15:00.000Z,AgentforceFlexCredits,agentforce_standard_action,1,"
        f"Action,20,20,{PROD},Production",
        "0Tu2,2026-10-01T09:00:00Z,AgentforceFlexCredits,agentforce_standard_action,2,Action,"
        "16,32,00D7A000001NWDev,Sandbox",
        f"0Tu3,2026-10-02T10:00:00Z,DataCloudFlexCredits,sandbox_data_queries,3,1M Rows,2,"
        f"6.5,{PROD},Sandbox",
        f"0Tu4,2026-10-02T11:00:00Z,TableauNextFlexCredits,query,1,Query,5,5,{PROD},Production",
    ])
    summary = wallet.import_wallet_file(workspace, path)
    assert (summary.base.accepted, summary.base.duplicate, summary.base.rejected) == (2, 0, 0)
    rows = {(r.pool_id, r.ref): r.quantity for r in usage_rows(workspace)}
    assert rows == {("flex", "0Tu1"): D(20), ("data-cloud", "0Tu3"): D("6.5")}
    assert [(g.card, g.env, g.rows, g.total) for g in summary.unmapped] == [
        ("AgentforceFlexCredits", "sandbox", 1, D(32)),
        ("TableauNextFlexCredits", "production", 1, D(5))]
    again = wallet.import_wallet_file(workspace, path)
    assert (again.base.accepted, again.base.duplicate) == (0, 2)
    assert len(again.unmapped) == 2 and len(usage_rows(workspace)) == 2
    # The administrator maps the sandbox card; the kept row is imported, once.
    register = tmp_path / "register.yaml"
    register.write_text(REGISTER.replace(
        "      - {card: AgentforceFlexCredits, env: production}",
        "      - {card: AgentforceFlexCredits, env: production}\n"
        "      - {card: AgentforceFlexCredits, env: sandbox, usage_types: "
        "[agentforce_standard_action]}"), encoding="utf-8")
    ws.load_register(workspace, register)
    moved = wallet.import_pending(workspace)
    assert moved.pending_imported == 1
    assert [g.card for g in moved.unmapped] == ["TableauNextFlexCredits"]
    assert wallet.import_pending(workspace).pending_imported == 0
    third = wallet.import_wallet_file(workspace, path)
    assert third.base.accepted == 0 and len(usage_rows(workspace)) == 3


def test_bad_rows_name_row_and_column_and_change_nothing(workspace, tmp_path) -> None:
    path = wallet_file(tmp_path / "dw.csv", [
        f"0Tu1,2026-10-01T08:15:00Z,AgentforceFlexCredits,a,1,Action,20,20,{PROD},Production",
        f"0Tu2,last tuesday,AgentforceFlexCredits,a,1,Action,20,20,{PROD},Production",
        f"0Tu3,2026-10-01T08:15:00Z,AgentforceFlexCredits,a,1,Action,20,-3,{PROD},Production",
        f"0Tu4,2026-10-01T08:15:00Z,,a,1,Action,20,1,{PROD},Staging",
    ])
    before = state(workspace)
    with pytest.raises(InputError) as error:
        wallet.import_wallet_file(workspace, path)
    text = "\n".join(str(p) for p in error.value.problems)
    assert "row 3, column 'EventTime': 'last tuesday' is not an ISO 8601 instant" in text
    assert "row 4, column 'UnitsConsumed': negative units consumed -3" in text
    assert "row 5, column 'CardDefinitionDeveloperName': empty card" in text
    assert "row 5, column 'UsageBusinessEnvType': 'Staging' is neither" in text
    assert state(workspace) == before
    quarantine = tmp_path / "bad.csv"
    summary = wallet.import_wallet_file(workspace, path, quarantine=quarantine)
    assert (summary.base.accepted, summary.base.rejected) == (1, 3)
    assert "last tuesday" in quarantine.read_text()
    missing = tmp_path / "missing.csv"
    missing.write_text("Id,When\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"missing column.*EventTime"):
        wallet.import_wallet_file(workspace, missing)


def test_xlsx_exports_and_lake_object_column_names(workspace, tmp_path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id__c", "eventtime__c", "carddefinitiondevelopername__c",
                  "usagetypedevelopername__c", "unitsconsumed__c", "usagebusinessenvtype__c"])
    sheet.append(["0Tu9", datetime(2026, 10, 3, 12, 0), "AgentforceFlexCredits", "prompt", 4,
                  "PRODUCTION"])
    book.save(tmp_path / "dw.xlsx")
    summary = wallet.import_wallet_file(workspace, tmp_path / "dw.xlsx")
    assert summary.base.accepted == 1
    row = usage_rows(workspace)[0]
    assert (row.pool_id, row.quantity, row.at) == ("flex", D(4), datetime(2026, 10, 3, 12,
                                                                          tzinfo=UTC))


def test_two_pools_matching_the_same_rows_is_refused_at_load(tmp_path) -> None:
    register = tmp_path / "register.yaml"
    register.write_text(REGISTER.replace(
        "      - {card: DataCloudFlexCredits, org: 00D5f000000NWRob}",
        "      - {card: AgentforceFlexCredits, usage_types: [prompt]}"), encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_register_file(register)
    problem = error.value.problems[0]
    assert problem.column == "pools[1].match[0]" and problem.row == 22
    assert "pools 'flex' and 'data-cloud' both match Digital Wallet card" in problem.reason


SENT_HEADER = ("AccountID,OYBAccountID,JobID,ListID,BatchID,SubscriberID,SubscriberKey,EventDate,"
               "Domain,TriggererSendDefinitionObjectID,TriggeredSendCustomerKey\n")


def test_sent_emails_become_super_messages_once(workspace, tmp_path) -> None:
    path = tmp_path / "sent.csv"
    path.write_text(SENT_HEADER + "".join([
        "1,1,100,7,1,501,K1,10/30/2026 11:30:00 PM,example.com,,\n",
        "1,1,100,7,1,502,K2,10/31/2026 8:00:00 AM,example.com,,\n",
        "1,1,101,7,1,501,K1,2026-10-31 09:00:00,example.com,t-1,password-reset\n",
    ]), encoding="utf-8")
    summary = marketing.import_marketing_cloud(workspace, path, high_priority=["password-reset"])
    assert (summary.events, summary.daily_totals) == (3, 2)
    rows = {(r.at.date().isoformat(), r.usage_type): r.quantity for r in usage_rows(workspace)}
    # 11:30 PM at UTC-6 is 05:30 UTC on the 31st.
    assert rows == {("2026-10-31", "email"): D(2),
                    ("2026-10-31", "high_priority_triggered_email"): D(4)}
    # An overlapping later extract: one new send.
    path.write_text(SENT_HEADER + "".join([
        "1,1,100,7,1,502,K2,10/31/2026 8:00:00 AM,example.com,,\n",
        "1,1,102,7,1,503,K3,11/1/2026 8:00:00 AM,example.com,,\n",
    ]), encoding="utf-8")
    later = marketing.import_marketing_cloud(workspace, path, high_priority=["password-reset"])
    assert (later.events, later.duplicate) == (1, 1)
    assert sum(r.quantity for r in usage_rows(workspace)) == D(7)


def test_sms_segments_and_unpriced_countries(workspace, tmp_path) -> None:
    path = tmp_path / "sms.csv"
    path.write_text(
        "MobileMessageTrackingID,Mobile,Outbound,Inbound,CreateDateTime\n"
        "9001,15551230001,1,0,2026-10-31 10:00:00\n"
        "9002,15551230002,True,0,2026-10-31 10:00:05\n"
        "9003,15551230002,0,1,2026-10-31 10:05:00\n"  # a reply: no super message
        "9004,447700900123,1,0,2026-10-31 10:06:00\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        marketing.import_marketing_cloud(workspace, path)
    assert "row 5" in str(error.value) and "no rate" in str(error.value)
    quarantine = tmp_path / "q.csv"
    summary = marketing.import_marketing_cloud(workspace, path, quarantine=quarantine)
    assert (summary.rows_read, summary.events, summary.rejected) == (4, 2, 1)
    assert sum(r.quantity for r in usage_rows(workspace)) == D(20)
    assert any("SMS to a US number" in line for line in summary.low_confidence)
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text("""\
overrides:
  - card: marketing-cloud-super-messages
    contract: MC
    usage_types:
      sms_international_segment:
        rate: {value: 25, sources: ["Order form MC-2025, schedule B"], as_of: 2025-02-01,
               confidence: high}
""", encoding="utf-8")
    assert "1 override(s)" in rc.load_rate_card_file(workspace, overrides)
    assert marketing.import_marketing_cloud(workspace, path).events == 1
    assert sum(r.quantity for r in usage_rows(workspace)) == D(45)


def test_unknown_send_logs_are_refused(workspace, tmp_path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a known send log"):
        marketing.import_marketing_cloud(workspace, path)
    with pytest.raises(InputError, match="neither an offset"):
        marketing.import_marketing_cloud(workspace, path, zone="Mars/Olympus")


def test_shipped_examples_feed_the_demo_workspace(sqlite_url) -> None:
    """The demo register's `match:` entries map the shipped export."""
    register = EXAMPLES / "demo" / "register.yaml"
    workspace = ws.init_workspace(sqlite_url)
    ws.load_register(workspace, register)
    dw = wallet.import_wallet_file(workspace, EXAMPLES / "demo" / "digital-wallet-export.csv")
    assert (dw.base.rows_read, dw.base.accepted, dw.base.rejected) == (54, 45, 0)
    assert [(g.card, g.env, g.rows) for g in dw.unmapped] == [
        ("AgentforceFlexCredits", "sandbox", 6), ("TableauNextFlexCredits", "production", 3)]
    mc = marketing.import_marketing_cloud(
        workspace, EXAMPLES / "demo" / "marketing-cloud-sent.csv", high_priority=["password-reset"])
    assert (mc.rejected, mc.events) == (0, 45)
    assert mc.by_pool == {"mc-messages": D(42) + D(3) * 4}
    workspace.close()
