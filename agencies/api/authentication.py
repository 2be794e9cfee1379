"""Bearer-token authentication of every API request (RFC 6750 §2.1), in one query.

django-oauth-toolkit's resource check goes through oauthlib: it copies the
request's headers, builds an oauthlib request, and loads the token through
the ORM, about a third of a small request's time. Here the same decision is
made directly, with the token, its client, the client's agency, the user and
the user's membership of that agency read in one compiled query
(hub.api.compiled_queries) and nothing cached: a token revoked through
/o/revoke_token/ (RFC 7009), deleted by refresh rotation, the admin or
`cleartokens` is a row that is gone, so it fails on its very next use, in
every worker. What DOT decides is decided the same way, with the same
`oauth2_error` for the WWW-Authenticate challenge (RFC 6750 §3.1); a token
bound to resource indicators (RFC 8707) is rare enough to go through DOT's
own check.
"""

import hashlib
from collections import OrderedDict

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import get_access_token_model
from rest_framework import exceptions

from hub.api.compiled_queries import CompiledQuery

from ..callers import Caller
from ..models import Membership
from ..revocations import token_was_revoked

_UNKNOWN_TOKEN = _(
    "The access token is not known: it was mistyped, expired some time ago, or was not issued by this hub. "
    "Get a new one at /o/token/."
)
_REVOKED_TOKEN = _("The access token was revoked: get a new one at /o/token/.")
# DOT's error descriptions (oauth2_provider.oauth2_validators), which the
# WWW-Authenticate challenge carries in English as DOT sends them -> what to do.
_INVALID = "The access token is invalid."
_EXPIRED = "The access token has expired."
_WRONG_RESOURCE = "The access token is not valid for this resource."
_TOKEN_REFUSED = {
    _EXPIRED: _("The access token has expired: get a new one at /o/token/."),
    _INVALID: _UNKNOWN_TOKEN,
    _WRONG_RESOURCE: _(
        "The access token was issued for another resource (RFC 8707): get one without `resource` at /o/token/."
    ),
}

AccessToken = get_access_token_model()


def _token_with_caller(checksum):
    member = Membership.objects.filter(
        user_id=OuterRef("user_id"), agency_id=OuterRef("application__agency_id"), active=True
    )
    return (
        AccessToken.objects.select_related("application__agency", "user")
        .annotate(user_is_member=Exists(member))
        .filter(token_checksum=checksum)[:1]
    )


# DOT stores only the token's sha256 (COMPLIANT_BCP_RFC9700_TOKEN_STORAGE).
_TOKEN = CompiledQuery(_token_with_caller, checksum=AccessToken._meta.get_field("token_checksum"))


def access_token_for(raw_token: str):
    """The stored token (with application, agency and user) a bearer token
    names, or None; `user_is_member` says whether its user is an active member
    of the client's agency."""
    return _TOKEN.first(checksum=hashlib.sha256(raw_token.encode("utf-8")).hexdigest())


def _bearer_token(request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, split as oauthlib
    splits it. A token in the query string is refused (RFC 9700 §4.3.2, DOT's
    COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT), and a form-encoded body
    never reaches this JSON API (its parsers answer 415)."""
    if "access_token" in request.query_params:
        return None
    parts = request.headers.get("Authorization", "").split()
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1]
    return None


class AgencyTokenAuthentication(OAuth2Authentication):
    """Bearer tokens only; each resolves to a `Caller` at `request.caller`.

    A token of an inactive agency, or a user token whose user is not an active
    member of the client's agency, is refused as if it were invalid.
    For client-credentials tokens `request.user` is None (DOT behaviour), so
    code reads the acting party from `request.caller`, never `request.user`.
    """

    def authenticate(self, request):
        # DOT reads the body before the token, so a body that cannot be parsed
        # is a 400/415 before any 401 (PITFALLS, django-oauth-toolkit): kept,
        # so that the answer to such a request does not change.
        request.POST  # noqa: B018
        raw_token = _bearer_token(request)
        if raw_token is None:
            return None  # no credentials: DRF answers NotAuthenticated
        token = access_token_for(raw_token)
        error = self._token_error(request, token)
        if error is not None:
            request.oauth2_error = OrderedDict([("error", "invalid_token"), ("error_description", error)])
            raise exceptions.AuthenticationFailed(self._refusal(request, raw_token, request.oauth2_error))
        application = token.application
        if application is None or not application.agency.active:
            raise exceptions.AuthenticationFailed(_("The token's agency is not active."))
        if token.user is not None and not token.user_is_member:
            raise exceptions.AuthenticationFailed(_("The token's user is not a member of the client's agency."))
        request.caller = Caller(agency=application.agency, application=application, user=token.user)
        return token.user, token

    @staticmethod
    def _token_error(request, token):
        """DOT's verdict on the token (OAuth2Validator.validate_bearer_token),
        as its error description; None when the token may be used."""
        if token is None:
            return _INVALID
        if token.is_expired():
            return _EXPIRED
        if token.resource:
            # RFC 8707: the audience is the absolute URI without the query, as DOT builds it.
            uri = request.build_absolute_uri(request.get_full_path()).split("?")[0]
            if not token.allows_audience(uri):
                return _WRONG_RESOURCE
        if token.application is not None and not token.application.is_usable(request):
            return _INVALID
        return None

    @staticmethod
    def _refusal(request, raw_token: str, error: dict) -> str:
        description = error["error_description"]
        if description == _INVALID and token_was_revoked(raw_token):
            error["error_description"] = "The access token was revoked."  # WWW-Authenticate says it too
            return _REVOKED_TOKEN
        return _TOKEN_REFUSED.get(description, _UNKNOWN_TOKEN)
