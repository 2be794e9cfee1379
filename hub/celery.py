"""The Celery app. Without CELERY_BROKER_URL tasks run eagerly in-process (the
demo); with it, a worker and beat process run them (see deploy/)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.local")

app = Celery("hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
