"""A legal basis's reference (the statute, order or procedure record; a
court's case signature may name the person) was kept twice: in the note
beside its entry and in Provision.reference. Erasure deleted only the note.
The column goes, and with it the references of people already erased; the
note is the one place left (every writer stored it there too). Reviewers'
comments on the emergency disclosures of people already erased are blanked,
as erasure now does. Reversing adds the column back empty."""

from django.db import migrations


def blank_erased_review_comments(apps, schema_editor):
    EmergencyReview = apps.get_model("consent_ledger", "EmergencyReview")
    EmergencyReview.objects.filter(provision__subject__erased_at__isnull=False).exclude(comment="").update(comment="")


class Migration(migrations.Migration):

    dependencies = [
        ("consent_ledger", "0010_sealed_profile_key_store"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="provision",
            name="reference",
        ),
        migrations.RunPython(blank_erased_review_comments, migrations.RunPython.noop),
    ]
