"""Checkpoint keys over time (issue 12, item 5; consent_ledger/keys.py).

Every key gets its C2SP signed-note key ID and a validity, and every
checkpoint the ID of the key that signed it, read from its own signature line
(the notes are not touched: the ID is already in what was signed). The
current key stays the one that signed until now: LEDGER_SIGNING_KEY when set
(from now on recorded here by its public part, so run this migration in the
environment that holds it), else the key stored under LEDGER_KEY_NAME. A key
is valid from its first checkpoint (or its creation, if earlier); any other
stored key is retired at its last checkpoint and its private part erased.

The checkpoints' append-only guard is lifted for the new column and, on
SQLite, the rebuilds of the table, and comes back at the end.
"""

import base64
import binascii
import hashlib
from collections import defaultdict

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

from consent_ledger import triggers

BATCH = 2000


def lift_guard(apps, schema_editor):
    triggers.uninstall(schema_editor.connection, (triggers.CHECKPOINT_TABLE,))


def restore_guard(apps, schema_editor):
    triggers.install(schema_editor.connection, (triggers.CHECKPOINT_TABLE,))


def _key_id(name: str, public: bytes) -> str:
    # signed-note, "Ed25519 signatures": SHA-256(name || 0x0A || 0x01 || key)[:4].
    return hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4].hex()


def _signature_key_id(note: str, name: str) -> str:
    """The key ID of the note's signature by `name` ('' when there is none to read)."""
    for line in note[note.rfind("\n\n") + 2 :].splitlines():
        signer, _, encoded = line.removeprefix("\u2014 ").partition(" ")
        if signer != name:
            continue
        try:
            return base64.b64decode(encoded, validate=True)[:4].hex()
        except (binascii.Error, ValueError):
            return ""
    return ""


def _record_checkpoint_keys(Checkpoint) -> dict[str, tuple]:
    """Give every checkpoint its key ID; returns key ID -> (first, last) time signed."""
    by_key, times = defaultdict(list), {}
    for pk, name, note, at in Checkpoint.objects.values_list("pk", "key_name", "note", "created_at").iterator(
        chunk_size=BATCH
    ):
        kid = _signature_key_id(note, name)
        by_key[kid].append(pk)
        first, last = times.get(kid, (at, at))
        times[kid] = (min(first, at), max(last, at))
    for kid, pks in by_key.items():
        for start in range(0, len(pks), BATCH):
            Checkpoint.objects.filter(pk__in=pks[start : start + BATCH]).update(key_id=kid)
    return times


def _operator_public_key() -> bytes | None:
    if not settings.LEDGER_SIGNING_KEY:
        return None
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private = Ed25519PrivateKey.from_private_bytes(base64.b64decode(settings.LEDGER_SIGNING_KEY))
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def record_keys(apps, schema_editor):
    SigningKey = apps.get_model("consent_ledger", "SigningKey")
    times = _record_checkpoint_keys(apps.get_model("consent_ledger", "Checkpoint"))
    rows = list(SigningKey.objects.all())
    operator = _operator_public_key()
    if operator is not None:
        current = operator
    else:
        current = next((bytes(r.public_key) for r in rows if r.key_name == settings.LEDGER_KEY_NAME), None)
    for row in rows:
        row.key_id = _key_id(row.key_name, bytes(row.public_key))
        first, last = times.get(row.key_id, (row.created_at, row.created_at))
        row.valid_from = min(row.created_at, first)
        if bytes(row.public_key) != current:
            row.retired_at, row.private_key = max(last, row.valid_from), None
        row.save(update_fields=["key_id", "valid_from", "retired_at", "private_key"])
    if operator is not None and all(bytes(r.public_key) != operator for r in rows):
        kid = _key_id(settings.LEDGER_KEY_NAME, operator)
        SigningKey.objects.create(
            key_name=settings.LEDGER_KEY_NAME, key_id=kid, public_key=operator, private_key=None,
            valid_from=times.get(kid, (timezone.now(),))[0],
        )


class Migration(migrations.Migration):
    dependencies = [("consent_ledger", "0008_ledger_entry_fewer_indexes")]

    operations = [
        migrations.RunPython(lift_guard, restore_guard),
        migrations.AddField(
            model_name="checkpoint",
            name="key_id",
            field=models.CharField(
                default="", help_text="the signing key's signed-note key ID (SigningKey.key_id)", max_length=8
            ),
            preserve_default=False,
        ),
        migrations.AlterField(model_name="checkpoint", name="tree_size", field=models.BigIntegerField()),
        migrations.AddConstraint(
            model_name="checkpoint",
            constraint=models.UniqueConstraint(fields=("tree_size", "key_id"), name="checkpoint_size_key_unique"),
        ),
        migrations.AddField(model_name="signingkey", name="key_id", field=models.CharField(max_length=8, null=True)),
        migrations.AddField(model_name="signingkey", name="valid_from", field=models.DateTimeField(null=True)),
        migrations.AddField(
            model_name="signingkey", name="retired_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AlterField(model_name="signingkey", name="key_name", field=models.CharField(max_length=255)),
        migrations.AlterField(model_name="signingkey", name="private_key", field=models.BinaryField(null=True)),
        migrations.RunPython(record_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="signingkey", name="key_id", field=models.CharField(max_length=8, unique=True)
        ),
        migrations.AlterField(model_name="signingkey", name="valid_from", field=models.DateTimeField()),
        migrations.AddConstraint(
            model_name="signingkey",
            constraint=models.UniqueConstraint(
                models.ExpressionWrapper(models.Q(("retired_at__isnull", True)), output_field=models.BooleanField()),
                condition=models.Q(("retired_at__isnull", True)),
                name="signing_key_one_current",
            ),
        ),
        migrations.RunPython(restore_guard, lift_guard),
    ]
