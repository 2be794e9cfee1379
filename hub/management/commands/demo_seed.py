"""A believable Wrocław partnership, and one fictional person with a consent for the demo (DESIGN.md 1: the "Model
Wsparcia" three-sector partnership). Fixed demo passwords and client secrets
are allowed only because the command refuses to run without DEBUG."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agencies.callers import Caller
from agencies.models import Agency
from agencies.services import agency_create, client_create, user_create
from consent_ledger import services as ledger
from consent_ledger.models import SubjectReference
from schemas.vocabularies import SCOPES, codes

DEMO_PASSWORD = "demo-password-2026"
EMPLOYER_SCOPES = ["agencies:read", "placements:read", "placements:write", "events:read", "webhooks:manage"]

# (slug, name, kind, teryt, [(username, role)])
DEMO_PROFILE = {
    "person": {"given_name": "Halina", "family_name": "Przykładowa", "birth_date": "1968-03-02"},
    "contact": {"phone": "+48 500 000 000"},
    "safe_contact": {"channel": "sms", "codeword": "fiołki", "do_not_contact_via": ["letter"]},
    "languages": ["pl"],
    "gender": "female",
}

PARTNERSHIP = [
    ("mops", "Miejski Ośrodek Pomocy Społecznej we Wrocławiu", "ops", "0264011",
     [("mops.kasia", "caseworker"), ("mops.anna", "supervisor"), ("mops.iod", "dpo")]),
    ("pcpr", "Powiatowe Centrum Pomocy Rodzinie we Wrocławiu", "pcpr", "0223",
     [("pcpr.marek", "caseworker")]),
    ("shelter", "Stowarzyszenie Bezpieczny Dom – schronisko dla kobiet", "shelter", "0264011",
     [("shelter.ewa", "caseworker"), ("shelter.olga", "coordinator")]),
    ("cis", "Centrum Integracji Społecznej Wrocław", "cis", "0264011",
     [("cis.joanna", "coordinator")]),
    ("police", "Komenda Miejska Policji we Wrocławiu", "police", "0264011",
     [("police.tomasz", "caseworker")]),
    ("hotel", "Hotel Nad Odrą sp. z o.o.", "employer", "0264011",
     [("hotel.beata", "employer_contact")]),
    ("bakery", "Piekarnia Nadodrze s.c.", "employer", "0264011",
     [("bakery.jan", "employer_contact")]),
]


class Command(BaseCommand):
    help = "Seed the demo partnership (idempotent). Refuses to run unless DEBUG is on."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("demo_seed creates known passwords and secrets: it runs only with DEBUG on.")
        if not Agency.objects.filter(name=PARTNERSHIP[0][1]).exists():
            self._seed()
        self._print_usage()

    @transaction.atomic
    def _seed(self):
        clients = {}
        for slug, name, kind, teryt, people in PARTNERSHIP:
            agency = agency_create(name=name, kind=kind, teryt=teryt)
            for username, role in people:
                user_create(agency=agency, username=username, password=DEMO_PASSWORD, role=role)
            clients[slug] = client_create(
                agency=agency,
                name=f"{name} – system",
                scopes=EMPLOYER_SCOPES if kind == "employer" else list(codes(SCOPES)),
                client_id=f"demo-{slug}",
                client_secret=f"demo-secret-{slug}",
            ).application
        self._seed_person(clients)

    def _seed_person(self, clients):
        """A fictional woman registered by MOPS, who consented in writing that
        the shelter may receive her identity and safe-contact arrangements."""
        mops = Caller(agency=clients["mops"].agency, application=clients["mops"])
        subject = ledger.subject_create(caller=mops, external_ref="MOPS/DEMO/1", profile=DEMO_PROFILE)
        ledger.consent_grant(
            caller=mops, subject_id=subject.id, form="written", grantor="subject",
            evidence_sha256="0" * 64,
            terms=ledger.Terms(
                categories=["identity", "safe_contact", "risk", "case_notes"],
                purposes=["referral", "case_coordination"],
                agencies=[str(clients["shelter"].agency_id)],
            ),
        )

    def _print_usage(self):
        subject_id = SubjectReference.objects.filter(external_ref="MOPS/DEMO/1").values_list("subject_id", flat=True).first()
        users = ", ".join(u for *_, people in PARTNERSHIP for u, _ in people)
        self.stdout.write(
            "\nDemo partnership ready (Wrocław).\n"
            "  Open:        http://127.0.0.1:8000/   (API docs: http://127.0.0.1:8000/api/docs/)\n"
            f"  Log in as:   mops.kasia / {DEMO_PASSWORD}   (every demo user has this password: {users})\n"
            "  API clients: client_id demo-<slug>, client_secret demo-secret-<slug>, "
            f"slugs: {', '.join(p[0] for p in PARTNERSHIP)}\n"
            "  Token:       curl -s -d grant_type=client_credentials -u demo-mops:demo-secret-mops "
            "http://127.0.0.1:8000/o/token/\n"
            f"  A person:    /api/v1/subjects/{subject_id}?purpose=referral  (MOPS sees all of it; with the "
            "shelter's token only what she consented to; any other agency gets 404)\n"
        )
