#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    # The demo settings unless told otherwise; deployments set
    # DJANGO_SETTINGS_MODULE=hub.settings.production.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings.local")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
