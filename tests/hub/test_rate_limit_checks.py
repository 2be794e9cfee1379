"""The system checks that keep the rate limits' settings sound (hub/checks.py)."""

import pytest

from hub.checks import disclosure_views_resolve, throttle_rates_parse


def test_a_disclosure_view_no_url_is_named_fails_the_system_check(settings):
    assert disclosure_views_resolve(None) == []
    settings.API_DISCLOSURE_VIEWS = {*settings.API_DISCLOSURE_VIEWS, "referal-detail"}

    (error,) = disclosure_views_resolve(None)

    assert error.id == "hub.E002" and "'referal-detail'" in error.msg


@pytest.mark.parametrize("rate", ["10/15m", "ten/minute", "10", ""])
def test_a_rate_that_does_not_parse_fails_the_system_check(settings, rate):
    assert throttle_rates_parse(None) == []
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login_user": rate}}

    (error,) = throttle_rates_parse(None)

    assert error.id == "hub.E003" and "'login_user'" in error.msg
