"""A request id on every request and response (`X-Request-ID`), carried into logs
and into the disclosure entries that the request causes.

Log lines carry the request's context too (issue 13, item 4): the request id
and, once the request is authenticated, the calling agency's id and its
OAuth2 client's id. Ids only: nothing here ever reads a name or a body."""

import logging
import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
# Accept the caller's id only when it cannot smuggle anything into logs or headers.
_WELL_FORMED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")
UNKNOWN = "-"

current_request_id: ContextVar[str] = ContextVar("request_id", default=UNKNOWN)
# The request being answered, for the log filter below: it reads the caller
# from it when a line is written, so that authentication has nothing to tell.
current_request: ContextVar[object | None] = ContextVar("request", default=None)


def request_id_from(value: str | None) -> str:
    if value and _WELL_FORMED.match(value):
        return value
    return str(uuid.uuid4())


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_from(request.headers.get(HEADER))
        id_token, request_token = current_request_id.set(request.request_id), current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(request_token)
            current_request_id.reset(id_token)
        response[HEADER] = request.request_id
        return response


def caller_ids(request) -> tuple[str, str]:
    """(agency id, OAuth2 client id) of an authenticated API request, else
    UNKNOWN for each. DRF copies the credentials it authenticated onto the
    HttpRequest (`auth`: the access token, its application loaded with it by
    agencies.api.authentication); read from the instance's own attributes, so
    that a DRF Request is never made to authenticate here."""
    application = getattr(vars(request).get("auth"), "application", None) if request is not None else None
    if application is None:
        return UNKNOWN, UNKNOWN
    return str(application.agency_id), str(application.client_id)


class RequestContextLogFilter(logging.Filter):
    """Sets `request_id`, `agency_id` and `client_id` on every record.

    Django writes a request's summary line ("Not Found: ...", on django.request)
    after the middleware has returned, with the request attached: the ids are
    then taken from that request. So the filter also runs on the request
    loggers, ahead of hub.api.logs.RequestDataFilter, which detaches the
    request; the first run sets the ids and a later one (the handler's) keeps
    them."""

    def filter(self, record: logging.LogRecord) -> bool:
        attached = getattr(record, "request", None)
        request = attached if hasattr(attached, "META") else current_request.get()  # runserver's is a socket
        agency_id, client_id = caller_ids(request)
        record.__dict__.setdefault("request_id", getattr(request, "request_id", None) or current_request_id.get())
        record.__dict__.setdefault("agency_id", agency_id)
        record.__dict__.setdefault("client_id", client_id)
        return True
