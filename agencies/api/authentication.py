from django.utils.translation import gettext_lazy as _
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import exceptions

from ..callers import Caller
from ..models import Membership


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
