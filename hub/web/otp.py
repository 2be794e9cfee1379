"""The second factor on every staff page (DESIGN.md 5, 7)."""

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from hub.otp import has_confirmed_totp

# Every page under these needs a login with a verified second factor. The login
# and second-factor pages live under /accounts/, which is outside them. The OAuth2
# authorisation page is one too: a password alone must not yield a user's token.
OTP_REQUIRED_PREFIXES = ("/app/", "/ledger/", "/admin/", "/o/authorize/")


def _with_next(url: str, request) -> str:
    return f"{url}?{urlencode({'next': request.get_full_path()})}"


class RequireOTPMiddleware:
    """No view under OTP_REQUIRED_PREFIXES can forget the second factor: a
    visitor without a session goes to the login page, a user who has only
    typed the password to the code page (or to enrolment when she has no
    authenticator yet). Runs after django-otp's OTPMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(OTP_REQUIRED_PREFIXES):
            user = request.user
            if not user.is_authenticated:
                return self._go(request, reverse("login"))
            if not user.is_verified():
                return self._go(request, reverse("otp-verify" if has_confirmed_totp(user) else "otp-enrol"))
        return self.get_response(request)

    @staticmethod
    def _go(request, step: str):
        # An htmx request (its session ended) would swap the login page into a
        # fragment: tell htmx to load the whole page instead.
        url = _with_next(step, request)
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(url)
        return redirect(url)
