from django.db import migrations, models

from consent_ledger.sealing_migration import seal_columns


class Migration(migrations.Migration):

    dependencies = [
        ('consent_ledger', '0009_checkpoint_key_rotation'),
    ]

    operations = [
        migrations.CreateModel(
            name='ErasedSubject',
            fields=[
                ('subject_id', models.UUIDField(primary_key=True, serialize=False)),
                ('erased_at', models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name='SubjectKey',
            fields=[
                ('subject_id', models.UUIDField(primary_key=True, serialize=False)),
                ('kek_id', models.CharField(help_text='the key-encryption key that wraps it', max_length=64)),
                ('wrapped', models.BinaryField()),
                ('created_at', models.DateTimeField()),
            ],
        ),
        migrations.AddField(
            model_name='subject',
            name='erased_at',
            field=models.DateTimeField(blank=True, help_text='when the data key was destroyed (erasure)', null=True),
        ),
        migrations.AddField(
            model_name='subject',
            name='erasure_reason',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='kind',
            field=models.CharField(choices=[('consent_granted', 'Consent Granted'), ('consent_revoked', 'Consent Revoked'), ('refusal_recorded', 'Refusal Recorded'), ('refusal_withdrawn', 'Refusal Withdrawn'), ('legal_basis_asserted', 'Legal Basis Asserted'), ('legal_basis_ended', 'Legal Basis Ended'), ('emergency_disclosure', 'Emergency Disclosure'), ('disclosure', 'Disclosure'), ('subject_erased', 'Subject Erased'), ('retention_erasure', 'Retention Erasure')], max_length=32),
        ),
        # Existing rows sealed in place (issue 12, item 1); the key store (the `keys`
        # alias: `manage.py migrate --database keys`) must exist first.
        *seal_columns('subject', {'profile': {'null': True, 'subject': 'id'}}, app_label='consent_ledger'),
    ]
