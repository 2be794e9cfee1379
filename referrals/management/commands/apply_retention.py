import json

from django.core.management.base import BaseCommand

from ...retention import retention_apply

# How the summary names each data class's outcome.
_ERASED = "content erased"
_SUMMARY = {
    "closed_referrals": ("closed referrals", _ERASED),
    "ended_placements": ("ended placements", _ERASED),
    "closed_blue_cards": ("closed Blue Card procedures", _ERASED),
    "closed_plans": ("closed plans", _ERASED),
    "subjects": ("people", "shredded"),
    "subjects_kept": ("people", "kept by a statutory basis or court order"),
    "delivered_webhooks": ("webhook deliveries", "deleted"),
    "idempotency_records": ("idempotency records", "deleted"),
    "expired_tokens": ("OAuth2 tokens and grants", "deleted"),
}


class Command(BaseCommand):
    help = (
        "Apply the retention periods (RETENTION_DAYS; referrals/retention.py): erase the person data of records "
        "past their period (one retention_erasure ledger entry each), shred people none of whose records is left, "
        "delete expired webhook deliveries, idempotency records and tokens. The beat runs it daily."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Change nothing; list what would go.")
        parser.add_argument(
            "--json", action="store_true",
            help="Print one JSON object: per data class the ids (records, people) or the count (technical records).",
        )

    def handle(self, *args, **options):
        report = retention_apply(dry_run=options["dry_run"]).as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        if report.pop("dry_run"):
            self.stdout.write("Dry run: nothing was changed. This would go:")
        for data_class, outcome in report.items():
            what, done = _SUMMARY[data_class]
            count = len(outcome) if isinstance(outcome, list) else outcome
            self.stdout.write(f"{what}: {count} {done}")
            if isinstance(outcome, list) and outcome:
                self.stdout.write("  " + " ".join(outcome))
