import json

from django.core.management.base import BaseCommand

from ...sealing import current_kek_id, subject_keys_rewrap


class Command(BaseCommand):
    help = (
        "Re-wrap every subject's data key with the current key-encryption key (SEALING_CURRENT_KEK), after a "
        "KEK rotation (consent_ledger/sealing.py). Person data is not re-encrypted. Once it reports no key "
        "left under an old KEK, that KEK can be removed from SEALING_KEKS."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help='Print one JSON object {"kek", "rewrapped": {old: n}}.')

    def handle(self, *args, **options):
        moved = subject_keys_rewrap()
        if options["json"]:
            self.stdout.write(json.dumps({"kek": current_kek_id(), "rewrapped": moved}))
            return
        summary = ", ".join(f"{n} from {kek}" for kek, n in sorted(moved.items())) or "none"
        self.stdout.write(f"Data keys re-wrapped with {current_kek_id()}: {summary}.")
