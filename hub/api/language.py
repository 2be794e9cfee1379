"""The API answers in English, whatever Accept-Language or the language
cookie say (issue 16: one language per response).

A problem's `code` and pointers are the contract; `title` and `detail` are
for the developer reading them, and most details are composed by services in
English. Letting Django's own messages (DRF's "is not a valid choice") follow
Accept-Language while ours stayed English gave answers in two languages at
once. The staff pages stay Polish by default (LocaleMiddleware, ?lang=).
"""

from django.utils import translation

API_LANGUAGE = "en"
API_PREFIX = "/api/"


class ApiLanguageMiddleware:
    """Activate English for /api/ requests; say so in Content-Language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        translation.activate(API_LANGUAGE)
        request.LANGUAGE_CODE = API_LANGUAGE
        response = self.get_response(request)
        response.headers["Content-Language"] = API_LANGUAGE
        return response
