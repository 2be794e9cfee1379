import json

from django.core.management.base import BaseCommand, CommandError

from ...verify import VerificationRefused, verify_ledger_and_record

# Exit status when an incremental run is refused: nothing was verified, which
# is not the same as a log found broken (exit 1).
REFUSED = 2


class Command(BaseCommand):
    help = (
        "Recompute the consent ledger from the stored entries and check every signed "
        "checkpoint (DESIGN.md 4.4). Only reads the log; the result is kept for the "
        "DPO's status page. Exits 1, naming the first problem, unless everything "
        "verifies; 2 when an incremental run is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true",
            help='Print one JSON object {"ok", "tree_size", "checkpoints_checked", "problems", "root_hash"}.',
        )
        parser.add_argument(
            "--from-checkpoint", type=int, metavar="N",
            help="Verify incrementally: only the entries from tree size N on and the checkpoints after N, "
            "trusting the root at N (--root, else the root a successful run proved at N).",
        )
        parser.add_argument("--root", metavar="HEX", help="The trusted root at --from-checkpoint N.")
        parser.add_argument(
            "--jobs", type=int, metavar="N",
            help="Worker processes verifying ranges of the log in parallel (PostgreSQL; default: one per CPU).",
        )

    def handle(self, *args, **options):
        if options["root"] is not None and options["from_checkpoint"] is None:
            raise CommandError("--root is the trusted root at --from-checkpoint N: give both")
        if options["jobs"] is not None and options["jobs"] < 1:
            raise CommandError("--jobs must be at least 1")
        try:
            report = verify_ledger_and_record(
                trigger="command", from_checkpoint=options["from_checkpoint"], trusted_root=options["root"],
                jobs=options["jobs"],
            )
        except VerificationRefused as exc:
            raise CommandError(f"Not verified: {exc}", returncode=REFUSED) from None
        if options["json"]:
            fields = ("ok", "tree_size", "checkpoints_checked", "problems", "root_hash")
            self.stdout.write(json.dumps({name: getattr(report, name) for name in fields}))
        else:
            self.stdout.write(self._summary(report, options["from_checkpoint"]))
        if not report.ok:
            more = len(report.problems) - 1
            hint = f" (and {more} more; --json lists them all)" if more else ""
            raise CommandError(f"{report.first_problem}{hint}")

    def _summary(self, report, start: int | None) -> str:
        counts = f"{report.tree_size} sequenced entries, {report.checkpoints_checked} checkpoints checked"
        if start is not None:
            counts += f" from tree size {start}"
        if not report.ok:
            return f"Ledger does NOT verify: {len(report.problems)} problems ({counts})."
        root = f"; root {report.root_hash}" if report.root_hash else ""
        return f"Ledger verified: {counts}{root}."
