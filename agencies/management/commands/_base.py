import json
import uuid

from django.core.management.base import BaseCommand, CommandError

from hub.api.errors import ApplicationError

from ...models import Agency


class JsonCommand(BaseCommand):
    """A command that prints one JSON object with --json, a sentence without.
    Subclasses define run(**options) -> (result dict, sentence)."""

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options):
        try:
            result, sentence = self.run(**options)
        except ApplicationError as exc:
            raise CommandError(exc.detail)
        self.stdout.write(json.dumps(result) if options["json"] else sentence)


def agency_by_id(agency_id: str) -> Agency:
    try:
        return Agency.objects.get(pk=uuid.UUID(agency_id))
    except (ValueError, Agency.DoesNotExist):
        raise CommandError(f"No agency with id {agency_id!r}.")
