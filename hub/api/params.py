"""Query parameters every list endpoint parses the same way: an unknown
value is a 422 naming the parameter and what it may be, never ignored."""

from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from rest_framework import serializers

from .errors import ValidationFailed


def choice_param(params, name: str, allowed):
    value = params.get(name)
    if value is not None and value not in allowed:
        raise ValidationFailed(
            _("Unknown %(parameter)s.") % {"parameter": name},
            errors=[{"parameter": name, "detail": _("One of: %(allowed)s") % {"allowed": ", ".join(allowed)}}],
        )
    return value


def uuid_param(params, name: str):
    value = params.get(name)
    if value is None:
        return None
    try:
        return serializers.UUIDField().to_internal_value(value)
    except serializers.ValidationError:
        raise ValidationFailed(
            _("%(parameter)s must be a UUID.") % {"parameter": name},
            errors=[{"parameter": name, "detail": _("Not a UUID.")}],
        ) from None


def time_param(params, name: str):
    value = params.get(name)
    if value is None:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:  # well-formed but no such time (2026-02-30)
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ValidationFailed(
            _("%(parameter)s must be an ISO-8601 time with a zone.") % {"parameter": name},
            errors=[{"parameter": name, "detail": _("e.g. %(example)s") % {"example": "2026-11-01T00:00:00Z"}}],
        )
    return parsed


def date_param(params, name: str):
    value = params.get(name)
    if value is None:
        return None
    try:
        parsed = parse_date(value)
    except ValueError:  # well-formed but no such day (2026-02-30)
        parsed = None
    if parsed is None:
        raise ValidationFailed(
            _("%(parameter)s must be an ISO-8601 date.") % {"parameter": name},
            errors=[{"parameter": name, "detail": _("e.g. %(example)s") % {"example": "2026-07-01"}}],
        )
    return parsed
