"""Exact decimal helpers and error messages."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from creditops.core.errors import InputError, Problem
from creditops.core.numbers import normalize, parse_decimal, round_money, round_to


def test_round_money_is_half_up_to_cents() -> None:
    assert round_money(D("2.345")) == D("2.35")
    assert round_money(D("-2.345")) == D("-2.35")
    assert round_to(D("0.1234565"), 6) == D("0.123457")


@pytest.mark.parametrize(("text", "value"), [
    ("12.50", D("12.50")), (" 1_000 ", D(1000)), (7, D(7)), (D("0.1"), D("0.1")), ("-3", D(-3)),
])
def test_parse_decimal_reads_exact_numbers(text: object, value: D) -> None:
    assert parse_decimal(text) == value


@pytest.mark.parametrize(("text", "message"), [
    (0.1, "not an exact decimal"), (True, "not an exact decimal"), ("", "empty"),
    ("12,5", "not a number"), ("NaN", "not a finite"), ("inf", "not a finite"),
    (None, "not a number"), (D("Infinity"), "not a finite"),
])
def test_parse_decimal_refuses_what_is_not_an_exact_number(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_decimal(text)


def test_normalize_strips_zeros_without_exponents() -> None:
    assert str(normalize(D("2000000.000"))) == "2000000"
    assert str(normalize(D("11.50"))) == "11.5"
    assert str(normalize(D("0.000"))) == "0"


def test_problems_say_where_and_why() -> None:
    assert str(Problem("bad", "f.csv", 3, "quantity")) == "f.csv, row 3, column 'quantity': bad"
    assert str(Problem("bad")) == "bad"
    error = InputError(Problem("one", "f.csv"))
    assert error.problems == [Problem("one", "f.csv")] and str(error) == "f.csv: one"
    assert len(InputError([Problem("a"), Problem("b")]).problems) == 2


def test_yaml_problems_speak_of_lines_and_keys() -> None:
    problem = Problem("bad", "r.yaml", 4, "pools[0].kind", row_label="line", column_label="key")
    assert str(problem) == "r.yaml, line 4, key 'pools[0].kind': bad"
