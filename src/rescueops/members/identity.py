"""Chinese resident identity numbers (GB 11643-1999) and phone numbers: validation and masking."""

from __future__ import annotations

import re
from datetime import date

from rescueops.calendar import china_today

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def parse_id_number(raw: str, today: date | None = None) -> tuple[str, date, str]:
    """Normalise and validate; returns (number, birth date, gender). Raises ValueError with the reason."""
    number = raw.strip().upper()
    if not _SHAPE.match(number):
        raise ValueError("an ID number has 18 characters: 17 digits and a digit or X")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as error:
        raise ValueError(f"the birth date in the ID number ({number[6:14]}) is not a date") from error
    if born > (today or china_today()) or born.year < 1900:
        raise ValueError(f"the birth date in the ID number ({born.isoformat()}) is not possible")
    expected = check_digit(number[:17])
    if number[17] != expected:
        raise ValueError(f"the check digit is wrong (the last character should be {expected}): mistyped?")
    gender = "male" if int(number[16]) % 2 else "female"
    return number, born, gender


def mask_id(last4: str) -> str:
    return "*" * 14 + last4


def valid_phone(raw: str) -> str:
    phone = raw.strip().replace(" ", "")
    if not (_MOBILE.match(phone) or _LANDLINE.match(phone)):
        raise ValueError("a phone number is a mobile number (11 digits starting with 1) or a landline like 0476-8888888")
    return phone


def mask_phone(phone: str) -> str:
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
