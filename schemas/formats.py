"""Format checks for the hub's JSON Schemas: the standard 2020-12 formats plus
`pesel`, with a stricter `email`.

jsonschema only asserts `format` when a validator is given a format checker, and
only for the formats whose checker is importable: "date-time" and "time" need the
optional `rfc3339-validator` package, "uri" needs `rfc3987`, "duration" needs
`isoduration`, and so on. Whatever is missing passes silently. So the registry
refuses any schema that uses a format missing from `FORMAT_CHECKER.checkers`
(see `registry.SchemaRegistry`), which turns a missing optional package into a
start-up error instead of unchecked data.
"""

from __future__ import annotations

import re
from datetime import date

from jsonschema import Draft202012Validator, FormatChecker

# -- PESEL -------------------------------------------------------------------
# The PESEL number (Act of 24 September 2010 on population records, art. 15):
# YYMMDD birth date, a 4-digit serial (the 10th digit also encodes sex) and a
# check digit. The century is encoded in the month: +80 for 1800-1899, +0 for
# 1900-1999, +20 for 2000-2099, +40 for 2100-2199, +60 for 2200-2299.

_PESEL_RE = re.compile(r"[0-9]{11}")
_PESEL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
_CENTURY_BY_MONTH_OFFSET = {80: 1800, 0: 1900, 20: 2000, 40: 2100, 60: 2200}

PESEL_NOT_11_DIGITS = "must be exactly 11 digits"
PESEL_WRONG_CHECK_DIGIT = "has a wrong check digit"
PESEL_NO_SUCH_DATE = "does not encode an existing birth date"


def pesel_check_digit(first_ten: str) -> int:
    """The check digit for the first ten digits of a PESEL."""
    total = sum(weight * int(digit) for weight, digit in zip(_PESEL_WEIGHTS, first_ten, strict=True))
    return (10 - total % 10) % 10


def pesel_birth_date(pesel: str) -> date:
    """The birth date encoded in `pesel`. Does not look at the check digit (use
    `is_pesel` for that). Raises ValueError when `pesel` is not 11 ASCII digits or
    encodes no existing date."""
    if not isinstance(pesel, str) or not _PESEL_RE.fullmatch(pesel):
        raise ValueError(f"a PESEL {PESEL_NOT_11_DIGITS}")
    year, month, day = int(pesel[0:2]), int(pesel[2:4]), int(pesel[4:6])
    offset = month // 20 * 20  # 1-12 -> 0, 21-32 -> 20, ... 81-92 -> 80
    century = _CENTURY_BY_MONTH_OFFSET[offset]
    return date(century + year, month - offset, day)  # ValueError for month 0, 13.. or day 31 of April


def pesel_problem(value: str) -> str | None:
    """Why `value` is not a valid PESEL, or None when it is one. The messages never
    repeat the value: they end up in API errors and logs."""
    if not isinstance(value, str) or not _PESEL_RE.fullmatch(value):
        return PESEL_NOT_11_DIGITS
    if pesel_check_digit(value[:10]) != int(value[10]):
        return PESEL_WRONG_CHECK_DIGIT
    try:
        pesel_birth_date(value)
    except ValueError:
        return PESEL_NO_SUCH_DATE
    return None


def is_pesel(instance: object) -> bool:
    # Formats apply to strings only (JSON Schema 2020-12 core 7.1); `type` rejects the rest.
    if not isinstance(instance, str):
        return True
    return pesel_problem(instance) is None


# -- e-mail --------------------------------------------------------------------
# jsonschema's own check is `"@" in instance`. We accept the RFC 5321 dot-atom
# form only (no quoted local parts, no address literals): what agencies actually
# use, and what mail systems deliver to. A domain needs at least two labels.

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_IDN_ATEXT = r"(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[^\x00-\x7f])"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_IDN_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_EMAIL_RE = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*@{_LABEL}(?:\.{_LABEL})+", re.ASCII)
_IDN_EMAIL_RE = re.compile(rf"{_IDN_ATEXT}+(?:\.{_IDN_ATEXT}+)*@{_IDN_LABEL}(?:\.{_IDN_LABEL})+")
_MAX_EMAIL = 254  # RFC 5321 4.5.3.1.3 path limit minus the angle brackets
_MAX_LOCAL_PART = 64  # RFC 5321 4.5.3.1.1


def _email_like(instance: object, pattern: re.Pattern) -> bool:
    if not isinstance(instance, str):
        return True
    if len(instance) > _MAX_EMAIL or not pattern.fullmatch(instance):
        return False
    return len(instance.rpartition("@")[0]) <= _MAX_LOCAL_PART


def is_email(instance: object) -> bool:
    return _email_like(instance, _EMAIL_RE)


def is_idn_email(instance: object) -> bool:
    return _email_like(instance, _IDN_EMAIL_RE)


def _build_format_checker() -> FormatChecker:
    # FormatChecker(formats) would copy from the class-wide table, which mixes
    # every draft; start empty and copy the 2020-12 checker's own table instead,
    # so the shared Draft202012Validator.FORMAT_CHECKER is never modified.
    checker = FormatChecker(formats=())
    checker.checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)
    checker.checks("pesel")(is_pesel)
    checker.checks("email")(is_email)
    checker.checks("idn-email")(is_idn_email)
    return checker


FORMAT_CHECKER = _build_format_checker()
