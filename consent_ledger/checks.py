"""System check of the checkpoint-key settings (registered when the app is
ready): the hub does not start with an operator's key it could not read."""

from django.conf import settings
from django.core.checks import Error, Warning, register

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


@register()
def sealing_settings(app_configs, **kwargs):
    """Person data cannot be sealed or opened without the key-encryption keys
    (consent_ledger/sealing.py); never print a key, only what is wrong."""
    keks, current = settings.SEALING_KEKS, settings.SEALING_CURRENT_KEK
    if not keks:
        return [Error("SEALING_KEKS is empty: set it to id=<base64 of 32 random bytes> (consent_ledger/sealing.py).",
                      id="consent_ledger.E002")]
    errors = [Error(f"SEALING_KEKS[{kek_id!r}] must be base64 of exactly 32 bytes.", id="consent_ledger.E002")
              for kek_id, key in keks.items() if len(key) != 32]
    if current not in keks:
        errors.append(Error(f"SEALING_CURRENT_KEK {current!r} is not one of SEALING_KEKS.", id="consent_ledger.E003"))
    return errors


@register(deploy=True)
def key_store_apart(app_configs, **kwargs):
    if settings.KEY_STORE_DATABASE != "default":
        return []
    return [Warning(
        "Subjects' data keys share the main database (KEYS_DATABASE_URL is not set): a backup of it then "
        "holds the keys of erased subjects, and restoring it would bring their data back.",
        id="consent_ledger.W001",
    )]
