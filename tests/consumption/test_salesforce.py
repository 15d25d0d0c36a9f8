"""The real simple-salesforce client against a local org: login (password and token, JWT),
SOQL paging, the Data 360 query API, errors, request limits and incremental syncs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from creditops.adapters.salesforce import SalesforceClient, credentials_from_environment
from creditops.core.errors import InputError
from creditops.services import salesforce_sync as sf
from creditops.services import workspace as ws
from tests.command_line import run as run_command
from tests.consumption.conftest import state, usage_rows
from tests.consumption.salesforce_server import Org, serve


def entitlement(number: int, modified: str, used: str) -> dict[str, object]:
    return {"Id": f"0Lx5f00000000{number:02d}AAA", "MasterLabel": f"Data Cloud credits {number}",
            "Setting": "setting/force.com/orgValue.DataCloudCredits", "ResourceGroupKey": None,
            "Frequency": "Yearly", "AmountUsed": D(used), "CurrentAmountAllowed": D("9000000.5"),
            "StartDate": "2026-02-01", "EndDate": "2027-01-31",
            "UsageDate": "2026-10-31T00:00:00.000+0000", "LastModifiedDate": modified}


def event(number: int, processed: str, card: str, units: str) -> dict[str, object]:
    return {"id__c": f"0Tu{number:05d}", "eventtime__c": processed.replace("T", " ") + " UTC",
            "processedtime__c": processed, "carddefinitiondevelopername__c": card,
            "usagetypedevelopername__c": "agentforce_standard_action", "unitsconsumed__c": units,
            "usagereportingorgid__c": "00D5f000000NWRobAA", "entitlementorgid__c": None,
            "usagebusinessenvtype__c": "Production"}


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    org = Org(entitlements=[entitlement(i, f"2026-10-0{i}T08:00:00.000Z", f"{i}000")
                            for i in range(1, 6)],
              wallet_rows=[event(1, "2026-10-01T08:00:00.000", "AgentforceFlexCredits", "20"),
                           event(2, "2026-10-01T09:00:00.000", "AgentforceFlexCredits", "40"),
                           event(3, "2026-10-02T09:00:00.000", "UnknownCard", "5")])
    with serve(org, tmp_path) as (url, certificate):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))
        monkeypatch.setenv("CREDITOPS_SF_LOGIN_URL", url)
        monkeypatch.setenv("CREDITOPS_SF_USERNAME", org.username)
        monkeypatch.setenv("CREDITOPS_SF_PASSWORD", org.password)
        monkeypatch.setenv("CREDITOPS_SF_TOKEN", org.token)
        monkeypatch.setenv("CREDITOPS_SF_API_VERSION", "62.0")
        yield org


def no_wait(seconds: float) -> None:
    pass


def connect(credentials):  # type: ignore[no-untyped-def]
    return SalesforceClient(credentials, sleep=no_wait)


def test_incremental_sync_of_entitlements_and_wallet_usage(workspace, org) -> None:
    first = sf.sync_salesforce(workspace, wallet_object="TenantEnrichedUsageEvent__dll",
                               connect=connect)
    assert (first.entitlements_read, first.entitlements_changed) == (5, 5)
    assert first.entitlement_watermark == "2026-10-05T08:00:00.000Z"
    assert any(q.endswith("FROM TenantUsageEntitlement ORDER BY LastModifiedDate")
               for q in org.queries)
    assert sum(r.startswith("GET /services/data/v62.0/query/01g") for r in org.requests) == 2
    assert first.wallet is not None and first.wallet_rows_read == 3
    assert [(r.pool_id, r.quantity) for r in usage_rows(workspace)] == [("flex", D(20)),
                                                                         ("flex", D(40))]
    assert [g.card for g in first.wallet.unmapped] == ["UnknownCard"]
    status = sf.sync_status(workspace)
    assert status.entitlements[0].amount_used == D(1000)
    assert status.entitlements[0].current_amount_allowed == D("9000000.5")
    assert set(status.watermarks) == {sf.ENTITLEMENTS_KEY, sf.WALLET_KEY}
    # New and changed records arrive; the next sync asks only from the watermark on.
    org.entitlements[4]["AmountUsed"] = D(5500)
    org.entitlements[4]["LastModifiedDate"] = "2026-10-06T08:00:00.000Z"
    org.entitlements.append(entitlement(6, "2026-10-07T08:00:00.000Z", "600"))
    org.wallet_rows.append(event(4, "2026-10-03T09:00:00.000", "AgentforceFlexCredits", "60"))
    second = sf.sync_salesforce(workspace, wallet_object="TenantEnrichedUsageEvent__dll",
                                connect=connect)
    assert org.queries[-2].endswith(
        "WHERE LastModifiedDate >= 2026-10-05T08:00:00.000Z ORDER BY LastModifiedDate")
    assert "processedtime__c >= TIMESTAMP '2026-10-02 09:00:00.000000'" in org.queries[-1]
    assert (second.entitlements_read, second.entitlements_changed) == (2, 2)
    assert second.wallet_rows_read == 2 and second.wallet is not None
    assert second.wallet.base.accepted == 1
    assert sum(r.quantity for r in usage_rows(workspace)) == D(120)
    changed = {e.id: e for e in sf.sync_status(workspace).entitlements}
    assert changed["0Lx5f0000000005AAA"].amount_used == D(5500)
    assert len(changed) == 6


def test_request_limits_are_retried_then_reported(workspace, org) -> None:
    org.refuse_next, org.too_many_next = 1, 1
    summary = sf.sync_salesforce(workspace, connect=connect)
    assert summary.entitlements_read == 5
    before = state(workspace)
    org.refuse_next = 10
    with pytest.raises(InputError, match="HTTP 403, REQUEST_LIMIT_EXCEEDED"):
        sf.sync_salesforce(workspace, connect=lambda c: SalesforceClient(c, retries=2,
                                                                          sleep=no_wait))
    assert state(workspace) == before


def test_errors_are_reported_and_change_nothing(workspace, org, monkeypatch) -> None:
    before = state(workspace)
    with pytest.raises(InputError, match="INVALID_OBJECT"):
        sf.sync_salesforce(workspace, wallet_object="NotAnObject__dll", connect=connect)
    assert state(workspace) == before  # the entitlements of that sync were not kept either
    with pytest.raises(InputError, match="not an object API name"):
        sf.sync_salesforce(workspace, wallet_object="x; DROP", connect=connect)
    monkeypatch.setenv("CREDITOPS_SF_PASSWORD", "wrong")
    with pytest.raises(InputError, match="login refused \\(INVALID_LOGIN\\)"):
        sf.sync_salesforce(workspace, connect=connect)
    monkeypatch.delenv("CREDITOPS_SF_TOKEN")
    with pytest.raises(InputError, match="CREDITOPS_SF_USERNAME with CREDITOPS_SF_PASSWORD"):
        credentials_from_environment()
    client = SalesforceClient(credentials_from_environment({
        "CREDITOPS_SF_USERNAME": org.username, "CREDITOPS_SF_PASSWORD": org.password,
        "CREDITOPS_SF_TOKEN": org.token, "CREDITOPS_SF_LOGIN_URL": org.base_url,
        "CREDITOPS_SF_API_VERSION": "62.0"}))
    with pytest.raises(InputError, match="MALFORMED_QUERY"):
        list(client.soql("SELECT Id FROM Nothing"))


def test_jwt_bearer_login(workspace, org, tmp_path, monkeypatch) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    org.jwt_public_key = key.public_key()
    key_file = tmp_path / "connected-app.key"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    monkeypatch.delenv("CREDITOPS_SF_PASSWORD")
    monkeypatch.delenv("CREDITOPS_SF_TOKEN")
    monkeypatch.setenv("CREDITOPS_SF_CLIENT_ID", org.client_id)
    monkeypatch.setenv("CREDITOPS_SF_PRIVATE_KEY_FILE", str(key_file))
    assert sf.sync_salesforce(workspace, connect=connect).entitlements_read == 5
    assert "POST /services/oauth2/token" in org.requests
    monkeypatch.setenv("CREDITOPS_SF_CLIENT_ID", "someone-else")
    with pytest.raises(InputError, match="invalid_client_id"):
        sf.sync_salesforce(workspace, connect=connect)


def test_sync_command(org, tmp_path, capsys, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'ws.db'}"
    ws.init_workspace(url).close()

    def run(*args: str) -> tuple[int, str, str]:
        return run_command(capsys, monkeypatch, *args, "--db", url)

    code, out, _ = run("sync", "salesforce")
    assert code == 0 and "5 entitlement(s) read (5 new or changed)" in out
    code, out, _ = run("sync", "status", "--json")
    assert code == 0 and len(json.loads(out)["entitlements"]) == 5
    code, out, _ = run("sync", "status")
    assert "Data Cloud credits 1" in out
    code, out, _ = run("sync", "salesforce", "--full", "--json")
    assert json.loads(out)["entitlements_changed"] == 0
    monkeypatch.delenv("CREDITOPS_SF_USERNAME")
    code, _, err = run("sync", "salesforce")
    assert code == 2 and "environment only" in err
