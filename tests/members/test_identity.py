from __future__ import annotations

from datetime import date

import pytest

from rescueops.members.identity import check_digit, mask_id, mask_phone, parse_id_number, valid_phone


def test_a_real_shaped_number_parses() -> None:
    number = "15042619900101" + "1231"[:3]
    number = number + check_digit(number)
    parsed, born, gender = parse_id_number(number.lower())
    assert parsed == number and born == date(1990, 1, 1) and gender == "male"


def test_the_x_check_digit() -> None:
    # 11010519491231002X is the GB 11643 worked example: check digit X, a woman born 1949-12-31.
    assert parse_id_number("11010519491231002x") == ("11010519491231002X", date(1949, 12, 31), "female")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("11010519491231002", "18 characters"),
        ("110105194912310021", "check digit is wrong (the last character should be X)"),
        ("110105194902300020", "not a date"),
        ("110105299901010020", "not possible"),
        ("1101051949123100ZX", "18 characters"),
    ],
)
def test_bad_numbers_say_why(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_id_number(raw)


def test_masks() -> None:
    assert mask_id("002X") == "**************002X"
    assert mask_phone("13912345678") == "139****5678"
    assert valid_phone(" 139 1234 5678 ") == "13912345678"
    assert valid_phone("0476-8888888") == "0476-8888888"
    with pytest.raises(ValueError):
        valid_phone("12345")
