"""System check of the placement settings (registered when the models load):
the hub does not start with a default length, grace or follow-up it could not use."""

from django.conf import settings
from django.core.checks import Error, register

# setting -> (lowest, highest) whole number allowed
_BOUNDS = {
    "PLACEMENT_DEFAULT_MONTHS": (1, 24),
    "PLACEMENT_CHECK_IN_GRACE_DAYS": (0, 31),
    "PLACEMENT_FOLLOW_UP_DAYS": (1, 730),
}


@register()
def placement_settings(app_configs, **kwargs):
    errors = []
    for index, (name, (low, high)) in enumerate(_BOUNDS.items()):
        value = getattr(settings, name, None)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors.append(Error(f"{name} must be a whole number from {low} to {high}.", id=f"referrals.E01{index}"))
    return errors
