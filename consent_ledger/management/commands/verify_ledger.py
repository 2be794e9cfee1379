import json

from django.core.management.base import BaseCommand, CommandError

from ...verify import verify_ledger_and_record


class Command(BaseCommand):
    help = (
        "Recompute the consent ledger from the stored entries and check every signed "
        "checkpoint (DESIGN.md 4.4). Only reads the log; the result is kept for the "
        "DPO's status page. Exits 1, naming the first problem, "
        "unless everything verifies."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true",
            help='Print one JSON object {"ok", "tree_size", "checkpoints_checked", "problems"}.',
        )

    def handle(self, *args, **options):
        report = verify_ledger_and_record(trigger="command")
        if options["json"]:
            fields = ("ok", "tree_size", "checkpoints_checked", "problems")
            self.stdout.write(json.dumps({name: getattr(report, name) for name in fields}))
        else:
            self.stdout.write(self._summary(report))
        if not report.ok:
            more = len(report.problems) - 1
            hint = f" (and {more} more; --json lists them all)" if more else ""
            raise CommandError(f"{report.first_problem}{hint}")

    def _summary(self, report) -> str:
        counts = f"{report.tree_size} sequenced entries, {report.checkpoints_checked} checkpoints checked"
        if report.ok:
            return f"Ledger verified: {counts}."
        return f"Ledger does NOT verify: {len(report.problems)} problems ({counts})."
