from django.db import migrations

from consent_ledger import triggers


def install(apps, schema_editor):
    triggers.install(schema_editor)


def uninstall(apps, schema_editor):
    triggers.uninstall(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("consent_ledger", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
