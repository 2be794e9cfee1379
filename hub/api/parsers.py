import json
import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from .errors import ValidationFailed, json_pointer

# The problem's code, and each error's code (which character it is).
UNSUPPORTED_CHARACTER = "unsupported_character"
NUL_CHARACTER = "nul_character"
LONE_SURROGATE = "lone_surrogate"

# U+0000, and any surrogate code point: json.loads joins a well-formed "\ud83d\ude00"
# pair into one character, so a surrogate left in a decoded string is a lone one.
_UNSUPPORTED = re.compile("[\x00\ud800-\udfff]")
# (a string, a member name) -> detail, per code.
_DETAILS = {
    NUL_CHARACTER: (
        gettext_lazy("The string contains a NUL character (U+0000), which cannot be stored."),
        gettext_lazy("A member name of this object contains a NUL character (U+0000), which cannot be stored."),
    ),
    LONE_SURROGATE: (
        gettext_lazy("The string contains a lone surrogate (U+D800-U+DFFF), which is not Unicode text."),
        gettext_lazy(
            "A member name of this object contains a lone surrogate (U+D800-U+DFFF), which is not Unicode text."
        ),
    ),
}
# Enough to fix a request by; a body full of them must not make a huge answer.
MAX_REPORTED = 20


class JSONParser(parsers.JSONParser):
    """DRF's parser, made safe for every endpoint at once:

    - a document nested a thousand levels deep (a few KB) raises RecursionError,
      which DRF does not catch: refused as 400;
    - JSON may escape NUL ("\\u0000") and lone surrogates ("\\ud800") (RFC 8259
      §8.2 leaves them to the receiver). PostgreSQL refuses NUL in text and
      jsonb, and its error quotes the document into the log; a lone surrogate
      cannot be encoded as UTF-8. Refused as 422, pointing at each string and
      never quoting it (PITFALLS, "Databases")."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            document = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - the document is nested too deeply.")) from None
        except ParseError as error:
            # DRF's message quotes the json module's English one: say where instead.
            raise ParseError(_parse_error_detail(error.__context__)) from None
        errors = unsupported_characters(document)
        if errors:
            raise ValidationFailed(
                _("Strings in the request contain characters that cannot be stored; see `errors`."),
                code=UNSUPPORTED_CHARACTER,
                errors=errors,
            )
        return document


def _parse_error_detail(cause) -> str:
    if isinstance(cause, json.JSONDecodeError):
        return _("JSON parse error at line %(line)s, column %(column)s.") % {"line": cause.lineno, "column": cause.colno}
    if isinstance(cause, UnicodeDecodeError):
        return _("The request body is not valid UTF-8 text.")
    return _("The request body is not valid JSON (NaN and Infinity are not JSON numbers).")


def unsupported_characters(document) -> list[dict]:
    """{pointer, detail, code} for each string holding NUL or a lone surrogate.

    A bad member name is reported at its object's pointer: a pointer naming it
    would quote it (and could not even be encoded). The walk is iterative, as
    the document may be nested as deep as the parser allowed, and a path is a
    linked (parent, key) pair spelled out only for a string that is reported."""
    errors = []
    stack = [(document, None)]
    while stack and len(errors) < MAX_REPORTED:
        value, link = stack.pop()
        if isinstance(value, str):
            _check(value, link, False, errors)
        elif isinstance(value, list):
            stack.extend((item, (link, index)) for index, item in reversed(list(enumerate(value))))
        elif isinstance(value, dict):
            keys = [key for key in value if _check(key, link, True, errors)]
            stack.extend((value[key], (link, key)) for key in reversed(keys))
    return errors[:MAX_REPORTED]


def _check(text: str, link, is_name: bool, errors: list) -> bool:
    """Record a problem with `text` (found at `link`; a member name when
    `is_name`, else a string value); True when it has none."""
    found = _UNSUPPORTED.search(text)
    if found is None:
        return True
    code = NUL_CHARACTER if found.group() == "\x00" else LONE_SURROGATE
    errors.append({"pointer": json_pointer(_path(link)), "detail": str(_DETAILS[code][is_name]), "code": code})
    return False


def _path(link) -> list:
    path = []
    while link is not None:
        link, key = link
        path.append(key)
    return path[::-1]
