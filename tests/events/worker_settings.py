"""Settings for a real Celery worker started by test_worker_rabbitmq.py: the
test settings, but tasks go through RabbitMQ (on a queue of the test's own)
and the database is the test's database, whose name the test passes."""

import os

from hub.settings.test import *  # noqa: F403
from hub.settings.test import DATABASES

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = os.environ.get("HUB_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
CELERY_TASK_DEFAULT_QUEUE = os.environ["HUB_TEST_QUEUE"]
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False  # no pidbox queues left behind on the broker
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
DATABASES["default"]["NAME"] = os.environ["HUB_TEST_DB_NAME"]
if "keys" in DATABASES:
    DATABASES["keys"]["NAME"] = os.environ["HUB_TEST_KEYS_DB_NAME"]
# The delivery cut by the test's kill is leased for timeout + margin before it
# is sent again: short here, so that it comes within the test's wait.
WEBHOOK_TIMEOUT_SECONDS = 2
WEBHOOK_LEASE_MARGIN_SECONDS = 1
