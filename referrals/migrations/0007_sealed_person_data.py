from django.db import migrations, models

from consent_ledger.sealing_migration import seal_columns


class Migration(migrations.Migration):

    dependencies = [
        ('agencies', '0006_revokedaccesstoken'),
        ('referrals', '0006_placements'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='placementcheckin',
            name='placement_check_in_side_fields',
        ),
        migrations.AddField(
            model_name='bluecardprocedure',
            name='content_erased_at',
            field=models.DateTimeField(blank=True, help_text='its retention period ended: metadata only', null=True),
        ),
        migrations.AddField(
            model_name='placement',
            name='content_erased_at',
            field=models.DateTimeField(blank=True, help_text='its retention period ended: metadata only', null=True),
        ),
        migrations.AddField(
            model_name='referral',
            name='content_erased_at',
            field=models.DateTimeField(blank=True, help_text='its retention period ended: metadata only', null=True),
        ),
        # Existing rows sealed in place (issue 12, item 1); the key store (the `keys`
        # alias: `manage.py migrate --database keys`) must exist first.
        *seal_columns('action', {'title': {'null': True, 'subject': 'plan.subject_id'}}, app_label='referrals'),
        *seal_columns('bluecardprocedure', {'forms_of_violence': {'help_text': 'NK-A; person data, disclosed only', 'null': True, 'subject': 'subject_id'}}, app_label='referrals'),
        *seal_columns('bluecardstep', {'content': {'null': True, 'subject': 'procedure.subject_id'}}, app_label='referrals'),
        *seal_columns('caseupdate', {'payload': {'null': True, 'subject': 'referral.subject_id'}}, app_label='referrals'),
        *seal_columns('goal', {'baseline': {'help_text': 'a string or a number', 'null': True, 'subject': 'plan.subject_id'}, 'indicator': {'default': '', 'null': True, 'subject': 'plan.subject_id'}, 'title': {'null': True, 'subject': 'plan.subject_id'}}, app_label='referrals'),
        *seal_columns('placementcheckin', {'coordinator_notes': {'default': '', 'null': True, 'subject': 'placement.subject_id'}, 'who5': {'help_text': 'the five WHO-5 items as recorded, each 0-5', 'null': True, 'subject': 'placement.subject_id'}}, app_label='referrals'),
        *seal_columns('referral', {'payload': {'null': True, 'subject': 'subject_id'}, 'reason': {'default': '', 'help_text': 'why the referral is made; case_notes', 'null': True, 'subject': 'subject_id'}, 'status_reason': {'default': '', 'help_text': 'why the status last changed; case_notes', 'null': True, 'subject': 'subject_id'}}, app_label='referrals'),
        *seal_columns('referraltransition', {'reason': {'default': '', 'null': True, 'subject': 'referral.subject_id'}}, app_label='referrals'),
        *seal_columns('review', {'measures': {'null': True, 'subject': 'plan.subject_id'}, 'summary': {'default': '', 'null': True, 'subject': 'plan.subject_id'}}, app_label='referrals'),
        migrations.AddConstraint(
            model_name='placementcheckin',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('coordinator_notes__isnull', True), ('days_absent__isnull', False), ('days_worked__isnull', False), ('employer_feedback__gte', 1), ('employer_feedback__lte', 5), ('side', 'employer'), ('timepoint', ''), ('who5__isnull', True)), models.Q(('days_absent__isnull', True), ('days_worked__isnull', True), ('employer_feedback__isnull', True), ('side', 'coordinator')), _connector='OR'), name='placement_check_in_side_fields'),
        ),
    ]
