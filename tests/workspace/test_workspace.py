"""The register's use cases against real databases: SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import func, select

from creditops.adapters.storage.tables import ChangeRow, ImportRow, UsageRow
from creditops.core.errors import InputError
from creditops.services import imports
from creditops.services import workspace as ws
from creditops.services.errors import NotFoundError

REGISTER = """\
currency: USD
timezone: {timezone}
contracts:
  - {{id: MSA, name: "Order form", start: 2026-02-01, end: 2029-01-31}}
pools:
  - id: flex
    kind: flex_credits
    unit: credit
    unit_value: 0.005
    contract: MSA
    owner: "Priya <priya@example.com>"
    grants:
      - {{id: y1, quantity: {quantity}, effective: 2026-02-01, expires: 2027-01-31}}
  - id: vouchers
    kind: training_credits
    unit: voucher
    unit_value: "200"
    grants:
      - {{id: v1, quantity: 10, effective: 2026-01-01}}
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def workspace(database_url: str, tmp_path: Path):
    workspace = ws.init_workspace(database_url)
    ws.load_register(workspace, write(tmp_path / "register.yaml",
                                      REGISTER.format(timezone="UTC", quantity=1000)))
    yield workspace
    workspace.close()


def usage_count(workspace: ws.Workspace) -> int:
    with workspace.session() as session:
        return int(session.scalar(select(func.count()).select_from(UsageRow)) or 0)


def test_import_then_balance_and_register(workspace: ws.Workspace, tmp_path: Path) -> None:
    usage = write(tmp_path / "usage.csv",
                  "date,pool,quantity,usage_type,ref\n"
                  "2026-03-01,flex,100.125,action,a1\n"
                  "2026-03-02,flex,50,,a2\n"
                  "2026-03-03,flex,-20,,a2\n"
                  "2026-03-03,vouchers,2,,\n")
    summary = imports.import_usage(workspace, usage)
    assert (summary.rows_read, summary.accepted, summary.duplicate) == (4, 4, 0)
    balance = ws.pool_balance(workspace, "flex", "2026-03-02")
    assert balance.consumed == D("150.125") and balance.balance == D("849.875")
    assert ws.pool_balance(workspace, "flex", "2026-03-03").consumed == D("130.125")
    register = ws.build_workspace_register(workspace, "2026-06-30")
    assert register.as_of == datetime(2026, 7, 1, tzinfo=UTC)
    assert register.pool("flex").row.consumed == D("130.125")
    assert register.pool("vouchers").grants[0].remaining == D(8)


def test_exact_decimals_survive_the_database(workspace: ws.Workspace, tmp_path: Path) -> None:
    tiny, huge = "0.000000000001", "12345678901234567890.123456789"
    imports.import_usage(workspace, write(tmp_path / "u.csv", "date,pool,quantity\n"
                                     f"2026-03-01,flex,{tiny}\n2026-03-02,vouchers,{huge}\n"))
    with workspace.session() as session:
        stored = sorted(session.scalars(select(UsageRow.quantity)))
    assert stored == [D(tiny), D(huge)]


def test_reimport_counts_nothing_twice_and_overlap_adds_only_new_rows(
        workspace: ws.Workspace, tmp_path: Path) -> None:
    first = write(tmp_path / "jan.csv", "date,pool,quantity\n2026-03-01,flex,5\n"
                  "2026-03-01,flex,5\n2026-03-02,flex,7\n")
    imports.import_usage(workspace, first)
    again = imports.import_usage(workspace, first)
    assert (again.accepted, again.duplicate) == (0, 3)
    later = write(tmp_path / "feb.csv", "date,pool,quantity\n2026-03-01,flex,5\n"
                  "2026-03-01,flex,5\n2026-03-02,flex,7\n2026-03-03,flex,1\n")
    overlap = imports.import_usage(workspace, later)
    assert (overlap.accepted, overlap.duplicate) == (1, 3)
    assert ws.pool_balance(workspace, "flex", "2026-03-03").consumed == D(18)


@pytest.mark.parametrize(("content", "fragments"), [
    ("date,pool,quantity\n2026-03-01,nope,5\n", ["row 2", "'pool'", "unknown pool 'nope'"]),
    ("date,pool,quantity\n2026-03-01,flex,five\n", ["row 2", "'quantity'", "not a number"]),
    ("date,pool,quantity\n2026-03-01,flex,-5\n", ["'quantity'", "reversal"]),
    ("date,pool,quantity\n2026-13-01,flex,5\n", ["'date'", "not a date"]),
    ("at,pool,quantity\nyesterday,flex,5\n", ["'at'", "ISO 8601"]),
    ("date,pool,quantity,ref\n2026-03-01,flex,-5,zz\n", ["'ref'", "no usage of pool"]),
    ("date,pool,quantity,ref\n2026-03-01,flex,5,a\n2026-03-02,flex,-6,a\n",
     ["row 3", "more than"]),
    ("date,pool,quantity,ref\n2026-03-01,flex,5,a\n2026-03-02,flex,6,a\n",
     ["row 3", "more than once"]),
    ("date,pool,qty\n2026-03-01,flex,5\n", ["row 1", "unknown column(s) 'qty'",
                                            "missing column(s) quantity"]),
    ("pool,quantity\nflex,5\n", ["exactly one of the columns"]),
    ("", ["the file is empty"]),
    ("date,pool,quantity\n2026-03-01,flex,5,extra\n", ["row 2", "4 cells"]),
])
def test_bad_usage_files_name_the_place_and_change_nothing(
        workspace: ws.Workspace, tmp_path: Path, content: str, fragments: list[str]) -> None:
    path = write(tmp_path / "bad.csv", content)
    with pytest.raises(InputError) as caught:
        imports.import_usage(workspace, path)
    message = str(caught.value)
    assert "bad.csv" in message
    for fragment in fragments:
        assert fragment in message
    assert usage_count(workspace) == 0
    with workspace.session() as session:
        assert session.scalar(select(func.count()).select_from(ImportRow)
                              .where(ImportRow.kind == "usage")) == 0


def test_wrong_encoding_is_reported_with_its_row(workspace: ws.Workspace, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("date,pool,quantity,note\n2026-03-01,flex,5,caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        imports.import_usage(workspace, path)


def test_quarantine_imports_good_rows_and_writes_bad_ones(workspace: ws.Workspace,
                                                          tmp_path: Path) -> None:
    path = write(tmp_path / "mixed.csv", "date,pool,quantity\n2026-03-01,flex,5\n"
                 "2026-03-02,nope,1\n2026-03-03,flex,x\n")
    quarantine = tmp_path / "rejected.csv"
    summary = imports.import_usage(workspace, path, quarantine=quarantine)
    assert (summary.accepted, summary.rejected) == (1, 2)
    text = quarantine.read_text()
    assert "unknown pool 'nope'" in text and "not a number" in text and text.count("\n") == 3


def test_xlsx_usage_is_read_like_csv(workspace: ws.Workspace, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["date", "pool", "quantity", "ref"])
    sheet.append([datetime(2026, 3, 1), "flex", 12.5, "x1"])
    sheet.append(["2026-03-02", "flex", "0.1", "x2"])
    path = tmp_path / "usage.xlsx"
    book.save(path)
    summary = imports.import_usage(workspace, path)
    assert summary.accepted == 2
    assert ws.pool_balance(workspace, "flex", "2026-03-02").consumed == D("12.6")


def test_rollback_of_a_usage_import(workspace: ws.Workspace, tmp_path: Path) -> None:
    summary = imports.import_usage(workspace, write(tmp_path / "u.csv",
                                               "date,pool,quantity\n2026-03-01,flex,5\n"))
    imports.rollback_import(workspace, summary.import_id)
    assert usage_count(workspace) == 0
    with pytest.raises(InputError, match="already rolled back"):
        imports.rollback_import(workspace, summary.import_id)
    with pytest.raises(NotFoundError):
        imports.rollback_import(workspace, 999)
    assert imports.import_usage(workspace, tmp_path / "u.csv").accepted == 1


def test_rollback_refuses_when_a_later_import_reverses_its_rows(workspace: ws.Workspace,
                                                               tmp_path: Path) -> None:
    first = imports.import_usage(workspace, write(tmp_path / "a.csv",
                                             "date,pool,quantity,ref\n2026-03-01,flex,5,r\n"))
    imports.import_usage(workspace, write(tmp_path / "b.csv",
                                     "date,pool,quantity,ref\n2026-03-02,flex,-5,r\n"))
    with pytest.raises(InputError, match="roll that one back first"):
        imports.rollback_import(workspace, first.import_id)


def test_reloading_the_register_updates_in_place_and_keeps_history(
        workspace: ws.Workspace, tmp_path: Path) -> None:
    changed = write(tmp_path / "register2.yaml", REGISTER.format(timezone="UTC", quantity=1500))
    summary = ws.load_register(workspace, changed)
    assert (summary.created, summary.updated) == (0, 1)
    assert ws.pool_balance(workspace, "flex", "2026-03-01").balance == D(1500)
    with workspace.session() as session:
        change = session.scalars(select(ChangeRow).where(ChangeRow.entity_id == "y1",
                                                         ChangeRow.action == "update")).one()
        assert change.before == {"quantity": "1000"} and change.after == {"quantity": "1500"}
    assert ws.load_register(workspace, changed).updated == 0
    imports.rollback_import(workspace, summary.import_id)
    assert ws.pool_balance(workspace, "flex", "2026-03-01").balance == D(1000)


def test_register_rollback_respects_later_changes_and_usage(workspace: ws.Workspace,
                                                            tmp_path: Path) -> None:
    second = ws.load_register(workspace, write(tmp_path / "r2.yaml",
                                               REGISTER.format(timezone="UTC", quantity=2000)))
    ws.load_register(workspace, write(tmp_path / "r3.yaml",
                                      REGISTER.format(timezone="UTC", quantity=3000)))
    with pytest.raises(InputError, match="changed grant 'y1' later"):
        imports.rollback_import(workspace, second.import_id)


def test_register_rollback_refuses_to_remove_a_pool_with_usage(workspace: ws.Workspace,
                                                               tmp_path: Path) -> None:
    imports.import_usage(workspace,
                         write(tmp_path / "u.csv", "date,pool,quantity\n2026-03-01,flex,1\n"))
    with pytest.raises(InputError, match="has usage"):
        imports.rollback_import(workspace, 1)


def test_time_zone_decides_where_days_start(database_url: str, tmp_path: Path) -> None:
    workspace = ws.init_workspace(database_url)
    ws.load_register(workspace, write(tmp_path / "r.yaml", REGISTER.format(
        timezone="America/New_York", quantity=1000)))
    imports.import_usage(workspace, write(tmp_path / "u.csv", "date,pool,quantity\n"
                                     "2026-03-01,flex,5\n"))
    # The end of 28 Feb in New York is 05:00 UTC on 1 March: the usage of 1 March is not in.
    assert ws.pool_balance(workspace, "flex", "2026-02-28").consumed == 0
    assert ws.pool_balance(workspace, "flex", "2026-03-01T04:59:59Z").consumed == 0
    assert ws.pool_balance(workspace, "flex", "2026-03-01T05:00:01Z").consumed == 5
    # The grant expires through the end of 31 January 2027, New York time.
    balance = ws.pool_balance(workspace, "flex", "2027-02-01T04:59:59Z")
    assert balance.balance == D(995)
    assert ws.pool_balance(workspace, "flex", "2027-02-01T05:00:00Z").balance == 0
    workspace.close()


def test_concurrent_imports_of_overlapping_files_equal_one(database_url: str,
                                                          tmp_path: Path) -> None:
    workspace = ws.init_workspace(database_url)
    ws.load_register(workspace, write(tmp_path / "r.yaml",
                                      REGISTER.format(timezone="UTC", quantity=10**9)))
    rows = [f"2026-03-{day:02d},flex,{day},r{day}" for day in range(1, 29)]
    a = write(tmp_path / "a.csv", "date,pool,quantity,ref\n" + "\n".join(rows[:20]) + "\n")
    b = write(tmp_path / "b.csv", "date,pool,quantity,ref\n" + "\n".join(rows[8:]) + "\n")
    errors: list[BaseException] = []

    def run(path: Path) -> None:
        try:
            imports.import_usage(workspace, path)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(p,)) for p in (a, b, a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert usage_count(workspace) == 28
    assert ws.pool_balance(workspace, "flex", "2026-03-31").consumed == sum(range(1, 29))
    workspace.close()


def test_as_of_parsing() -> None:
    zone = UTC
    assert ws.resolve_as_of("2026-06-30", zone) == datetime(2026, 7, 1, tzinfo=UTC)
    assert ws.resolve_as_of("2026-06-30T10:00:00", zone) == datetime(2026, 6, 30, 10,
                                                                     tzinfo=UTC)
    now = datetime(2026, 1, 2, 3, tzinfo=UTC)
    assert ws.resolve_as_of(None, zone, now) == now
    with pytest.raises(InputError, match="--as-of"):
        ws.resolve_as_of("30/06/2026", zone)


def test_unknown_pool_and_missing_workspace(workspace: ws.Workspace, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"no pool 'nope'.*flex, vouchers"):
        ws.pool_balance(workspace, "nope")
    with pytest.raises(NotFoundError, match="creditops init"):
        ws.open_workspace(f"sqlite:///{tmp_path / 'absent.db'}")


@pytest.mark.parametrize("content", [b"", b"id,at\n", bytes(range(256)) * 9000])
@pytest.mark.parametrize("window", [None, "a page"])
def test_a_files_hash_is_its_contents_sha256_mapped_or_read(
        tmp_path: Path, content: bytes, window: str | None, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    """A regular file is hashed through a mapping of it, window by window; an empty one (which
    cannot be mapped) and a pipe are read."""
    import hashlib
    import mmap
    import os

    from creditops.adapters import usage_file
    from creditops.adapters.usage_file import file_sha256

    if window:  # hundreds of windows, the last one short
        monkeypatch.setattr(usage_file, "HASH_WINDOW", mmap.ALLOCATIONGRANULARITY)
    expected = hashlib.sha256(content).hexdigest()
    regular = tmp_path / "usage.csv"
    regular.write_bytes(content)
    assert file_sha256(regular) == expected
    pipe = tmp_path / "usage.pipe"
    os.mkfifo(pipe)
    writer = threading.Thread(target=pipe.write_bytes, args=(content,))
    writer.start()
    assert file_sha256(pipe) == expected
    writer.join()
