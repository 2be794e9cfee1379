"""Rate limits (issue 12, item 7), counted in the `throttle` cache (CACHES),
never in the database: one cache read and write per limit that applies.

Every rate is a scope of REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], read at
request time (DRF binds THROTTLE_RATES at import), so a changed setting
takes effect without a restart; a scope without a rate is not limited.

- `application`: every API request, per OAuth2 client.
- `disclosure` / `disclosure_user`: reads of person data (the views named in
  API_DISCLOSURE_VIEWS), per client and, for a token a user holds, per user:
  what a stolen token can read in a minute.
- Outside DRF, `AttemptLimit` counts the attempts of a login or a token
  request that the caller says count (agencies.api.oauth_views, hub.web.accounts).
"""

import hashlib
import math

from django.conf import settings
from django.core.cache import caches
from django.utils.connection import ConnectionProxy
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

THROTTLE_CACHE = "throttle"
_READS = frozenset({"GET", "HEAD"})


class HubThrottle(SimpleRateThrottle):
    """DRF's sliding-window throttle, kept in the throttle cache: with several
    web processes that cache is shared (THROTTLE_CACHE_URL), or each process
    counts alone. Tests move time through `timer`."""

    cache = ConnectionProxy(caches, THROTTLE_CACHE)

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def key_for(self, ident: str) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ApplicationRateThrottle(HubThrottle):
    """Rate limit per OAuth2 application (an agency's system or user app).

    Keyed by the client, not the user: client-credentials tokens have no user.
    Requests without a token are keyed by address (they fail auth anyway).
    """

    scope = "application"

    def get_cache_key(self, request, view):
        application_id = getattr(request.auth, "application_id", None)
        return self.key_for(f"app:{application_id}" if application_id else f"ip:{self.get_ident(request)}")


def is_disclosure_read(request) -> bool:
    """A read of a view that releases person data through the choke point.
    Named in settings (the composition root knows every app; hub.checks
    refuses a name no URL has), so this layer imports none of the apps."""
    match = request.resolver_match
    return request.method in _READS and match is not None and match.url_name in settings.API_DISCLOSURE_VIEWS


class DisclosureRateThrottle(HubThrottle):
    """Disclosure reads per OAuth2 client (only authenticated requests reach
    DRF's throttles: a request without a valid token is refused before)."""

    scope = "disclosure"

    def get_cache_key(self, request, view):
        if not is_disclosure_read(request):
            return None
        return self.key_for(f"app:{request.auth.application_id}")


class DisclosureUserRateThrottle(HubThrottle):
    """Disclosure reads per user, for tokens a user holds (authorization
    code): one user of a shared user app cannot spend its whole budget."""

    scope = "disclosure_user"

    def get_cache_key(self, request, view):
        user_id = getattr(request.auth, "user_id", None)
        if user_id is None or not is_disclosure_read(request):
            return None
        return self.key_for(f"user:{user_id}")


def hashed(value: str) -> str:
    """A key part for a value a client chose (a username, a client_id): fixed
    length and characters any cache accepts, and no username in the store."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class AttemptLimit(HubThrottle):
    """At most `rate` attempts per key in the scope's window, for views that
    are not DRF's. The caller asks `retry_after` before it acts and
    `record`s an attempt afterwards, only when it counts: a login counts
    only its failures, so a shared office address is not locked out by its
    staff's successful logins."""

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__()

    def retry_after(self, ident: str) -> int | None:
        """Whole seconds until `ident` may try again, or None if it may now."""
        if self.rate is None:
            return None
        self._load(ident)
        if len(self.history) < self.num_requests:
            return None
        # The history is newest first: the attempt that must leave the window
        # before one more fits is the num_requests-th newest.
        oldest_counted = self.history[self.num_requests - 1]
        return max(1, math.ceil(self.duration - (self.now - oldest_counted)))

    def record(self, ident: str) -> None:
        if self.rate is not None:
            self._load(ident)
            self.throttle_success()

    def forget(self, ident: str) -> None:
        self.cache.delete(self.key_for(ident))

    def _load(self, ident: str) -> None:
        self.key = self.key_for(ident)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()


def client_address(request) -> str:
    """The caller's address as the throttles see it: REMOTE_ADDR, or the
    X-Forwarded-For entry the nearest of NUM_PROXIES trusted proxies wrote."""
    return BaseThrottle().get_ident(request)
