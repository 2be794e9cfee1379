"""gunicorn's settings for the hub's web process
(https://docs.gunicorn.org/en/stable/settings.html):

    gunicorn --config deploy/gunicorn.conf.py hub.wsgi:application

Everything a site tunes comes from the environment:

    WEB_CONCURRENCY            worker processes; default 2 x CPUs + 1, at most 8,
                               counting the CPUs the container's quota allows
    PORT                       8000
    GUNICORN_TIMEOUT           30 s: a worker silent this long is killed and replaced
    GUNICORN_GRACEFUL_TIMEOUT  30 s: after SIGTERM, how long requests in flight may
                               finish (keep the platform's grace period above it)
    GUNICORN_MAX_REQUESTS      1000: a worker is replaced after this many requests
                               (plus up to 10% jitter), so that no leak grows forever
    FORWARDED_ALLOW_IPS        proxies whose X-Forwarded-* headers gunicorn trusts
                               (default 127.0.0.1,::1; "*" only where the network
                               lets nothing but the proxy reach the process)
    LOG_LEVEL                  gunicorn's own log level (default info)
    PROMETHEUS_MULTIPROC_DIR   prometheus_client's directory for the workers'
                               metrics: emptied when gunicorn starts, and a dead
                               worker's files are retired (hub/metrics.py)

Logs: one JSON object a line on stdout (access) and stderr (gunicorn's own),
with the keys of the hub's own JSON lines (time, level, logger, message,
request_id). An access line names the method, status, size, duration and the
request id, never the path, query string, headers or client address: a path
can carry a person's id and a query string a search for her name, and no log
line may (hub/api/logs.py, whose filter hub.wsgi also puts on these loggers).
"""

import json
import math
import os
import re
import traceback
from datetime import UTC, datetime
from logging import Filter, Formatter
from pathlib import Path

from gunicorn import glogging

# --- workers ----------------------------------------------------------------------

# Each worker keeps its own connection pool to each of the two databases: the
# cap keeps a pod's connections within what PostgreSQL's max_connections
# allows for many pods (deploy/README.md, "Sizing").
MAX_DEFAULT_WORKERS = 8
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def available_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The CPUs this process may use: the cgroup v2 quota when there is one (a
    container's CPU limit), else the CPUs it may be scheduled on. os.cpu_count()
    would count the whole node's."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return max(1, len(os.sched_getaffinity(0)))


def default_workers(cpus: int) -> int:
    """gunicorn's advice, 2 x cores + 1 (sync workers wait on the database half
    the time), capped."""
    return min(2 * cpus + 1, MAX_DEFAULT_WORKERS)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


wsgi_app = "hub.wsgi:application"
proc_name = "welfare-hub"
bind = [f"0.0.0.0:{_env_int('PORT', 8000)}"]
worker_class = "sync"
workers = _env_int("WEB_CONCURRENCY", 0) or default_workers(available_cpus())
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = max_requests // 10
# The application is loaded in each worker, after the fork: a connection pool
# opened before it would be shared by every worker.
preload_app = False
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# The workers' heartbeat files: in memory, not on /tmp (read-only root
# filesystems give /tmp a small volume; a disk-backed one can stall a worker).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None


# --- logs -------------------------------------------------------------------------

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# The message only: method and status, as hub.api.logs.RequestDataFilter
# rewrites every access line to. The other fields come from HubLogger.access.
access_log_format = "%(m)s answered %(s)s"

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
# The request id as hub.api.request_id accepts it (it answers with it in X-Request-ID).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")
_ACCESS_FIELDS = ("method", "status", "bytes", "duration_ms", "request_id")


def redacted_traceback(exc: BaseException) -> str:
    """Frames and exception types, never a message (which may quote a request)."""
    return "Traceback (most recent call last):\n" + "".join(traceback.format_tb(exc.__traceback__)) + (
        f"{type(exc).__module__}.{type(exc).__qualname__}: [redacted]"
    )


class JsonLineFormatter(Formatter):
    """One JSON object a line: time (ISO 8601, UTC), level, logger, message,
    and an access line's fields."""

    def format(self, record) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({name: getattr(record, name) for name in _ACCESS_FIELDS if hasattr(record, name)})
        if record.exc_info and record.exc_info[1] is not None:
            line["exc_info"] = redacted_traceback(record.exc_info[1])
        elif record.exc_text:
            line["exc_info"] = record.exc_text  # already redacted by hub.api.logs
        return json.dumps(line, ensure_ascii=False)


class RefusedRequestFilter(Filter):
    """gunicorn reports a request it could not parse by quoting the offending
    request line or header ("Invalid request from ip=...: Invalid Request Line
    'GET /app/people?q=<a name> ...'"), and an error in the application with
    the URI. Neither reaches the log: only that it happened."""

    def filter(self, record) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        if message.startswith("Invalid request from"):
            record.msg, record.args = "refused a request gunicorn could not parse", ()
        elif message.startswith("Error handling request"):
            record.msg, record.args = "error handling a request", ()
        return True


class HubLogger(glogging.Logger):
    """gunicorn's logger with JSON lines, and access lines built from an
    allow-list of fields instead of the request line."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonLineFormatter())
        if not any(isinstance(f, RefusedRequestFilter) for f in self.error_log.filters):
            self.error_log.addFilter(RefusedRequestFilter())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.cfg.accesslog:
            return
        method = environ.get("REQUEST_METHOD")
        method = method if method in _METHODS else "other method"
        status = str(resp.status).split(None, 1)[0]
        fields = {
            "method": method,
            "status": int(status) if status.isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "request_id": _response_request_id(resp),
        }
        # The atoms the message needs, as a dict: hub.api.logs.RequestDataFilter
        # reads the same two from it.
        self.access_log.info(self.cfg.access_log_format, {"m": method, "s": status}, extra=fields)


def _response_request_id(resp) -> str:
    for name, value in getattr(resp, "headers", None) or ():
        if name.lower() == "x-request-id" and _REQUEST_ID.match(value):
            return value
    return "-"


logger_class = HubLogger


# --- Prometheus (prometheus_client's multiprocess mode) ----------------------------


def reset_multiproc_dir(path: str | None) -> None:
    """A fresh start: metrics files left by an earlier run (a container
    restarted in the same pod keeps its emptyDir) would be added to this one's."""
    if not path:
        return
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def on_starting(server) -> None:
    reset_multiproc_dir(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def child_exit(server, worker) -> None:
    """A dead worker's live gauges no longer count (its counters still do)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    try:
        from prometheus_client import multiprocess
    except ImportError:
        return
    multiprocess.mark_process_dead(worker.pid)
