"""django-oauth-toolkit's protocol views, narrowed to agencies."""

import base64
import binascii
import hashlib
from urllib.parse import unquote_plus

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.exceptions import FatalClientError
from oauth2_provider.models import get_access_token_model
from oauth2_provider.views import AuthorizationView, IntrospectTokenView, TokenView
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth2.rfc6749.errors import InvalidRequestFatalError

from hub.api.errors import throttled_response
from hub.api.throttling import AttemptLimit, client_address, hashed

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


class AgencyTokenView(TokenView):
    """The token endpoint (RFC 6749 §3.2) with two rate limits (issue 12,
    item 7): tokens issued per client (`token`), and refused requests per
    address (`token_failure`: an unknown client_id, a wrong secret, a bad
    grant). A refused request thus spends its sender's budget, never that of
    the client it names, and nothing is looked up before DOT looks the
    client up itself."""

    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def post(self, request, *args, **kwargs):
        client_id, address = _claimed_client_id(request), client_address(request)
        issued, refused = AttemptLimit("token"), AttemptLimit("token_failure")
        client_key = hashed(client_id) if client_id is not None else None
        waits = [refused.retry_after(address)]
        if client_key is not None:
            waits.append(issued.retry_after(client_key))
        if waits := [wait for wait in waits if wait is not None]:
            return throttled_response(request, max(waits))
        response = super().post(request, *args, **kwargs)
        if response.status_code != 200:
            refused.record(address)
        elif client_key is not None:
            issued.record(client_key)
        return response


def _claimed_client_id(request) -> str | None:
    """The client_id of the Basic credentials (RFC 6749 §2.3.1), else of the
    form: who the request says it is, not yet authenticated."""
    scheme, _space, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme == "Basic":
        try:
            return unquote_plus(base64.b64decode(credentials).decode("utf-8").partition(":")[0])
        except (binascii.Error, ValueError):
            return None
    return request.POST.get("client_id")
