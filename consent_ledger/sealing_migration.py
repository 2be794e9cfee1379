"""Migration operations that move clear person-data columns into SealedFields
(consent_ledger/sealing.py, issue 12, item 1), existing rows sealed in place."""

from django.db import migrations

from .sealing import SealedField, unsealed


def seal_columns(model_name: str, fields: dict[str, dict], *, app_label: str) -> list:
    """Operations turning each clear column into a sealed one of the same
    name: keep the clear column aside, add the sealed one, seal every row,
    drop the clear column. `fields` maps a column to its SealedField
    arguments (subject=..., null=...)."""

    def seal_rows(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        for row in model._base_manager.using(schema_editor.connection.alias).iterator(chunk_size=500):
            for name in fields:
                setattr(row, name, getattr(row, f"{name}_clear"))
            row.save(update_fields=list(fields))

    def open_rows(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        for row in model._base_manager.using(schema_editor.connection.alias).iterator(chunk_size=500):
            for name in fields:
                setattr(row, f"{name}_clear", unsealed(getattr(row, name)))
            row.save(update_fields=[f"{name}_clear" for name in fields])

    operations = []
    for name, options in fields.items():
        operations += [
            migrations.RenameField(model_name, name, f"{name}_clear"),
            migrations.AddField(model_name, name, SealedField(**{**options, "null": True})),
        ]
    operations.append(migrations.RunPython(seal_rows, open_rows, elidable=False))
    for name, options in fields.items():
        operations.append(migrations.RemoveField(model_name, f"{name}_clear"))
        if not options.get("null"):
            operations.append(migrations.AlterField(model_name, name, SealedField(**options)))
    return operations
