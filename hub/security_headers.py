"""Security headers on every response (issue 12, item 7), besides those
Django's SecurityMiddleware sets from settings (HSTS, nosniff,
Referrer-Policy, Cross-Origin-Opener-Policy) and X_FRAME_OPTIONS.

Both middlewares run outside every middleware that may answer by itself
(the 413 and 400 refusals), so those answers carry the headers too; static
files are served before them (WhiteNoise, runserver) and carry none of the
person-data rules.
"""

from csp.middleware import CSPMiddleware

# Powerful features no page of the hub uses, denied to every origin (W3C
# Permissions Policy): a script injected into a page could not reach the
# camera, the microphone, the location or a payment. Only features Chromium
# knows: an unknown one is a console error on every page.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer", "autoplay", "bluetooth", "camera", "display-capture", "encrypted-media", "fullscreen",
        "geolocation", "gyroscope", "hid", "idle-detection", "magnetometer", "microphone", "midi", "payment",
        "publickey-credentials-get", "screen-wake-lock", "serial", "usb", "xr-spatial-tracking",
    )
)
# Documents post forms: under no-referrer a browser sends `Origin: null` with
# a form's POST (Fetch, "append a request Origin header"), which Django's CSRF
# check refuses (pages without hub/base.html's meta, the admin's and the OAuth
# consent page, could not post at all). same-origin keeps every URL, with the
# ids in it, from other sites just the same.
DOCUMENT_REFERRER_POLICY = "same-origin"


def _media_type(response) -> str:
    return response.get("Content-Type", "").partition(";")[0].strip().lower()


def is_json(response) -> bool:
    media_type = _media_type(response)
    return media_type == "application/json" or media_type.endswith("+json")


class SecurityHeadersMiddleware:
    """`Cache-Control: no-store` on every response (no browser, proxy or
    back button keeps a copy: which response carries person data is not a
    rule worth getting wrong, and nothing here gains from a cache),
    `Permissions-Policy`, and the documents' referrer policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response["Cache-Control"] = "no-store"
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if _media_type(response) == "text/html":
            response.headers.setdefault("Referrer-Policy", DOCUMENT_REFERRER_POLICY)
        return response


class DocumentCSPMiddleware(CSPMiddleware):
    """django-csp's policy on every response but JSON. A policy governs what
    a rendered document may load and run; JSON (the API, its problems, OAuth
    tokens) is never rendered as a document (nosniff), so it needs none, and
    the API's requests skip building the policy string."""

    def process_response(self, request, response):
        if is_json(response):
            return response
        return super().process_response(request, response)
