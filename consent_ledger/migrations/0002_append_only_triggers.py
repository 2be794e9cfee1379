from django.db import migrations

from consent_ledger import triggers


def install(apps, schema_editor):
    triggers.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    triggers.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("consent_ledger", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
