"""The staff's second factor: TOTP (RFC 6238) devices and backup codes, on
django-otp's models. Every write of the login flow's devices is here; the views
in hub/web/accounts.py only call these.

A user enrols once: an unconfirmed TOTP device is created for the enrolment
page, confirmed by the first code it produces, and ten single-use backup codes
(django-otp's static device) are issued with it. Enrolment is refused once a
confirmed device exists: a password alone must never be enough to bind a new
authenticator to an account that has one.
"""

import hashlib
import hmac
from base64 import b32encode
from binascii import hexlify

import segno
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.html import escape
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

TOTP_DEVICE_NAME = "authenticator"
BACKUP_DEVICE_NAME = "backup codes"


def has_confirmed_totp(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def base32_secret(device: TOTPDevice) -> str:
    """The key as authenticator apps take it for manual entry, in groups of four."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@transaction.atomic
def totp_enrolment_start(user) -> TOTPDevice:
    """The unconfirmed device the enrolment page shows; the same one on every
    reload, so a QR code already scanned stays valid. Refused (ValueError) when
    the user already has a confirmed device."""
    if has_confirmed_totp(user):
        raise ValueError("already enrolled")
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)


@transaction.atomic
def totp_enrolment_confirm(user, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the device with a code it produced; returns the new backup codes,
    or None when the code is wrong (the device's throttling counts the failure)."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
    if not device.verify_token(token):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    # Abandoned enrolments (another tab, an earlier key) die with this one.
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return backup_codes_issue(user)


@transaction.atomic
def backup_codes_issue(user) -> list[str]:
    """Replace the user's backup codes with OTP_BACKUP_CODES new single-use ones."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.OTP_BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def backup_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def qr_code_svg(device: TOTPDevice, title: str) -> str:
    """The device's otpauth:// URI as inline SVG markup: attributes only, no
    style element or attribute, so the strict CSP allows it; `title` names it
    for screen readers."""
    svg = segno.make(device.config_url, error="m").svg_inline(
        scale=5, dark="#0b0c0c", light="#ffffff", title=escape(title), svgclass="hub-qr-code"
    )
    return svg.replace("<svg ", '<svg role="img" focusable="false" ', 1)


def demo_totp_enrol(user) -> str:
    """Give a demo user a confirmed TOTP device whose secret is derived from the
    username, so `make demo` can print it and a tester can add it to an
    authenticator once for every demo run. Returns the base32 secret.

    Demo only: refused unless settings.DEBUG is on, since anyone who knows the
    SECRET_KEY and a username could compute the secret."""
    if not settings.DEBUG:
        raise ImproperlyConfigured("demo_totp_enrol is for the demo only (DEBUG must be on).")
    key = hmac.new(settings.SECRET_KEY.encode(), f"demo-totp:{user.get_username()}".encode(), hashlib.sha256).digest()[:20]
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=True, key=hexlify(key).decode())
    return b32encode(key).decode()
