"""Every operation of the published schema with a token it must refuse (issue
12, item 6), on the MOPS's own objects with well-formed requests, so that only
the token can be the reason:

- expired, revoked (RFC 7009) and wrong-audience tokens: 401 with a
  `WWW-Authenticate: Bearer error="invalid_token"` challenge (RFC 6750 §3.1)
  saying why;
- a token without the operation's scope: 403 `insufficient_scope`, naming it
  in the body and in a `WWW-Authenticate` challenge (RFC 6750 §3.1);
- never a 2xx, never a 5xx, always problem+json as documented.

The two public operations (the JSON Schemas: documents, not anyone's data)
look at no token: any token, refused or not, is answered as none is.

"Wrong audience" for the hub's client-credentials tokens (opaque, looked up,
not JWTs): a token its client asked for another resource server with an RFC
8707 `resource` indicator (the token's audience is that server, not this
API), and an OpenID Connect ID token (a JWT whose audience is a client, not
an API; the hub issues none, so it is a token this hub does not know). A
token of another agency's client is a valid token of the wrong party: its
answer is the 404 of tests/api_contract/test_bola.py, not a 401."""

import base64
import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken

from hub.api.errors import AUTHENTICATION_FAILED, INSUFFICIENT_SCOPE
from schemas.vocabularies import SCOPES, codes
from tests.conftest import TOKEN_URL, basic_auth

from .adversarial import call, header, is_problem, operations, path_for, well_formed
from .world import build_everything

OTHER_RESOURCE = "https://hub.other-voivodeship.example/api/v1/"
# What each refused token's challenge says (agencies/api/authentication.py, as DOT words it).
CHALLENGES = {
    "expired": 'error_description="The access token has expired."',
    "revoked": 'error_description="The access token was revoked."',
    "other resource": 'error_description="The access token is not valid for this resource."',
    "ID token": 'error_description="The access token is invalid."',
}


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def id_token_like(client_id: str) -> str:
    """The shape of an OpenID Connect ID token (header.claims.signature) for the client."""
    now = int(timezone.now().timestamp())
    claims = {"iss": "http://testserver/o", "aud": client_id, "sub": "1", "iat": now, "exp": now + 300}
    return ".".join([_b64({"alg": "RS256", "typ": "JWT"}), _b64(claims), _b64({"sig": "x"})[:43]])


@pytest.fixture
def world(party):
    return build_everything(party)


@pytest.fixture
def tokens(world, client, obtain_token, make_client):
    """The refused tokens of a client of the MOPS's that holds every scope."""
    application, secret = make_client(world.ops.agency, codes(SCOPES))
    auth = basic_auth(application.client_id, secret)
    expired, revoked = obtain_token(application, secret), obtain_token(application, secret)
    AccessToken.objects.filter(application=application).exclude(token_checksum=_checksum(revoked)).update(
        expires=timezone.now() - timedelta(seconds=1))
    assert client.post("/o/revoke_token/", {"token": revoked}, HTTP_AUTHORIZATION=auth).status_code == 200
    other_resource = client.post(TOKEN_URL, {"grant_type": "client_credentials", "resource": OTHER_RESOURCE},
                                 HTTP_AUTHORIZATION=auth)
    assert other_resource.status_code == 200, other_resource.content
    return {
        "expired": expired, "revoked": revoked, "other resource": other_resource.json()["access_token"],
        "ID token": id_token_like(application.client_id),
    }, (application, secret)


def _checksum(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def without_scope(obtain_token, application, secret, scope: str) -> str:
    return obtain_token(application, secret, scope=" ".join(s for s in codes(SCOPES) if s != scope))


def refused_as_unauthenticated(response, challenge: str) -> bool:
    www_authenticate = header(response, "WWW-Authenticate") or ""
    return (
        is_problem(response, 401) and response.json()["code"] == AUTHENTICATION_FAILED
        and www_authenticate.startswith("Bearer ") and 'error="invalid_token"' in www_authenticate
        and challenge in www_authenticate
    )


def test_every_operation_refuses_expired_revoked_and_wrong_audience_tokens_with_401(world, tokens):
    refused, failures = tokens[0], []

    for operation in operations():
        request = {"path_parameters": path_for(operation, world), **well_formed(operation, world.ops.agency)}
        without_token = call(operation, None, kind="tokens", **request) if operation.public else None
        for kind, token in refused.items():
            response = call(operation, token, kind="tokens", **request)
            if operation.public:
                refused_right = response.status_code == without_token.status_code == 200
            else:
                refused_right = refused_as_unauthenticated(response, CHALLENGES[kind])
            if not refused_right:
                failures.append((operation.id, kind, response.status_code, header(response, "WWW-Authenticate")))

    assert failures == []


def test_every_operation_refuses_a_token_without_its_scope_with_403(world, tokens, obtain_token):
    application, secret = tokens[1]
    lacking = {scope: without_scope(obtain_token, application, secret, scope) for scope in codes(SCOPES)}
    failures = []

    for operation in operations():
        if operation.public:
            continue
        (scope,) = operation.scopes
        response = call(operation, lacking[scope], kind="tokens", path_parameters=path_for(operation, world),
                        **well_formed(operation, world.ops.agency))
        challenge = f'Bearer realm="api", error="insufficient_scope", scope="{scope}"'
        if not (is_problem(response, 403) and response.json()["code"] == INSUFFICIENT_SCOPE
                and response.json()["required_scopes"] == [scope] and header(response, "WWW-Authenticate") == challenge):
            failures.append((operation.id, response.status_code, response.text[:200]))

    assert failures == []


def test_the_public_schemas_need_no_token_and_every_other_operation_one_scope(world):
    public = {operation.id for operation in operations() if operation.public}

    assert public == {"schemas_list", "schemas_retrieve"}
    assert all(len(operation.scopes) == 1 for operation in operations() if not operation.public)
