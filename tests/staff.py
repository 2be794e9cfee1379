"""Logging staff in for tests of the pages: password and second factor."""

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


def totp_device(user) -> TOTPDevice:
    """The user's confirmed authenticator, enrolled if she has none."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="authenticator", confirmed=True
    )


def totp_code(device: TOTPDevice) -> str:
    """A code the device accepts now: the current 30-second step's, or the next
    step's when the current one was used already (a code never works twice)."""
    import time

    device.refresh_from_db()
    now_step = int(time.time() - device.t0) // device.step
    step = max(now_step, device.last_t + 1)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, step - now_step):06d}"


def verified_login(client, user) -> None:
    """What the login page and the code page leave in the session."""
    device = totp_device(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
