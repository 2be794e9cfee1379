"""System checks of the composition root."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.urls import get_resolver
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from schemas.registry import check_registry


@register()
def schemas_resolve(app_configs, **kwargs):
    """Fail closed: the hub does not start with a schema whose categories do
    not resolve (DESIGN.md 4.3), or that is not valid JSON Schema 2020-12."""
    return [Error(problem, id="hub.E001") for problem in check_registry()]


@register(Tags.urls)
def disclosure_views_resolve(app_configs, **kwargs):
    """Every view named in API_DISCLOSURE_VIEWS exists: a misspelt name would
    leave that view's reads outside the disclosure rate limits, silently."""
    names = {key for key in get_resolver().reverse_dict if isinstance(key, str)}
    return [
        Error(f"API_DISCLOSURE_VIEWS names {name!r}, which no URL is named.", id="hub.E002")
        for name in sorted(set(settings.API_DISCLOSURE_VIEWS) - names)
    ]


@register()
def throttle_rates_parse(app_configs, **kwargs):
    """Every rate limit reads as DRF's "number/period" (s, m, h or d): a
    mistyped one would fail the first request it applies to, a login say."""
    errors = []
    for scope, rate in api_settings.DEFAULT_THROTTLE_RATES.items():
        try:
            SimpleRateThrottle.parse_rate(None, rate)
        except (ValueError, KeyError, IndexError):
            errors.append(Error(f"The rate limit {scope!r} is {rate!r}, not number/period (e.g. 30/minute).",
                                id="hub.E003"))
    return errors
