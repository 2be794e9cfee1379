"""A request id on every request and response (`X-Request-ID`), carried into logs
and into the disclosure entries that the request causes."""

import logging
import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
# Accept the caller's id only when it cannot smuggle anything into logs or headers.
_WELL_FORMED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")

current_request_id: ContextVar[str] = ContextVar("request_id", default="-")


def request_id_from(value: str | None) -> str:
    if value and _WELL_FORMED.match(value):
        return value
    return str(uuid.uuid4())


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_from(request.headers.get(HEADER))
        token = current_request_id.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response[HEADER] = request.request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True
