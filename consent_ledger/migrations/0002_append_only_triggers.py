from django.db import migrations

from consent_ledger import triggers


# The tables that exist at this point; 0006 guards the ones it adds.
TABLES = (triggers.ENTRY_TABLE, triggers.CHECKPOINT_TABLE)


def install(apps, schema_editor):
    triggers.install(schema_editor.connection, TABLES)


def uninstall(apps, schema_editor):
    triggers.uninstall(schema_editor.connection, TABLES)


class Migration(migrations.Migration):
    dependencies = [("consent_ledger", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
