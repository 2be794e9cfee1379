"""Staff login: password, then a TOTP code (or a backup code); enrolment of an
authenticator on first login; logout, and logout everywhere.

/accounts/login/ -> /accounts/otp/ (or /accounts/otp/enrol/ without an
authenticator) -> the page asked for. Pages under /app/, /ledger/ and /admin/
send anyone not through both steps back here (hub.web.otp)."""

import math
from urllib.parse import urlencode

import django_otp
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from hub import otp
from hub.api.throttling import AttemptLimit, client_address, hashed

from .sessions import session_rotate, sessions_end_all

# The backup codes just issued, shown once on the next page.
SESSION_NEW_BACKUP_CODES = "hub_new_backup_codes"


def safe_next(request, default="app-home") -> str:
    """The `next` page if it is on this site, else `default`."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(candidate, {request.get_host()}, require_https=request.is_secure()):
        return candidate
    return resolve_url(default)


class StaffLoginView(LoginView):
    """Username and password; the second factor comes next.

    Failed attempts are limited per username (`login_user`) and per address
    (`login_address`; issue 12, item 7): past either limit the page says
    logging in is paused (429) without checking the password, so guessing
    does not pay, and a right password does not get through either. Only
    failures count: an office's staff behind one address log in freely."""

    template_name = "registration/login.html"
    redirect_authenticated_user = False

    def post(self, request, *args, **kwargs):
        if (wait := _login_retry_after(request)) is not None:
            return _login_paused(request, wait)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        for scope, ident in _login_keys(self.request):
            AttemptLimit(scope).record(ident)
        return super().form_invalid(form)

    def form_valid(self, form):
        # The user's own mistakes are forgiven once she is in; the address's are not.
        AttemptLimit("login_user").forget(_username_key(self.request))
        return super().form_valid(form)

    def get_success_url(self):
        step = "otp-verify" if otp.has_confirmed_totp(self.request.user) else "otp-enrol"
        return f"{reverse(step)}?{urlencode({'next': self.get_redirect_url() or resolve_url(settings.LOGIN_REDIRECT_URL)})}"


def _username_key(request) -> str:
    return hashed(request.POST.get("username", "").casefold())


def _login_keys(request) -> list[tuple[str, str]]:
    return [("login_user", _username_key(request)), ("login_address", client_address(request))]


def _login_retry_after(request) -> int | None:
    waits = [wait for scope, ident in _login_keys(request) if (wait := AttemptLimit(scope).retry_after(ident))]
    return max(waits, default=None)


def _login_paused(request, wait: int):
    response = render(request, "hub/accounts/login_paused.html", {"minutes": math.ceil(wait / 60)}, status=429)
    response["Retry-After"] = str(wait)
    return response


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"), max_length=32, strip=True,
        error_messages={"required": _("Enter the code from your authenticator app or a backup code")},
    )

    def normalised(self) -> str:
        return "".join(self.cleaned_data["code"].split()).lower()


def _needs_password(request):
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?{urlencode({'next': safe_next(request)})}")
    return None


def _verified(request, device) -> None:
    django_otp.login(request, device)
    # A new session key once the second factor is in (session fixation).
    session_rotate(request)


THROTTLED = "throttled"


def _check_code(user, code: str):
    """The device that accepts `code`, None, or THROTTLED. A 6-digit code is
    tried on the TOTP device, anything else as a backup code. django-otp
    throttles each device after failures (a delay doubling with each one), so
    guessing does not pay; the page says so rather than call a right code wrong."""
    is_totp = code.isdigit() and len(code) == 6
    devices = (TOTPDevice if is_totp else StaticDevice).objects.filter(user=user, confirmed=True)
    throttled = False
    for device in devices:
        if not device.verify_is_allowed()[0]:
            throttled = True
            continue
        if django_otp.verify_token(user, device.persistent_id, code):
            return device
    return THROTTLED if throttled else None


@require_http_methods(["GET", "POST"])
def otp_verify(request):
    if (response := _needs_password(request)) is not None:
        return response
    if request.user.is_verified():
        return redirect(safe_next(request))
    if not otp.has_confirmed_totp(request.user):
        return redirect(f"{reverse('otp-enrol')}?{urlencode({'next': safe_next(request)})}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = _check_code(request.user, form.normalised())
        if device == THROTTLED:
            form.add_error("code", _("Too many wrong codes. Wait a few seconds, then enter the newest code."))
        elif device is not None:
            _verified(request, device)
            return redirect(safe_next(request))
        else:
            form.add_error("code", _("The code is not right or has expired. Wait for a new code and try again."))
    return render(request, "hub/accounts/otp_verify.html", {"form": form, "next": safe_next(request)},
                  status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def otp_enrol(request):
    if (response := _needs_password(request)) is not None:
        return response
    if otp.has_confirmed_totp(request.user):
        return redirect(f"{reverse('otp-verify')}?{urlencode({'next': safe_next(request)})}")
    device = otp.totp_enrolment_start(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = otp.totp_enrolment_confirm(request.user, device, form.normalised())
        if codes is not None:
            _verified(request, TOTPDevice.objects.get(pk=device.pk))
            request.session[SESSION_NEW_BACKUP_CODES] = codes
            return redirect(f"{reverse('account-backup-codes')}?{urlencode({'next': safe_next(request)})}")
        form.add_error("code", _("The code is not right. Check the time on your phone and enter the newest code."))
    context = {
        "form": form,
        "next": safe_next(request),
        "qr_svg": otp.qr_code_svg(device, str(_("QR code to add the hub to your authenticator app"))),
        "secret": otp.base32_secret(device),
    }
    return render(request, "hub/accounts/otp_enrol.html", context, status=422 if form.errors else 200)


@require_POST
def logout_everywhere(request):
    """End every session of the user, in every browser, this one included."""
    if request.user.is_authenticated and request.user.is_verified():
        sessions_end_all(request.user)
        logout(request)
        messages.success(request, _("You have been logged out on every device."))
    return redirect("login")
