from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class ApplicationRateThrottle(SimpleRateThrottle):
    """Rate limit per OAuth2 application (an agency's system or user app).

    Keyed by the client, not the user: client-credentials tokens have no user.
    Requests without a token are keyed by address (they fail auth anyway).
    """

    scope = "application"

    def get_rate(self):
        # Read at request time (DRF binds THROTTLE_RATES at import), so a
        # changed setting takes effect without a restart of the class.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        application_id = getattr(request.auth, "application_id", None)
        ident = f"app:{application_id}" if application_id else f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
