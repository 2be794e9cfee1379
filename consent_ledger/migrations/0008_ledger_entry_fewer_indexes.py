"""Drop the single-column indexes of LedgerEntry.subject and .recorded_by
(issue 11; models.py says why they are not needed).

Through SQL, not AlterField: on SQLite AlterField rebuilds the table, and the
rebuilt table would lose its append-only triggers (consent_ledger/triggers.py)."""

import django.db.models.deletion
from django.db import migrations, models

COLUMNS = ("subject_id", "recorded_by_id")


def _single_column_indexes(schema_editor, table):
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, table)
    return {
        tuple(info["columns"]): name
        for name, info in constraints.items()
        if info["index"] and not info["unique"] and not info["primary_key"] and len(info["columns"]) == 1
    }


def drop_indexes(apps, schema_editor):
    table = apps.get_model("consent_ledger", "LedgerEntry")._meta.db_table
    found = _single_column_indexes(schema_editor, table)
    for column in COLUMNS:
        if (column,) in found:
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(found[(column,)])}")


def create_indexes(apps, schema_editor):
    table = apps.get_model("consent_ledger", "LedgerEntry")._meta.db_table
    for column in COLUMNS:
        name = schema_editor._create_index_name(table, [column])
        schema_editor.execute(
            f"CREATE INDEX {schema_editor.quote_name(name)} ON {schema_editor.quote_name(table)} "
            f"({schema_editor.quote_name(column)})"
        )


class Migration(migrations.Migration):

    dependencies = [
        ('agencies', '0006_revokedaccesstoken'),
        ('consent_ledger', '0007_drop_body_and_leaf_index'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='ledgerentry',
                    name='recorded_by',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='agencies.agency'),
                ),
                migrations.AlterField(
                    model_name='ledgerentry',
                    name='subject',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_entries', to='consent_ledger.subject'),
                ),
            ],
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
        ),
    ]
