"""RFC 9457 problem details for every API error.

Services raise `ApplicationError` subclasses with a stable `code`; DRF's own
exceptions (authentication, permissions, parsing, throttling, validation) are
mapped here too, so views never build an error body by hand.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .logs import redacted_traceback

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

# Stable machine-readable codes; tests and clients use these, never the text.
VALIDATION_ERROR = "validation_error"
MALFORMED_REQUEST = "malformed_request"
NOT_AUTHENTICATED = "not_authenticated"
AUTHENTICATION_FAILED = "authentication_failed"
PERMISSION_DENIED = "permission_denied"
INSUFFICIENT_SCOPE = "insufficient_scope"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
NOT_ACCEPTABLE = "not_acceptable"
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
THROTTLED = "throttled"
CONFLICT = "conflict"
SERVER_ERROR = "server_error"

_DRF_CODES = {
    exceptions.ValidationError: VALIDATION_ERROR,
    exceptions.ParseError: MALFORMED_REQUEST,
    exceptions.NotAuthenticated: NOT_AUTHENTICATED,
    exceptions.AuthenticationFailed: AUTHENTICATION_FAILED,
    exceptions.PermissionDenied: PERMISSION_DENIED,
    exceptions.NotFound: NOT_FOUND,
    exceptions.MethodNotAllowed: METHOD_NOT_ALLOWED,
    exceptions.NotAcceptable: NOT_ACCEPTABLE,
    exceptions.UnsupportedMediaType: UNSUPPORTED_MEDIA_TYPE,
    exceptions.Throttled: THROTTLED,
}

_TITLES = {
    VALIDATION_ERROR: _("The request is not valid."),
    MALFORMED_REQUEST: _("The request could not be parsed."),
    NOT_AUTHENTICATED: _("Authentication is required."),
    AUTHENTICATION_FAILED: _("The credentials are not valid."),
    PERMISSION_DENIED: _("Not allowed."),
    INSUFFICIENT_SCOPE: _("The access token lacks a required scope."),
    NOT_FOUND: _("Not found."),
    METHOD_NOT_ALLOWED: _("Method not allowed."),
    NOT_ACCEPTABLE: _("Cannot produce an acceptable response."),
    UNSUPPORTED_MEDIA_TYPE: _("Unsupported media type."),
    THROTTLED: _("Too many requests."),
    CONFLICT: _("Conflict with the current state."),
    SERVER_ERROR: _("Internal error."),
}


class ApplicationError(Exception):
    """A domain error with a stable code, an HTTP status and extra members.

    `errors` is a list of {pointer, detail} (RFC 6901 pointers into the request);
    `extra` holds further problem members (e.g. `current_status`).
    """

    code = "application_error"
    status = status.HTTP_400_BAD_REQUEST
    title = _("The request cannot be processed.")

    def __init__(self, detail: str, *, code: str | None = None, errors=None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.errors = errors or []
        self.extra = extra


class ValidationFailed(ApplicationError):
    code = VALIDATION_ERROR
    status = status.HTTP_422_UNPROCESSABLE_ENTITY
    title = _TITLES[VALIDATION_ERROR]


class Conflict(ApplicationError):
    code = CONFLICT
    status = status.HTTP_409_CONFLICT
    title = _TITLES[CONFLICT]


class PreconditionFailed(ApplicationError):
    """An If-Match that no longer matches (RFC 9110 §13.1.1)."""

    code = "precondition_failed"
    status = status.HTTP_412_PRECONDITION_FAILED
    title = _("The resource changed since it was read.")


class Forbidden(ApplicationError):
    """The caller is known and may see the resource, but not do this."""

    code = PERMISSION_DENIED
    status = status.HTTP_403_FORBIDDEN
    title = _TITLES[PERMISSION_DENIED]


class Gone(ApplicationError):
    """The resource existed and was erased for good (RFC 9110 §15.5.11)."""

    code = "gone"
    status = status.HTTP_410_GONE
    title = _("The data was erased.")


class NotFoundError(ApplicationError):
    code = NOT_FOUND
    status = status.HTTP_404_NOT_FOUND
    title = _TITLES[NOT_FOUND]


def problem_type(code: str) -> str:
    # RFC 9457 §3.1.1: a URI reference; it resolves to the problem's documentation.
    return f"/problems/{code}"


def problem(
    status_code: int, code: str, detail: str, *, title=None, errors=None, request=None, **extra
) -> dict:
    body = {
        "type": problem_type(code),
        "title": str(title or _TITLES.get(code, code)),
        "status": status_code,
        "detail": str(detail),
        "code": code,
    }
    if errors:
        body["errors"] = errors
    request_id = getattr(request, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return body


def json_pointer(path: list) -> str:
    """RFC 6901 §3: escape '~' as '~0' and '/' as '~1'."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def flatten_validation(detail, path=None) -> list[dict]:
    """DRF's nested error detail as a flat list of {pointer, detail, code}."""
    path = path or []
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            child = path if key in ("non_field_errors", "__all__") else [*path, key]
            out.extend(flatten_validation(value, child))
        return out
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [
                {"pointer": json_pointer(path), "detail": str(item), "code": getattr(item, "code", "invalid")}
                for item in detail
            ]
        out = []
        for index, item in enumerate(detail):
            if item:
                out.extend(flatten_validation(item, [*path, index]))
        return out
    return [{"pointer": json_pointer(path), "detail": str(detail), "code": getattr(detail, "code", "invalid")}]


def problem_response(body: dict, headers: dict | None = None) -> Response:
    return Response(body, status=body["status"], headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def problem_exception_handler(exc, context):
    """DRF EXCEPTION_HANDLER: every error leaves as application/problem+json."""
    request = context.get("request")
    _render_as_json(request)
    if isinstance(exc, ApplicationError):
        body = problem(
            exc.status, exc.code, exc.detail, title=exc.title, errors=exc.errors, request=request, **exc.extra
        )
        return problem_response(body)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, SuspiciousOperation):
        return problem_response(malformed_request_problem(exc, request))
    if not isinstance(exc, exceptions.APIException):
        # No exc_info: a traceback's messages may quote request data (logs.py).
        logger.error(
            "Unhandled %s in %s\n%s",
            type(exc).__name__, context.get("view").__class__.__name__, redacted_traceback(exc),
        )
        return problem_response(
            problem(500, SERVER_ERROR, _("The error has been logged."), request=request)
        )
    return problem_response(*_drf_problem(exc, request))


def malformed_request_problem(exc: SuspiciousOperation, request) -> dict:
    """A SuspiciousOperation is the client's fault: 400, not a 500 with a
    traceback per request (PITFALLS: DOT raises one inside authentication for a
    query string such as `?x=%ZZ`). Logged by type only: Django's messages may
    quote a header or the query."""
    logger.warning("Refused a malformed request (%s)", type(exc).__name__)
    return problem(400, MALFORMED_REQUEST, _("The request is malformed."), request=request)


def _render_as_json(request) -> None:
    # A problem is JSON (RFC 9457 §3) whatever the view renders otherwise (the
    # OpenAPI view renders YAML), and also when content negotiation failed.
    if request is not None:
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = PROBLEM_CONTENT_TYPE


def _drf_problem(exc: exceptions.APIException, request) -> tuple[dict, dict]:
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), SERVER_ERROR)
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        # Well-formed JSON that breaks the rules is 422 (RFC 9110 §15.5.21),
        # whether a serializer or a service found it; unparseable is 400.
        errors = flatten_validation(exc.detail)
        detail = "; ".join(f"{e['pointer'] or '/'}: {e['detail']}" for e in errors)
        return problem(422, code, detail, errors=errors, request=request), headers
    detail = exc.detail
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        # DRF fills {wait} in before it looks the message up, so its own never
        # translates: one message of ours, whole.
        detail = throttled_detail(exc.wait)
    if isinstance(exc, exceptions.NotAuthenticated):
        # Only when no token was sent at all: a refused token is an
        # AuthenticationFailed saying why (agencies.api.authentication).
        detail = _("No access token: send Authorization: Bearer <token>; get one at /o/token/ (client credentials).")
    extra = {}
    if isinstance(detail, dict):  # e.g. DOT's {"detail", "required_scopes"}
        extra = {k: v for k, v in detail.items() if k != "detail"}
        detail = detail.get("detail", "")
        if "required_scopes" in extra:
            code = INSUFFICIENT_SCOPE
            scopes = " ".join(extra["required_scopes"])
            detail = _("This endpoint needs the scope(s): %(scopes)s.") % {"scopes": scopes}
            # RFC 6750 §3.1: the challenge names the error and the scope needed.
            headers["WWW-Authenticate"] = f'Bearer realm="api", error="insufficient_scope", scope="{scopes}"'

    return problem(exc.status_code, code, detail, request=request, **extra), headers


def throttled_detail(wait: int) -> str:
    return ngettext(
        "Request was throttled. Expected available in %(wait)s second.",
        "Request was throttled. Expected available in %(wait)s seconds.",
        wait,
    ) % {"wait": wait}


def throttled_response(request, wait: int) -> JsonResponse:
    """429 (RFC 6585 §4) outside DRF, as DRF's throttles answer it: the
    problem and Retry-After (RFC 9110 §10.2.3) in whole seconds."""
    body = problem(429, THROTTLED, throttled_detail(wait), request=request)
    return problem_json_response(body, headers={"Retry-After": str(wait)})


def is_api_request(request) -> bool:
    return request.path.startswith(("/api/", "/o/"))


def problem_json_response(body: dict, headers: dict | None = None) -> JsonResponse:
    """A problem answered outside DRF (middleware, Django's error handlers)."""
    return JsonResponse(body, status=body["status"], headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def page_not_found(request, exception=None):
    """handler404: problem+json under /api/, Django's page elsewhere."""
    if is_api_request(request):
        return problem_json_response(problem(404, NOT_FOUND, _("No resource at this URL."), request=request))
    from django.views.defaults import page_not_found as default

    return default(request, exception)


def bad_request(request, exception=None):
    """handler400 (a SuspiciousOperation that reached Django): problem+json
    under /api/, Django's page elsewhere."""
    if is_api_request(request):
        return problem_json_response(problem(400, MALFORMED_REQUEST, _("The request is malformed."), request=request))
    from django.views.defaults import bad_request as default

    return default(request, exception)


def server_error(request):
    """handler500: problem+json under /api/, Django's page elsewhere."""
    if is_api_request(request):
        return problem_json_response(problem(500, SERVER_ERROR, _("The error has been logged."), request=request))
    from django.views.defaults import server_error as default

    return default(request)
