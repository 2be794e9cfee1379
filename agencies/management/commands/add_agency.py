from schemas.vocabularies import AGENCY_KINDS, SECTORS, codes

from ...services import agency_create
from ._base import JsonCommand


class Command(JsonCommand):
    help = "Register an agency. Prints {\"id\"} with --json."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", required=True, choices=codes(AGENCY_KINDS))
        parser.add_argument("--sector", choices=codes(SECTORS), help="Defaults to the kind's usual sector.")
        parser.add_argument("--teryt", default="", help="TERYT code of the gmina (7 digits) or powiat (4).")

    def run(self, *, name, kind, sector, teryt, **options):
        agency = agency_create(name=name, kind=kind, sector=sector, teryt=teryt)
        return {"id": str(agency.id)}, f"Agency {agency.name} ({agency.kind}) created: {agency.id}"
