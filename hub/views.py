from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hub.api.errors import PROBLEM_CONTENT_TYPE, problem

from .celery import app as celery_app


@require_GET
def healthz(request):
    """Liveness: the process answers. Touches no dependency."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request):
    """Readiness: the database answers, and the broker when one is configured."""
    checks = {"database": _database_ok()}
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        checks["broker"] = _broker_ok()
    if all(checks.values()):
        return JsonResponse({"status": "ready", "checks": checks})
    failing = ", ".join(name for name, ok in checks.items() if not ok)
    body = problem(503, "not_ready", f"Not ready: {failing} unreachable.", request=request, checks=checks)
    return JsonResponse(body, status=503, content_type=PROBLEM_CONTENT_TYPE)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


def home(request):
    return render(request, "hub/home.html")


def problem_doc(request, code: str):
    """The human-readable page that a problem's `type` URI resolves to."""
    return render(request, "hub/problem.html", {"code": code})

