"""The API answers in one language per response, Polish or English, chosen
from the request's `Accept-Language` header alone (issue 16).

- The first language the header prefers (q-values honoured, q=0 refused,
  `pl-PL` is Polish) that the hub speaks decides; without the header, or
  when it names neither Polish nor English, the API answers in English, an
  integrator's default. The staff pages keep Polish as theirs.
- The language cookie and the pages' `?lang=` never change an API answer:
  the middleware runs first and last (hub/settings/base.py), so it wins over
  LocaleMiddleware and the pages' switch, and a client's answer cannot
  depend on a cookie it did not know it sent.
- Every API response says which language it is in (`Content-Language`) and
  that it depends on the header (`Vary: Accept-Language`, for caches).

What is translated is the text for people: a problem's `title` and `detail`
and each `errors[].detail`. Whatever a client matches on stays the same in
both languages: `code`, `type`, `status`, pointers, parameter and header
names, and the codes listed as allowed values ("Jedna z wartości: low,
medium, high, critical."). Messages are marked with gettext where they are
composed (services, views, hub.api, the schema registry); their Polish is in
hub/api/locale/pl/LC_MESSAGES/django.po, Django's and DRF's own in their
catalogues. One language per answer: a message without a Polish translation
would mix English into a Polish answer, which tests/hub/test_api_language.py
refuses.
"""

from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation.trans_real import get_supported_language_variant, parse_accept_lang_header

API_DEFAULT_LANGUAGE = "en"
API_PREFIX = "/api/"


def api_language(accept_language: str) -> str:
    """The language ("pl" or "en") to answer an `Accept-Language` value in."""
    for tag, quality in parse_accept_lang_header(accept_language):
        if tag == "*":
            break  # "anything else": our default
        if quality <= 0:
            continue  # RFC 9110 §12.4.2: q=0 means "not acceptable"
        try:
            return get_supported_language_variant(tag)
        except LookupError:
            continue
    return API_DEFAULT_LANGUAGE


class ApiLanguageMiddleware:
    """Activate the language of `Accept-Language` for /api/ requests, for the
    time of the request; say which in Content-Language, and Vary on the header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        language = api_language(request.headers.get("Accept-Language", ""))
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = self.get_response(request)
        response.headers["Content-Language"] = language
        patch_vary_headers(response, ("Accept-Language",))
        return response
