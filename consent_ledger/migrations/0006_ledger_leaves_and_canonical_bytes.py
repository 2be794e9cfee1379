"""Entries keep the exact bytes their leaf commits to; leaf positions move to
an insert-only table beside them (issue 11).

Existing entries get their canonical bytes from their columns and body, the
same RFC 8785 serialisation their leaf hash was computed from (so every leaf
hash and checkpoint stays valid); sequenced entries get a LedgerLeaf row,
unsequenced ones a LedgerPending row. The guards are lifted for the rewrite
and come back on every ledger table at the end of 0007, which drops the old
columns (in its own transaction: PostgreSQL refuses to ALTER a table with
pending deferred foreign-key checks from the rows written here).
"""

from datetime import UTC

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from consent_ledger import triggers
from consent_ledger.merkle import canonical_bytes, frontier_extend_nodes

BATCH = 2000


def lift_guards(apps, schema_editor):
    triggers.uninstall(schema_editor.connection, (triggers.ENTRY_TABLE, triggers.CHECKPOINT_TABLE))
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DROP FUNCTION IF EXISTS hub_ledger_entry_guard()")


def _iso(moment) -> str:
    # consent_ledger.ledger.iso as of this migration: UTC, microseconds, "Z".
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def move_to_canonical_and_leaves(apps, schema_editor):
    LedgerEntry = apps.get_model("consent_ledger", "LedgerEntry")
    LedgerLeaf = apps.get_model("consent_ledger", "LedgerLeaf")
    LedgerPending = apps.get_model("consent_ledger", "LedgerPending")
    for entry in LedgerEntry.objects.order_by("seq").iterator(chunk_size=BATCH):
        content = {
            "id": str(entry.id), "kind": entry.kind, "subject": str(entry.subject_id),
            "recorded_by": str(entry.recorded_by_id), "actor": entry.actor,
            "recorded_at": _iso(entry.recorded_at), "body": entry.body,
        }
        LedgerEntry.objects.filter(seq=entry.seq).update(canonical=canonical_bytes(content))
        if entry.leaf_index is None:
            LedgerPending.objects.create(entry_id=entry.seq, leaf_hash=entry.leaf_hash)
        else:
            LedgerLeaf.objects.create(leaf_index=entry.leaf_index, entry_id=entry.seq)
    _keep_nodes(apps, LedgerEntry)


def _keep_nodes(apps, LedgerEntry):
    """The MerkleNode rows the sequencer would have written for the log so far."""
    MerkleNode = apps.get_model("consent_ledger", "MerkleNode")
    sequenced = LedgerEntry.objects.filter(leaf_index__isnull=False).order_by("leaf_index")
    leaves = (bytes.fromhex(h) for h in sequenced.values_list("leaf_hash", flat=True).iterator(chunk_size=BATCH))
    _, nodes = frontier_extend_nodes([], 0, leaves, min_height=settings.LEDGER_NODE_MIN_HEIGHT)
    MerkleNode.objects.bulk_create(
        [MerkleNode(height=height, index=index, hash=node) for height, index, node in nodes], batch_size=BATCH
    )


class Migration(migrations.Migration):
    dependencies = [("consent_ledger", "0005_verificationrun")]

    operations = [
        migrations.RunPython(lift_guards, migrations.RunPython.noop),
        migrations.AddField(
            model_name="ledgerentry",
            name="canonical",
            field=models.BinaryField(null=True, help_text="RFC 8785 bytes of the content: codes, ids, times and hashes only"),
        ),
        migrations.CreateModel(
            name="LedgerLeaf",
            fields=[
                ("leaf_index", models.BigIntegerField(primary_key=True, serialize=False)),
                (
                    "entry",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="leaf", to="consent_ledger.ledgerentry",
                        db_constraint=False,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="LedgerPending",
            fields=[
                (
                    "entry",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, primary_key=True, related_name="+",
                        serialize=False, to="consent_ledger.ledgerentry",
                    ),
                ),
                ("leaf_hash", models.CharField(max_length=64, help_text="the entry's, so sequencing never reads the entries")),
            ],
        ),
        migrations.CreateModel(
            name="MerkleNode",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("height", models.PositiveSmallIntegerField()),
                ("index", models.BigIntegerField()),
                ("hash", models.BinaryField()),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("height", "index"), name="merkle_node_unique")],
            },
        ),
        migrations.AddField(model_name="checkpoint", name="frontier", field=models.JSONField(default=list)),
        migrations.AddField(
            model_name="verificationrun",
            name="root_hash",
            field=models.CharField(blank=True, default="", max_length=64, help_text="the root proven at tree_size; '' if not ok"),
            preserve_default=False,
        ),
        migrations.RunPython(move_to_canonical_and_leaves, migrations.RunPython.noop),
    ]
