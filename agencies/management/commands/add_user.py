from schemas.vocabularies import ROLES, codes

from ...services import user_create
from ._base import JsonCommand, agency_by_id


class Command(JsonCommand):
    help = "Create a user working at an agency in a role. Prints {\"id\"} with --json."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--agency", required=True, help="Agency id.")
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", required=True, choices=codes(ROLES))
        parser.add_argument("--email", default="")

    def run(self, *, agency, username, password, role, email, **options):
        user = user_create(agency=agency_by_id(agency), username=username, password=password, role=role, email=email)
        return {"id": str(user.pk)}, f"User {user.username} ({role}) created: {user.pk}"
