"""django-oauth-toolkit's protocol views, narrowed to agencies."""

import hashlib

from django.http import JsonResponse
from django.shortcuts import render
from oauth2_provider.exceptions import FatalClientError
from oauth2_provider.models import get_access_token_model
from oauth2_provider.views import AuthorizationView, IntrospectTokenView
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth2.rfc6749.errors import InvalidRequestFatalError

from ..models import AgencyApplication, Membership


class AgencyAuthorizationView(AuthorizationView):
    """Authorization code + PKCE: only members of the client's agency may
    authorise it, so a user token always acts for that agency."""

    def dispatch(self, request, *args, **kwargs):
        client_ids = _client_ids(request)
        if len(client_ids) > 1:
            # RFC 6749 §4.1.2.1: a request naming its client ambiguously is not
            # redirected anywhere; the user is told, no code is issued.
            error = InvalidRequestFatalError(description="The request names more than one client_id.")
            return self.error_response(FatalClientError(error=error), application=None)
        if request.user.is_authenticated and client_ids:
            (client_id,) = client_ids
            application = AgencyApplication.objects.filter(client_id=client_id).first()
            if application is not None and not Membership.objects.filter(
                user=request.user, agency_id=application.agency_id, active=True
            ).exists():
                return render(request, "agencies/not_a_member.html", {"application": application}, status=403)
        return super().dispatch(request, *args, **kwargs)


def _client_ids(request) -> set[str]:
    """Every client_id the request names where DOT 3.4.1 may read one.

    On GET, oauthlib reads the query string (DOT passes request.POST as the
    body, empty for a GET). On POST, AuthorizationView.form_valid reads the
    form (request.POST), and oauthlib the query string beside it. Checking one
    place only let a member of one agency get a code for another agency's
    client by naming it in the place the check did not read (PITFALLS)."""
    values = request.GET.getlist("client_id")
    if request.method == "POST":
        values += request.POST.getlist("client_id")
    return set(values)


class AgencyIntrospectTokenView(IntrospectTokenView):
    """RFC 7662 §4: the server decides what an introspecting client may learn.
    A client learns about tokens of its own agency only; any other token is
    reported inactive, exactly like an unknown one."""

    def get(self, request, *args, **kwargs):
        return self._introspect(request, request.GET.get("token"))

    def post(self, request, *args, **kwargs):
        return self._introspect(request, request.POST.get("token"))

    def _introspect(self, request, token_value):
        if token_value is not None:
            checksum = hashlib.sha256(token_value.encode("utf-8")).hexdigest()
            token = get_access_token_model().objects.select_related("application").filter(
                token_checksum=checksum
            ).first()
            caller = self._authenticated_client(request)
            if token is None or caller is None or token.application.agency_id != caller.agency_id:
                return JsonResponse({"active": False})
        return self.get_token_response(token_value)

    def _authenticated_client(self, request):
        # dispatch() has already authenticated the client (RFC 7662 §2.1); this
        # repeats it only to learn which client it was.
        core = self.get_oauthlib_core()
        uri, method, body, headers = core._extract_params(request)
        oauth_request = OAuthRequest(uri, method, body, headers)
        if core.server.request_validator.authenticate_client(oauth_request):
            return oauth_request.client
        return None
