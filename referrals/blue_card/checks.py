"""System check of the Blue Card settings (registered when the models load):
the hub does not start with a deadline it could not compute."""

from django.conf import settings
from django.core.checks import Error, register

from . import rules


@register()
def blue_card_settings(app_configs, **kwargs):
    errors = []
    lengths = getattr(settings, "BLUE_CARD_DEADLINE_WORKING_DAYS", None)
    if not isinstance(lengths, dict) or set(lengths) != set(rules.DEADLINE_STEPS):
        errors.append(Error(
            f"BLUE_CARD_DEADLINE_WORKING_DAYS must give working days for exactly: {', '.join(rules.DEADLINE_STEPS)}.",
            id="referrals.E001",
        ))
    else:
        errors += [
            Error(f"BLUE_CARD_DEADLINE_WORKING_DAYS[{step!r}] must be a whole number from 0 to 60.", id="referrals.E002")
            for step, days in lengths.items()
            if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 60
        ]
    months = getattr(settings, "BLUE_CARD_ZI_MEETING_MONTHS", None)
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 12:
        errors.append(Error("BLUE_CARD_ZI_MEETING_MONTHS must be a whole number from 1 to 12.", id="referrals.E003"))
    return errors
