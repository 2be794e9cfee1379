"""Refuse, under /api/ and /o/, requests that would otherwise reach a library
that crashes on them or an error page that is not problem+json.

- A query string that is not valid percent-encoding (RFC 3986 §2.1): oauthlib
  raises on `?x=%ZZ` (DOT turns it into a SuspiciousOperation inside DRF
  authentication, a plain ValueError in its own views): a 500 with a
  traceback per request (PITFALLS, django-oauth-toolkit).
- NUL (U+0000) in a query parameter, in the OAuth endpoints' form body or in
  HTTP Basic client credentials: PostgreSQL refuses it in text, a 500 (PITFALLS,
  "Databases"). JSON bodies are checked by hub.api.parsers.JSONParser.
- A SuspiciousOperation raised by a view that is not DRF's (DOT's).
- A 405 from a view that is not DRF's, which Django answers with an empty
  text/html body.

Every refusal is a 400 problem+json; at /o/ it also carries the OAuth error
code `invalid_request` (RFC 6749 §4.1.2.1, §5.2) that OAuth clients look for.
"""

import base64
import binascii
import re
from urllib.parse import unquote_plus

from django.core.exceptions import SuspiciousOperation
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext_lazy as _

from .errors import (
    MALFORMED_REQUEST,
    METHOD_NOT_ALLOWED,
    PROBLEM_CONTENT_TYPE,
    is_api_request,
    malformed_request_problem,
    problem,
    problem_json_response,
)

# "%" not followed by two hex digits (RFC 3986 §2.1).
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_NUL = re.compile(r"%00|\x00")
_OAUTH_PREFIX = "/o/"


class WellFormedRequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_api_request(request):
            return self.get_response(request)
        detail = _query_problem(request) or _oauth_problem(request)
        if detail is not None:
            return _refusal(request, problem(400, MALFORMED_REQUEST, detail, request=request))
        response = self.get_response(request)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(PROBLEM_CONTENT_TYPE):
            body = problem(405, METHOD_NOT_ALLOWED, _("This URL does not accept the method."), request=request)
            return problem_json_response(body, headers={"Allow": response.get("Allow", "")})
        return response

    def process_exception(self, request, exception):
        if is_api_request(request) and isinstance(exception, SuspiciousOperation):
            return _refusal(request, malformed_request_problem(exception, request))
        return None


def _refusal(request, body: dict):
    if request.path.startswith(_OAUTH_PREFIX):
        body["error"] = "invalid_request"
    return problem_json_response(body)


def _query_problem(request) -> str | None:
    query = request.META.get("QUERY_STRING", "")
    if _BAD_PERCENT.search(query):
        return _("The query string is not valid percent-encoding (RFC 3986 §2.1).")
    if _NUL.search(query):
        return _("The query string contains a NUL character (U+0000).")
    return None


def _oauth_problem(request) -> str | None:
    """The OAuth endpoints read client ids and tokens from the form body and
    from Basic credentials (RFC 6749 §2.3.1), then look them up in the database."""
    if not request.path.startswith(_OAUTH_PREFIX):
        return None
    if _basic_credentials_hold_nul(request):
        return _("The client credentials contain a NUL character (U+0000).")
    if request.method != "POST":
        return None
    try:
        fields = list(request.POST.lists())
    except (SuspiciousOperation, MultiPartParserError):
        return _("The request body could not be parsed.")
    if any("\x00" in key or any("\x00" in value for value in values) for key, values in fields):
        return _("The request body contains a NUL character (U+0000).")
    return None


def _basic_credentials_hold_nul(request) -> bool:
    scheme, _space, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Basic":
        return False
    try:
        decoded = base64.b64decode(credentials).decode("utf-8")
    except (binascii.Error, ValueError):
        return False  # DOT refuses these itself, as invalid_client
    return "\x00" in unquote_plus(decoded)
