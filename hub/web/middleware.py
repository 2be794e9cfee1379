"""The language and time zone of the hub's pages, and their page for data
that was erased."""

import zoneinfo

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone, translation

from hub.api.errors import Gone, is_api_request

LANGUAGE_PARAMETER = "lang"

# Pages that show times in UTC and say so (the DPO's accounting of disclosures).
UTC_PREFIXES = ("/ledger/",)


class PageLanguageMiddleware:
    """`?lang=en` (or pl) switches the language without JavaScript and is
    remembered in Django's language cookie, as set_language would (DESIGN.md 7:
    `/app/?lang=en`). Runs after LocaleMiddleware, which read the cookie."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.languages = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.GET.get(LANGUAGE_PARAMETER)
        if chosen not in self.languages:
            return self.get_response(request)
        translation.activate(chosen)
        request.LANGUAGE_CODE = chosen
        response = self.get_response(request)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, chosen, max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH, secure=settings.SESSION_COOKIE_SECURE,
            httponly=True, samesite="Lax",
        )
        return response


class PageTimeZoneMiddleware:
    """Pages show times in PAGES_TIME_ZONE; stored times stay UTC (STYLE.md)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.zone = zoneinfo.ZoneInfo(settings.PAGES_TIME_ZONE)

    def __call__(self, request):
        if request.path.startswith(UTC_PREFIXES) or request.path.startswith(("/api/", "/o/")):
            return self.get_response(request)
        timezone.activate(self.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class GonePageMiddleware:
    """A page whose person was erased (an ApplicationError `Gone` from the
    choke point, issue 12) answers 410 with a page that says so; the API
    renders the same error as problem+json itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, Gone) and not is_api_request(request):
            return render(request, "410.html", {"detail": exception.detail}, status=410)
        return None
