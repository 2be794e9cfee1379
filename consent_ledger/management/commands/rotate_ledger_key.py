import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ...checkpoint import verifier_key
from ...keys import NEXT_KEY_SETTING, KeyRotationRefused, SigningKeyUnavailable
from ...sequencer import ledger_key_rotate


class Command(BaseCommand):
    help = (
        "Retire the current checkpoint key for a new one and sign the tree as it stands with both "
        "(DESIGN.md 4.4; consent_ledger/keys.py). The new key is LEDGER_NEXT_SIGNING_KEY when the operator "
        "holds the keys, else one generated into the database. The retired key's private part is erased."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true",
            help='Print one JSON object {"retired", "current", "checkpoint"}.',
        )

    def handle(self, *args, **options):
        try:
            rotation = ledger_key_rotate()
        except (KeyRotationRefused, SigningKeyUnavailable) as exc:
            raise CommandError(f"Not rotated: {exc}") from None
        retired, current, checkpoint = rotation.retired, rotation.current, rotation.checkpoint
        at = checkpoint.created_at.isoformat()
        if options["json"]:
            self.stdout.write(json.dumps({
                "retired": {"key_name": retired.name, "key_id": retired.key_id, "retired_at": at},
                "current": {
                    "key_name": current.name, "key_id": current.key_id, "valid_from": at,
                    "verifier_key": verifier_key(current.name, current.public_key),
                },
                "checkpoint": {"id": checkpoint.pk, "tree_size": checkpoint.tree_size},
            }))
            return
        self.stdout.write(
            f"Checkpoint key rotated at {at}: {retired.label} retired, {current.label} current; the checkpoint "
            f"at tree size {checkpoint.tree_size} (id {checkpoint.pk}) is signed by both."
        )
        if getattr(settings, NEXT_KEY_SETTING, ""):
            self.stdout.write(
                f"Now give every process LEDGER_SIGNING_KEY={NEXT_KEY_SETTING}'s value and unset {NEXT_KEY_SETTING}."
            )
