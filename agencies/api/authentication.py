from django.utils.translation import gettext_lazy as _
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import exceptions

from ..callers import Caller
from ..models import Membership
from ..revocations import token_was_revoked


_UNKNOWN_TOKEN = _(
    "The access token is not known: it was mistyped, expired some time ago, or was not issued by this hub. "
    "Get a new one at /o/token/."
)
_REVOKED_TOKEN = _("The access token was revoked: get a new one at /o/token/.")
# DOT's error descriptions (oauth2_provider.oauth2_validators) -> what to do.
_TOKEN_REFUSED = {
    "The access token has expired.": _("The access token has expired: get a new one at /o/token/."),
    "The access token is invalid.": _UNKNOWN_TOKEN,
    "The access token is not valid for this resource.": _(
        "The access token was issued for another resource (RFC 8707): get one without `resource` at /o/token/."
    ),
}


class AgencyTokenAuthentication(OAuth2Authentication):
    """Bearer tokens only; each resolves to a `Caller` at `request.caller`.

    A token of an inactive agency, or a user token whose user is not an active
    member of the client's agency, is refused as if it were invalid.
    For client-credentials tokens `request.user` is None (DOT behaviour), so
    code reads the acting party from `request.caller`, never `request.user`.
    """

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            # A token was sent and refused: say why, as WWW-Authenticate does
            # (RFC 6750 §3.1), instead of "no credentials". No token at all
            # stays None, so DRF answers NotAuthenticated.
            error = getattr(request, "oauth2_error", {})
            if error.get("error"):
                raise exceptions.AuthenticationFailed(self._refusal(request, error))
            return None
        user, token = result
        application = token.application
        if application is None or not application.agency.active:
            raise exceptions.AuthenticationFailed(_("The token's agency is not active."))
        if user is not None and not Membership.objects.filter(
            user=user, agency_id=application.agency_id, active=True
        ).exists():
            raise exceptions.AuthenticationFailed(_("The token's user is not a member of the client's agency."))
        request.caller = Caller(agency=application.agency, application=application, user=user)
        return user, token

    @staticmethod
    def _refusal(request, error: dict) -> str:
        description = str(error.get("error_description"))
        if description == "The access token is invalid.":
            scheme, _space, raw_token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() == "bearer" and raw_token and token_was_revoked(raw_token.strip()):
                error["error_description"] = "The access token was revoked."  # WWW-Authenticate says it too
                return _REVOKED_TOKEN
        return _TOKEN_REFUSED.get(description, _UNKNOWN_TOKEN)
