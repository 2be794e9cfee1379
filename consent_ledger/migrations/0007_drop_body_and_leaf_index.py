"""The second half of 0006: the old columns go, the guards come back on
every ledger table (entries, leaves, Merkle nodes, checkpoints)."""

from django.db import migrations, models

from consent_ledger import triggers


def restore_guards(apps, schema_editor):
    triggers.install(schema_editor.connection)


def lift_guards(apps, schema_editor):
    triggers.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("consent_ledger", "0006_ledger_leaves_and_canonical_bytes")]

    operations = [
        migrations.RemoveIndex(model_name="ledgerentry", name="ledger_unsequenced"),
        migrations.RemoveField(model_name="ledgerentry", name="leaf_index"),
        migrations.RemoveField(model_name="ledgerentry", name="body"),
        migrations.AlterField(
            model_name="ledgerentry",
            name="canonical",
            field=models.BinaryField(help_text="RFC 8785 bytes of the content: codes, ids, times and hashes only"),
        ),
        migrations.RunPython(restore_guards, lift_guards),
    ]
