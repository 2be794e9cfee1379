"""No log record carries request data.

A log line is a way out of the hub that passes no choke point (DESIGN.md 2.1):
whoever reads the logs must not learn a person's name, code word or address
from them. Records name what happened by route, method, status, exception type
and request id; never by path, query string, body, header value or exception
message (a PostgreSQL error quotes the document it refused, a ValueError the
value; PITFALLS "Databases").

It imports Django only when a record needs a route, so that LOGGING can name
it before Django is set up.

JsonFormatter writes a record as one JSON object per line (LOG_FORMAT=json,
the default in production; issue 13, item 4).
"""

import logging
import traceback

from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

REDACTED = "[redacted]"
# Methods worth naming; anything else a client invents is just "other".
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


def redacted_traceback(exc: BaseException) -> str:
    """The traceback of `exc` and of the exceptions it was raised from, oldest
    first: frames and exception types, every message replaced by REDACTED.
    Locals are never included (traceback does not capture them by default)."""
    chain = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    blocks = [
        "Traceback (most recent call last):\n"
        + "".join(traceback.format_tb(link.__traceback__))
        + f"{type(link).__module__}.{type(link).__qualname__}: {REDACTED}\n"
        for link in reversed(chain)
    ]
    return "\nwhich led to:\n\n".join(blocks)


class RequestDataFilter(logging.Filter):
    """Rewrites a record, never drops it.

    - Django's request and security loggers pass the request (`extra`) and quote
      its path (or, for a security event, a header value or the exception's
      message): the message becomes "<method> <route> answered <status>", the
      route being the URL pattern that matched, never the path, and the request
      is removed so that no handler (AdminEmailHandler) can print its GET, POST
      or META.
    - runserver's "django.server" lines and gunicorn's access lines quote the
      request line with its query; gunicorn's "Error handling request" its URI.
    - Any exception: its traceback keeps frames and types, not messages.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        _rewrite_message(record)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redacted_traceback(record.exc_info[1])
            record.exc_info = None
        return True


def _rewrite_message(record: logging.LogRecord) -> None:
    request = getattr(record, "request", None)
    if hasattr(request, "method") and hasattr(request, "path"):  # an HttpRequest
        status = getattr(record, "status_code", "-")
        record.msg, record.args = "%s %s answered %s", (_method(request.method), _route(request), status)
        record.request = None
    elif record.name == "django.server":  # its `request` is the socket
        record.msg, record.args = "request answered %s", (getattr(record, "status_code", "-"),)
        record.request = None
    elif record.name == "gunicorn.access":
        # Its format's atoms include the request line, query, referer, headers.
        atoms = record.args if isinstance(record.args, dict) else {}
        record.msg, record.args = "%s answered %s", (_method(atoms.get("m")), atoms.get("s", "-"))
    elif record.name == "gunicorn.error" and record.exc_info:
        # "Error handling request %s" quotes the URI with its query; worded
        # as deploy/gunicorn.conf.py words it, whichever filter runs first.
        record.msg, record.args = "error handling a request", ()


def _method(method) -> str:
    return method if method in _METHODS else "other method"


def _route(request) -> str:
    """The URL pattern the path matches (a middleware may have answered before
    URL resolution ran), never the path itself."""
    from django.urls import Resolver404, resolve

    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "(no route)"
    return f"/{match.route}"


# The record's attributes a JSON line holds, and the names it gives them.
_JSON_FIELDS = ("levelname", "name", "message", "request_id", "agency_id", "client_id")
_JSON_RENAMED = {"levelname": "level", "name": "logger"}
_JSON_WRITTEN = frozenset({*(_JSON_RENAMED.get(f, f) for f in _JSON_FIELDS), "time", "exc_info", "stack_info"})


class JsonFormatter(_LibraryJsonFormatter):
    """One JSON object per line with the fields a log shipper indexes: time
    (ISO 8601, UTC), level, logger, message, the request context set by
    hub.api.request_id.RequestContextLogFilter, and the traceback (redacted by
    RequestDataFilter) when there is one. Nothing else: python-json-logger
    would also write every other attribute a record carries, and Django's
    carry the request (whose repr quotes the path) or a socket."""

    def __init__(self, **kwargs):
        super().__init__(list(_JSON_FIELDS), rename_fields=_JSON_RENAMED, timestamp="time", **kwargs)

    def process_log_record(self, log_data: dict) -> dict:
        return {key: value for key, value in log_data.items() if key in _JSON_WRITTEN}
