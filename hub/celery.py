"""The Celery app. Without CELERY_BROKER_URL tasks run eagerly in-process (the
demo); with it, a worker and beat process run them (see deploy/)."""

import os

from celery import Celery

# Fail closed: a worker started without DJANGO_SETTINGS_MODULE gets production
# settings (which refuse to start without a secret key), never the demo.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.production")

app = Celery("hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
