"""System check of the checkpoint-key settings (registered when the app is
ready): the hub does not start with an operator's key it could not read."""

from django.conf import settings
from django.core.checks import Error, register

from .keys import CURRENT_KEY_SETTING, NEXT_KEY_SETTING, private_key_from_base64


@register()
def ledger_key_settings(app_configs, **kwargs):
    errors = []
    for name in (CURRENT_KEY_SETTING, NEXT_KEY_SETTING):
        value = getattr(settings, name, "")
        try:
            if value:
                private_key_from_base64(value)
        except ValueError as exc:
            # The reason only, never the value: it is a private key.
            errors.append(Error(f"{name} must be base64 of a raw 32-byte Ed25519 private key ({exc}).",
                                id="consent_ledger.E001"))
    return errors
