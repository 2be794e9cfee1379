"""The Celery app. Without CELERY_BROKER_URL tasks run eagerly in-process (the
demo); with it, a worker and beat process run them (see deploy/)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

# Fail closed: a worker started without DJANGO_SETTINGS_MODULE gets production
# settings (which refuse to start without a secret key), never the demo.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.production")

app = Celery("hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _release_database_connection(task=None, **kwargs) -> None:
    """Treat each task like a request: hand the connection back to the pool,
    or drop it if it broke (CELERY_DB_REUSE_MAX keeps Celery's own fixup from
    closing the whole pool around every task). Eager tasks run inside their
    caller's transaction: leave theirs alone."""
    if not getattr(task.request, "is_eager", False):
        from django.db import close_old_connections

        close_old_connections()
