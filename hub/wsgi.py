import logging
import os

from django.core.wsgi import get_wsgi_application

from hub.api.logs import RequestDataFilter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.production")

application = get_wsgi_application()

# gunicorn configures its own loggers before it loads this module, outside
# Django's LOGGING: the same filter keeps request lines, query strings and
# exception messages out of its access and error logs (hub/api/logs.py).
for _name in ("gunicorn.access", "gunicorn.error"):
    logging.getLogger(_name).addFilter(RequestDataFilter())
