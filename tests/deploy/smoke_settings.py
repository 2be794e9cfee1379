"""Settings of the production smoke test (test_production_smoke.py):
hub.settings.production, and only

- the Celery queue, one per run (HUB_SMOKE_QUEUE), so that the test's worker
  and beat share RabbitMQ with no other run (production has no setting for
  it: a deployment owns its broker's default queue);
- the webhook allowances, read from the environment as base.py reads them
  (WEBHOOK_ALLOW_HTTP, WEBHOOK_ALLOWED_NETWORKS), restated here so that the
  test keeps working if production ever pins them: the test's receiver is an
  http.server on 127.0.0.1, which production refuses by default. This is the
  smoke test's only relaxation of production behaviour."""

import os

from hub.settings.base import env
from hub.settings.production import *  # noqa: F403

CELERY_TASK_DEFAULT_QUEUE = os.environ["HUB_SMOKE_QUEUE"]
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=False)
WEBHOOK_ALLOWED_NETWORKS = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
