from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from schemas.formats import (
    FORMAT_CHECKER,
    PESEL_NO_SUCH_DATE,
    PESEL_NOT_11_DIGITS,
    PESEL_WRONG_CHECK_DIGIT,
    is_pesel,
    pesel_birth_date,
    pesel_problem,
)

# Written from the specification, independently of schemas.formats.
WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
MONTH_OFFSET_BY_CENTURY = {18: 80, 19: 0, 20: 20, 21: 40, 22: 60}


def make_pesel(born: date, serial: int) -> str:
    month = born.month + MONTH_OFFSET_BY_CENTURY[born.year // 100]
    head = f"{born.year % 100:02d}{month:02d}{born.day:02d}{serial:04d}"
    check = (10 - sum(w * int(d) for w, d in zip(WEIGHTS, head)) % 10) % 10
    return head + str(check)


def with_check_digit(head: str) -> str:
    return head + str((10 - sum(w * int(d) for w, d in zip(WEIGHTS, head)) % 10) % 10)


birth_dates = st.dates(min_value=date(1800, 1, 1), max_value=date(2299, 12, 31))
serials = st.integers(min_value=0, max_value=9999)


def test_a_published_example_pesel_is_valid_and_gives_its_birth_date():
    assert is_pesel("44051401359")
    assert pesel_birth_date("44051401359") == date(1944, 5, 14)


@given(born=birth_dates, serial=serials)
def test_every_well_formed_pesel_is_accepted_and_decodes_to_its_date(born, serial):
    pesel = make_pesel(born, serial)
    assert pesel_problem(pesel) is None
    assert FORMAT_CHECKER.conforms(pesel, "pesel")
    assert pesel_birth_date(pesel) == born


@given(
    born=birth_dates,
    serial=serials,
    position=st.integers(min_value=0, max_value=10),
    shift=st.integers(min_value=1, max_value=9),
)
def test_changing_any_single_digit_is_refused(born, serial, position, shift):
    pesel = make_pesel(born, serial)
    digit = str((int(pesel[position]) + shift) % 10)
    changed = pesel[:position] + digit + pesel[position + 1 :]
    assert not is_pesel(changed)
    assert not FORMAT_CHECKER.conforms(changed, "pesel")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ("0022290000", date(2000, 2, 29)),  # +20: 2000s, and 2000 is a leap year
        ("9912310000", date(1999, 12, 31)),  # +0: 1900s
        ("9992310000", date(1899, 12, 31)),  # +80: 1800s
        ("0041010000", date(2100, 1, 1)),  # +40: 2100s
        ("9972310000", date(2299, 12, 31)),  # +60: 2200s
    ],
)
def test_the_month_offset_selects_the_century(head, expected):
    pesel = with_check_digit(head)
    assert pesel_birth_date(pesel) == expected
    assert is_pesel(pesel)


@pytest.mark.parametrize(
    "head",
    [
        "0082290000",  # 1800-02-29: 1800 is not a leap year
        "0002290000",  # 1900-02-29
        "0042290000",  # 2100-02-29
        "0062290000",  # 2200-02-29
        "9904310000",  # 31 April
        "9900010000",  # month 0
        "9913010000",  # month 13
        "9920010000",  # month 20 (offset 20, month 0)
        "9933010000",  # month 33
        "9993010000",  # month 93
        "9901000000",  # day 0
    ],
)
def test_a_pesel_encoding_no_existing_date_is_refused(head):
    pesel = with_check_digit(head)
    assert pesel_problem(pesel) == PESEL_NO_SUCH_DATE
    with pytest.raises(ValueError):
        pesel_birth_date(pesel)


@pytest.mark.parametrize(
    "value",
    ["4405140135", "440514013590", "4405140135x", "", "44051401359\n", " 44051401359", "٤٤٠٥١٤٠١٣٥٩"],
)
def test_anything_but_eleven_ascii_digits_is_refused(value):
    assert pesel_problem(value) == PESEL_NOT_11_DIGITS
    assert not FORMAT_CHECKER.conforms(value, "pesel")


def test_a_wrong_check_digit_is_named_as_such():
    assert pesel_problem("44051401358") == PESEL_WRONG_CHECK_DIGIT


def test_the_pesel_format_ignores_non_strings_as_json_schema_requires():
    assert is_pesel(44051401359)
    assert is_pesel(None)


def test_the_shared_jsonschema_format_checker_is_left_untouched():
    assert "pesel" not in Draft202012Validator.FORMAT_CHECKER.checkers
    assert Draft202012Validator.FORMAT_CHECKER.conforms("@", "email")  # its own, lax check
    assert "pesel" in FORMAT_CHECKER.checkers


@pytest.mark.parametrize(
    ("format_name", "good", "bad"),
    [
        (
            "date",
            ["2024-02-29", "1999-12-31"],
            ["2023-02-29", "2024-13-01", "2024-1-01", "01-01-2024", "2024-01-01T00:00:00Z", "٢٠٢٤-٠١-٠١"],
        ),
        (
            "date-time",
            ["2024-02-29T12:00:00Z", "2024-01-01T00:00:00.123+01:00"],
            ["2024-02-30T12:00:00Z", "2024-01-01T25:00:00Z", "2024-01-01T12:00:00", "2024-01-01 12:00"],
        ),
        ("time", ["12:00:00Z", "23:59:59+02:00"], ["24:00:00Z", "12:00"]),
        (
            "email",
            ["jan.kowalski@mops.krakow.pl", "a+b@example.org", "o'brien@example.ie"],
            [
                "@", "jan@", "@mops.pl", "jan@localhost", "jan kowalski@mops.pl", "jan..k@mops.pl",
                "jan@mops..pl", "jan@-mops.pl", "a@b@c.pl", "ż@mops.pl",
            ],
        ),
        ("idn-email", ["żaneta@mops.pl", "jan@łódź.pl"], ["@", "jan@", "jan kowalski@mops.pl"]),
        ("uuid", ["0b9e4b4e-0e2a-4bd2-9c2e-8f3c3f4e1a2b"], ["0b9e4b4e", "not-a-uuid"]),
    ],
)
def test_standard_formats_are_really_checked(format_name, good, bad):
    for value in good:
        assert FORMAT_CHECKER.conforms(value, format_name), value
    for value in bad:
        assert not FORMAT_CHECKER.conforms(value, format_name), value


def test_an_email_longer_than_rfc_5321_allows_is_refused():
    assert not FORMAT_CHECKER.conforms("a" * 65 + "@mops.pl", "email")
    domain = ".".join(["b" * 60] * 4) + ".pl"  # 246 characters
    assert FORMAT_CHECKER.conforms("a" * 7 + "@" + domain, "email")  # 254
    assert not FORMAT_CHECKER.conforms("a" * 8 + "@" + domain, "email")  # 255
    assert FORMAT_CHECKER.conforms("a" * 64 + "@mops.pl", "email")


def test_a_validator_given_the_checker_asserts_formats():
    validator = Draft202012Validator({"format": "pesel"}, format_checker=FORMAT_CHECKER)
    assert validator.is_valid("44051401359")
    assert not validator.is_valid("44051401358")
