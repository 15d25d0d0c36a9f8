"""Settlement and usage CSVs: what they accept, and how they report what they refuse."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from creditops.adapters.renewal_files import read_daily_usage, read_settlements
from creditops.core.errors import InputError


def write(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(call: object, path: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        call(path)  # type: ignore[operator]
    return [str(problem) for problem in caught.value.problems]


def test_settlements_read(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffDate,Product,quantity_added,price_paid,original_rate,months,"
                           "amount,forecast_quantity,disputed,note\n"
                           "2027-05-01,p,18,175,122.50,,,25,yes,hiring\n"
                           "2027-08-01,p,2,175,122.50,6,2000,,,\n")
    first, second = read_settlements(path)
    assert first.when == date(2027, 5, 1) and first.quantity_added == 18
    assert first.original_rate == Decimal("122.50") and first.disputed and first.note == "hiring"
    assert first.months is None and first.forecast_quantity == 25
    assert second.months == 6 and second.amount == 2000 and not second.disputed


def test_settlement_problems_carry_row_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "date,product,quantity_added,price_paid,original_rate,disputed\n"
                           "2027/05/01,,1.5,-3,x,maybe\n")
    found = problems(read_settlements, path)
    assert f"{path}, row 2, column 'date': '2027/05/01' is not a date (write YYYY-MM-DD)" in found
    assert any("column 'product': empty value" in p for p in found)
    assert any("column 'quantity_added': '1.5' is not a whole number" in p for p in found)
    assert any("column 'price_paid': '-3' is negative" in p for p in found)
    assert any("column 'original_rate': 'x' is not a number" in p for p in found)
    assert any("column 'disputed': 'maybe' is not yes/no" in p for p in found)


def test_settlement_header_problems(tmp_path: Path) -> None:
    found = problems(read_settlements, write(tmp_path, "date,product,qty\n"))
    assert any("column 'quantity_added': missing column" in p for p in found)
    assert any("column 'qty': unknown column" in p for p in found)
    found = problems(read_settlements, write(tmp_path, "date,product,quantity_added,price_paid,"
                                                       "original_rate\n"))
    assert any("no settlements" in p for p in found)
    found = problems(read_settlements, write(tmp_path, "date,product,quantity_added,price_paid,"
                                                       "original_rate\n2027-01-01,p,,1,1\n"))
    assert any("column 'quantity_added': empty value" in p for p in found)


def test_usage(tmp_path: Path) -> None:
    path = write(tmp_path, "date,quantity\n2026-01-02,5\n2026-01-01,1.5\n2026-01-02,2\n")
    assert read_daily_usage(path) == [(date(2026, 1, 1), Decimal("1.5")),
                                      (date(2026, 1, 2), Decimal(7))]
    assert any("no usage rows" in p for p in problems(read_daily_usage,
                                                      write(tmp_path, "date,quantity\n")))
    bad = write(tmp_path, "date,quantity\n2026-01-01,x\n")
    assert any("'x' is not a number" in p for p in problems(read_daily_usage, bad))


def test_unreadable(tmp_path: Path) -> None:
    assert problems(read_daily_usage, tmp_path / "missing.csv") == [
        f"{tmp_path / 'missing.csv'}: file not found"]
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\xfa")
    assert any("not UTF-8 text" in p for p in problems(read_daily_usage, binary))
    assert any("the file is empty" in p for p in problems(read_settlements,
                                                          write(tmp_path, "")))


def test_rows_are_numbered_as_the_file_shows_them(tmp_path: Path) -> None:
    path = write(tmp_path, "date,quantity\n2026-01-01,1\n\n2026-01-03T09:30,2\n")
    assert problems(read_daily_usage, path) == [
        f"{path}, row 4, column 'date': '2026-01-03T09:30' is not a date (write YYYY-MM-DD)"]


def test_settlements_from_a_workbook(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Date", "Product", "Quantity_Added", "price_paid", "original_rate"])
    sheet.append([datetime(2027, 5, 1), "p", 18, 175, "122.50"])
    sheet.append([date(2027, 8, 1), "p", 2, 175.5, 122.5])
    path = tmp_path / "settlements.xlsx"
    workbook.save(path)
    first, second = read_settlements(path)
    assert (first.when, first.quantity_added, first.price_paid) == (date(2027, 5, 1), 18, 175)
    assert first.original_rate == Decimal("122.50")
    assert (second.when, second.price_paid, second.original_rate) == (
        date(2027, 8, 1), Decimal("175.5"), Decimal("122.5"))
