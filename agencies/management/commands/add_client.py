from ...models import AgencyApplication
from ...services import client_create
from ._base import JsonCommand, agency_by_id


class Command(JsonCommand):
    help = (
        "Issue an OAuth2 client for an agency, limited to the given scopes. "
        "Prints {\"client_id\", \"client_secret\"} with --json; the secret is shown once."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--agency", required=True, help="Agency id.")
        parser.add_argument("--scope", required=True, help='Space-separated scopes, e.g. "agencies:read events:read".')
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--grant",
            choices=[AgencyApplication.GRANT_CLIENT_CREDENTIALS, AgencyApplication.GRANT_AUTHORIZATION_CODE],
            default=AgencyApplication.GRANT_CLIENT_CREDENTIALS,
            help="client-credentials for an agency system (default), authorization-code for a user app.",
        )
        parser.add_argument("--redirect-uri", default="", help="Exact redirect URI(s), space-separated.")

    def run(self, *, agency, scope, name, grant, redirect_uri, **options):
        issued = client_create(
            agency=agency_by_id(agency), scopes=scope.split(), name=name, grant_type=grant, redirect_uris=redirect_uri
        )
        client_id = issued.application.client_id
        result = {"client_id": client_id, "client_secret": issued.client_secret}
        return result, f"client_id={client_id}\nclient_secret={issued.client_secret}  (shown once)"
