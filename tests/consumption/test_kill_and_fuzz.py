"""An import killed with SIGKILL at any moment leaves the workspace as it was; malformed files
give located input errors, never another exception and never a partial write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditops.core.errors import InputError
from creditops.services import consumption as cs
from creditops.services import marketing_cloud as marketing
from creditops.services import wallet
from creditops.services import workspace as ws
from tests.consumption.conftest import REGISTER, state

ROOT = Path(__file__).resolve().parents[2]


def big_events_file(path: Path, rows: int) -> Path:
    duckdb.sql(f"""
        COPY (SELECT 'k-' || i AS id,
                     TIMESTAMPTZ '2026-08-01 00:00:00+00' + INTERVAL (i % 2592000) SECOND AS "at",
                     CASE WHEN i % 3 = 0 THEN 'flex' ELSE 'data-cloud' END AS pool,
                     'type-' || (i % 5) AS usage_type,
                     CAST((i % 1000) / 100 AS DECIMAL(18, 2)) AS quantity
              FROM range({rows}) t(i))
        TO '{path}' (HEADER, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%SZ')""")
    return path


@pytest.mark.slow
def test_sigkill_at_any_moment_leaves_the_workspace_unchanged(database_url, tmp_path) -> None:
    """A kill before the commit leaves nothing; a kill after it (while the process tidies up)
    leaves the whole import. Never anything in between."""
    workspace = ws.init_workspace(database_url)
    try:
        register = tmp_path / "register.yaml"
        register.write_text(REGISTER, encoding="utf-8")
        ws.load_register(workspace, register)
        events = big_events_file(tmp_path / "events.csv", 1_000_000)
        totals = duckdb.sql(f"""SELECT count(*) FROM (
            SELECT DISTINCT epoch_us("at") // 86400000000, pool, usage_type
            FROM read_csv('{events}'))""").fetchall()[0]
        before = state(workspace)
        complete = (before[0] + totals[0], before[1] + 1, before[2] + 1)
        environment = {**os.environ, "CREDITOPS_DATABASE_URL": database_url, "TZ": "UTC"}
        command = [sys.executable, "-m", "creditops", "import", "events", str(events)]
        killed_before_commit = 0
        for delay in (0.2, 0.5, 1.0, 1.6, 2.4, 3.3):
            errors = tmp_path / "stderr.txt"
            with errors.open("wb") as stderr:
                process = subprocess.Popen(command, env=environment, cwd=ROOT,
                                           stdout=subprocess.DEVNULL, stderr=stderr)
                time.sleep(delay)
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=60)
            after = state(workspace)
            if after == before:
                assert process.returncode == -signal.SIGKILL, errors.read_text()
                killed_before_commit += 1
                continue
            assert after == complete, f"a partial import after a kill at {delay} s: {after}"
            break
        assert killed_before_commit >= 3
        if state(workspace) == before:
            finished = subprocess.run(command, env=environment, cwd=ROOT, capture_output=True,
                                      text=True, timeout=300, check=False)
            assert finished.returncode == 0, finished.stderr
            assert "1,000,000 events counted" in finished.stdout
        assert state(workspace) == complete
    finally:
        workspace.close()


# -- fuzzing -----------------------------------------------------------------------------------

CELL = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
    st.sampled_from(["", "2026-08-01T10:00:00Z", "2026-13-45", "flex", "data-cloud", "-5",
                     "1e9", "NaN", "1.1234567", "\"", "0Tu1", "Production", "Sandbox",
                     "AgentforceFlexCredits", "10/31/2026 8:00:00 AM", "999999999999999999999"]),
)
ROWS = st.lists(st.lists(CELL, min_size=0, max_size=8), min_size=0, max_size=6)
HEADERS = {
    "events": ["id", "at", "pool", "usage_type", "quantity"],
    "wallet": ["Id", "EventTime", "CardDefinitionDeveloperName", "UsageTypeDeveloperName",
               "UnitsConsumed", "UsageBusinessEnvType"],
    "sent": ["JobID", "ListID", "BatchID", "SubscriberID", "EventDate",
             "TriggeredSendCustomerKey"],
}


def _csv(header: list[str], rows: list[list[str]], drop_header: bool, garbage: bytes) -> bytes:
    def line(cells: list[str]) -> str:
        return ",".join('"' + c.replace('"', '""') + '"' if any(x in c for x in ',"\n\r')
                        else c for c in cells)

    text = "" if drop_header else line(header) + "\n"
    text += "".join(line(cells) + "\n" for cells in rows)
    return text.encode("utf-8") + garbage


@pytest.fixture(scope="module")
def fuzz_workspace(tmp_path_factory: pytest.TempPathFactory) -> ws.Workspace:
    folder = tmp_path_factory.mktemp("fuzz")
    workspace = ws.init_workspace(f"sqlite:///{folder / 'ws.db'}")
    register = folder / "register.yaml"
    register.write_text(REGISTER, encoding="utf-8")
    ws.load_register(workspace, register)
    return workspace


def _importer(kind: str, workspace: ws.Workspace, path: Path) -> None:
    if kind == "events":
        cs.import_events(workspace, str(path))
    elif kind == "wallet":
        wallet.import_wallet_file(workspace, path)
    else:
        marketing.import_marketing_cloud(workspace, path)


@pytest.mark.parametrize("kind", ["events", "wallet", "sent"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(rows=ROWS, drop_header=st.booleans(),
       garbage=st.sampled_from([b"", b"\xff\xfe\x00", b"\n,,,,\n", b'"unterminated']))
def test_malformed_files_give_input_errors_only(kind, fuzz_workspace, tmp_path, rows,
                                                drop_header, garbage) -> None:
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(_csv(HEADERS[kind], rows, drop_header, garbage))
    before = state(fuzz_workspace)
    try:
        _importer(kind, fuzz_workspace, path)
    except InputError as error:
        assert error.problems and all(p.reason for p in error.problems)
        assert state(fuzz_workspace) == before
    else:
        usage, imports, _ = state(fuzz_workspace)
        assert imports == before[1] + 1 and usage >= before[0]
