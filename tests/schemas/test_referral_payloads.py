"""The referral payload schemas (one per referral service, DESIGN.md 4.1, 4.5, 6)
and the case-update schemas, as the shipped registry serves them."""

import json

import pytest

from schemas.registry import DEFAULT_DIRECTORY, SchemaRegistry, ValidationProblem, check_registry
from schemas.vocabularies import DATA_CATEGORIES, REFERRAL_SERVICES, codes

CATEGORIES = codes(DATA_CATEGORIES)
SERVICES = codes(REFERRAL_SERVICES)
SERVICE_SCHEMAS = [f"referral-{code}" for code in SERVICES]
UPDATE_SCHEMAS = ["case-update-note", "case-update-appointment", "case-update-outcome"]
NEW_SCHEMAS = ["referral-base", *SERVICE_SCHEMAS, *UPDATE_SCHEMAS]

# DESIGN.md 6: every referral payload schema extends a base with these.
COMMON_CATEGORIES = {
    "/summary": "case_notes",
    "/risk": "risk",
    "/risk/level": "risk",
    "/risk/notes": "risk",
    "/health": "health",
    "/health/notes": "health",
    "/needs": "case_notes",
}

# The category of what each receiving professional most needs (a subset of each map).
EXPECTED_CATEGORIES = {
    "referral-shelter": {
        "/accompanying_children": "children",
        "/accompanying_children/ages/*": "children",
        "/accessibility": "health",
        "/perpetrator_knows_current_address": "risk",
        "/confidential_address_required": "risk",
        "/substance_use": "substance_use",
        "/pets": "case_notes",
        "/arrival/earliest": "case_notes",
        "/pickup_location/city": "location",
    },
    "referral-crisis_intervention": {
        "/immediate_danger": "risk",
        "/violence_forms/*": "risk",
        "/perpetrator_present": "risk",
        "/suicidal_thoughts": "mental_health",
        "/children_present/count": "children",
        "/current_location": "location",
        "/current_location/street": "location",
        "/blue_card_procedure": "legal_proceedings",
    },
    "referral-psychological": {
        "/concerns": "mental_health",
        "/symptoms/*": "mental_health",
        "/suicide_risk": "mental_health",
        "/treatment/medication": "mental_health",
        "/children/ages": "children",
        "/support_requested": "case_notes",
    },
    "referral-legal_aid": {
        "/legal_matters": "legal_proceedings",
        "/proceedings/*/type": "legal_proceedings",
        "/deadlines/*/date": "legal_proceedings",
        "/documents/missing/*": "legal_proceedings",
        "/migration_status/status": "migration_status",
    },
    "referral-medical": {
        "/medical_urgency": "health",
        "/medical_needs/*": "health",
        "/injuries": "health",
        "/pregnant": "health",
        "/substance_use/notes": "substance_use",
    },
    "referral-interpreter": {
        "/language": "demographics",
        "/dialect": "demographics",
        "/other_languages/*": "demographics",
        "/setting": "case_notes",
        "/appointments/*/start": "case_notes",
        "/appointments/*/place/city": "location",
        "/interpreter_restrictions": "risk",
    },
    "referral-family_assistant": {
        "/children": "children",
        "/children/*/age_years": "children",
        "/perpetrator_in_household": "risk",
        "/home_visit_safety": "risk",
        "/family_court/probation_officer_supervision": "legal_proceedings",
        "/finances/notes": "finances",
    },
    "referral-employment_activation": {
        "/qualifications/*": "employment",
        "/education_level": "education",
        "/desired_hours/hours_per_week": "employment",
        "/work_restrictions/notes": "health",
        "/childcare_needed/ages/*": "children",
        "/preferred_work_area": "location",
        "/areas_to_avoid": "risk",
    },
    "referral-vocational_training": {
        "/education_level": "education",
        "/completed_training/*": "education",
        "/training_interests": "education",
        "/target_occupation": "employment",
        "/employment_status": "employment",
        "/learning_needs": "health",
        "/funding/source": "finances",
    },
    "referral-financial_aid": {
        "/aid_requested/*": "finances",
        "/amount_requested_pln": "finances",
        "/household/monthly_net_income_pln": "finances",
        "/payment/notes": "finances",
        "/perpetrator_controls_finances": "risk",
    },
    "referral-police_protection": {
        "/perpetrator": "perpetrator",
        "/perpetrator/description": "perpetrator",
        "/perpetrator/weapons_access": "perpetrator",
        "/protective_orders/*/type": "legal_proceedings",
        "/criminal_complaint/reference": "legal_proceedings",
        "/location": "location",
        "/location/street": "location",
        "/recent_incidents/*/date": "risk",
    },
    "referral-perpetrator_programme": {
        "/violence_forms/*": "perpetrator",
        "/violence_history": "perpetrator",
        "/readiness_for_change": "perpetrator",
        "/referral_basis": "legal_proceedings",
        "/court_referral/complete_by": "legal_proceedings",
        "/protective_orders/*/valid_until": "legal_proceedings",
        "/substance_use": "substance_use",
        "/children_in_household/count": "children",
        "/victim_safety": "risk",
    },
}

RISK = {"level": "high", "notes": "Sprawca groził pozbawieniem życia; plan bezpieczeństwa ustalony 3.03."}
HEALTH = {"notes": "Cukrzyca typu 2, przyjmuje insulinę."}
PLACE = {"name": "Stacja paliw przy pętli tramwajowej", "street": "ul. Krzywoustego 1", "postal_code": "51-165",
         "city": "Wrocław", "directions": "Czeka w samochodzie koleżanki, srebrna skoda."}


def payload(**members):
    return {"summary": "Pani A., 52 l., doświadcza przemocy ze strony męża od 20 lat.", "risk": RISK,
            "health": HEALTH, "needs": ["bezpieczne schronienie", "wsparcie psychologiczne"], **members}


EXAMPLES = {
    "referral-shelter": payload(
        accompanying_children={"count": 2, "ages": [4, 11], "notes": "Starszy syn był świadkiem przemocy."},
        accompanying_adults=0,
        confidential_address_required=True,
        perpetrator_knows_current_address="yes",
        accessibility={"needs": ["ground_floor_room"], "notes": "Porusza się o kulach."},
        substance_use={"notes": "Brak."},
        pets={"count": 1, "description": "Mały pies, szczepiony."},
        arrival={"earliest": "2026-03-03T16:00:00Z", "latest": "2026-03-03T20:00:00+01:00", "transport_needed": True},
        pickup_location=PLACE,
        expected_stay_days=90,
    ),
    "referral-crisis_intervention": payload(
        immediate_danger=True,
        violence_forms=["physical", "psychological", "economic"],
        last_incident_at="2026-03-02T22:30:00Z",
        perpetrator_present="no",
        weapons_access="unknown",
        outreach_visit_safe="no",
        suicidal_thoughts="no",
        children_present={"count": 1, "ages": [7]},
        current_location=PLACE,
        response_requested=["phone_contact", "emergency_accommodation"],
        police_notified="yes",
        blue_card_procedure="initiated",
    ),
    "referral-psychological": payload(
        concerns="Zaburzenia snu, nawracające wspomnienia zdarzeń, lęk przed wyjściem z domu.",
        symptoms=["sleep_problems", "trauma_symptoms", "anxiety"],
        suicide_risk="low",
        treatment={"in_treatment_now": "no", "history": "Konsultacja psychiatryczna w 2019 r."},
        support_requested=["trauma_therapy", "support_group"],
        children={"count": 1, "ages": [11], "notes": "Syn moczy się w nocy od listopada."},
        session_modes=["in_person", "phone"],
        therapist_gender_preference="female",
    ),
    "referral-legal_aid": payload(
        legal_matters=["criminal_proceedings", "divorce_or_separation", "maintenance"],
        proceedings=[
            {"type": "criminal", "role": "victim", "stage": "pre_trial",
             "authority": "Prokuratura Rejonowa Wrocław-Krzyki", "reference": "PR 1 Ds. 123.2026",
             "notes": "Art. 207 § 1 kk."},
            {"type": "family", "role": "plaintiff", "stage": "not_started"},
        ],
        deadlines=[{"date": "2026-03-17", "description": "Zażalenie na umorzenie śledztwa."}],
        documents={"available": ["identity_card", "blue_card_forms"], "missing": ["passport"],
                   "notes": "Paszport zatrzymał mąż."},
        migration_status={"status": "polish_citizen"},
        assistance_requested=["advice", "representation_in_court"],
    ),
    "referral-medical": payload(
        medical_urgency="within_24_hours",
        medical_needs=["injury_treatment", "injury_documentation"],
        injuries="Zasinienia przedramion i szyi z 2.03 wieczorem.",
        conditions="Cukrzyca typu 2.",
        medications="Insulina.",
        allergies="Penicylina.",
        pregnant="no",
        mobility="Porusza się o kulach.",
        health_insurance="insured",
        substance_use={"notes": "Brak."},
        clinician_gender_preference="female",
    ),
    "referral-interpreter": payload(
        language="uk",
        dialect="Surżyk",
        other_languages=["ru"],
        setting="police_interview",
        mode="in_person",
        appointments=[{"start": "2026-03-05T09:00:00+01:00", "duration_minutes": 120, "place": PLACE}],
        interpreter_gender_preference="female",
        sworn_interpreter_required=True,
        interpreter_restrictions="Nikt ze społeczności ukraińskiej w Oleśnicy: sprawca jest tam znany.",
    ),
    "referral-family_assistant": payload(
        children=[
            {"age_years": 4, "lives_with_person": True, "education_setting": "kindergarten"},
            {"age_years": 11, "lives_with_person": True, "education_setting": "primary_school",
             "special_needs": "Orzeczenie o potrzebie kształcenia specjalnego."},
        ],
        household={"adults": 2, "notes": "Mieszkanie komunalne, dwa pokoje."},
        support_areas=["parenting_skills", "budgeting", "school_cooperation"],
        perpetrator_in_household="yes",
        home_visit_safety="only_when_perpetrator_absent",
        family_court={"proceedings_pending": "yes", "probation_officer_supervision": "no"},
        blue_card_procedure="ongoing",
        finances={"notes": "Zaległości czynszowe ok. 4 000 zł."},
    ),
    "referral-employment_activation": payload(
        education_level="basic_vocational",
        qualifications=["Kucharz (ZSZ)", "Prawo jazdy kat. B", "Książeczka sanepidowska"],
        work_experience=[{"occupation": "pomoc kuchenna", "years": 6, "last_year": 2004}],
        registered_unemployed=True,
        desired_occupations=["pomoc kuchenna", "pracownik gospodarczy"],
        desired_hours={"hours_per_week": 30, "shifts": ["morning"], "notes": "Do 15:00 z powodu dzieci."},
        max_commute_minutes=45,
        work_restrictions={"disability_certificate": "mild", "notes": "Bez dźwigania powyżej 10 kg."},
        childcare_needed={"count": 1, "ages": [4]},
        preferred_work_area="Wrocław, Krzyki lub Fabryczna",
        areas_to_avoid="Psie Pole: sprawca pracuje w zajezdni MPK.",
        support_requested=["job_coaching", "placement_at_partner_employer", "therapy_during_placement"],
        placement_interest=True,
    ),
    "referral-vocational_training": payload(
        education_level="secondary_general",
        completed_training=["Kurs obsługi kasy fiskalnej (2015)"],
        training_interests=["opiekunka osób starszych", "kadry i płace"],
        polish_language_level="native",
        target_occupation="opiekunka osób starszych",
        employment_status="unemployed_registered",
        learning_needs="Niedosłuch lewostronny: siedzi z przodu sali.",
        availability={"hours_per_week": 20, "modes": ["in_person", "blended"]},
        childcare_needed={"count": 1, "ages": [4]},
        funding={"source": "labour_office", "notes": "Bon szkoleniowy PUP."},
    ),
    "referral-financial_aid": payload(
        aid_requested=["purpose_benefit", "food"],
        purpose="Kaucja za mieszkanie chronione i żywność na pierwszy miesiąc.",
        amount_requested_pln=1800.5,
        household={"size": 3, "monthly_net_income_pln": 1450, "income_sources": ["family_benefits", "maintenance"],
                   "housing_costs_pln": 900, "debts": "Zaległości czynszowe ok. 4 000 zł."},
        perpetrator_controls_finances="yes",
        payment={"method": "bank_transfer", "notes": "Nigdy na wspólne konto z mężem; nowe konto w PKO."},
    ),
    "referral-police_protection": payload(
        perpetrator={
            "name": "Jan A.", "approximate_age": 55, "relationship": "spouse",
            "description": "Ok. 185 cm, siwe włosy, jeździ czerwonym fordem transitem.",
            "lives_with_person": "no", "weapons_access": "yes", "alcohol_or_drug_use": "yes",
            "usual_whereabouts": "Zajezdnia MPK przy ul. Kromera (zmiana od 6:00).",
            "history": "Dwukrotnie skazany z art. 207 kk; naruszył zakaz zbliżania się w styczniu.",
        },
        protective_orders=[
            {"type": "approach_ban", "status": "violated", "issued_by": "Sąd Rejonowy dla Wrocławia-Krzyków",
             "reference": "II K 456/25", "valid_until": "2027-01-31", "notes": "Odległość 100 m."},
            {"type": "order_to_leave_home", "status": "in_force", "issued_by": "KMP Wrocław"},
        ],
        location=PLACE,
        recent_incidents=[{"date": "2026-03-02", "description": "Czekał pod pracą, groził."}],
        protection_requested=["patrol_checks", "safety_planning"],
        criminal_complaint={"filed": "yes", "authority": "KP Wrocław-Krzyki", "reference": "RSD 789/26"},
        blue_card_procedure="ongoing",
    ),
    "referral-perpetrator_programme": {
        "summary": "Pan J.A., 55 l., zobowiązany wyrokiem do udziału w programie korekcyjno-edukacyjnym.",
        "risk": {"level": "medium"},
        "needs": "Program w godzinach popołudniowych (pracuje na zmiany poranne).",
        "programme_type": "corrective_educational",
        "referral_basis": "probation_condition",
        "court_referral": {"court": "Sąd Rejonowy dla Wrocławia-Krzyków", "reference": "II K 456/25",
                           "decision_date": "2026-01-15", "complete_by": "2026-12-31",
                           "report_to": "Kurator zawodowy, ZKSS nr 3"},
        "protective_orders": [{"type": "approach_ban", "status": "in_force", "valid_until": "2027-01-31"}],
        "blue_card_procedure": "ongoing",
        "violence_forms": ["physical", "psychological"],
        "violence_history": "Przemoc wobec żony od ok. 20 lat, nasilona po utracie pracy.",
        "relationship_to_victims": ["partner"],
        "readiness_for_change": "low",
        "previous_programmes": "Brak.",
        "substance_use": {"notes": "Leczenie odwykowe w 2018 r., przerwane."},
        "children_in_household": {"count": 0},
        "victim_safety": "Żona ma zakaz zbliżania się na swoją korzyść; nie kontaktować się z nią przez sprawcę.",
    },
}

UPDATE_EXAMPLES = {
    "case-update-note": {"text": "Rozmowa telefoniczna na hasło 'konwalia'; pani A. potwierdziła przyjazd."},
    "case-update-appointment": {
        "when": "2026-03-05T10:00:00+01:00",
        "duration_minutes": 60,
        "where": {"name": "PCPR, pokój 12", "city": "Wrocław"},
        "with_whom": {"name": "Maria Wiśniewska", "role": "psycholog", "agency": "PCPR Wrocław"},
        "mode": "in_person",
        "status": "scheduled",
        "notes": "Tłumaczka umówiona.",
    },
    "case-update-outcome": {
        "summary": "Pani A. ukończyła 12 sesji terapii traumy; zmniejszenie objawów lękowych.",
        "goals_achieved": "partly",
        "services_provided": [
            {"service": "psychological", "description": "Terapia indywidualna", "sessions": 12,
             "from": "2026-03-05", "to": "2026-06-04"},
            {"description": "Grupa wsparcia dla kobiet", "sessions": 6},
        ],
        "risk_at_closure": {"level": "medium", "notes": "Sprawca nadal mieszka w tej samej dzielnicy."},
        "follow_up": {"needed": True, "recommendations": "Kontynuacja grupy wsparcia.", "next_review": "2026-09-01",
                      "recommended_services": ["employment_activation"]},
    },
}


@pytest.fixture(scope="module")
def registry():
    # The real registry of schemas/json/, not the process-wide cached one.
    return SchemaRegistry()


def raw(name):
    return json.loads((DEFAULT_DIRECTORY / f"{name}.json").read_text(encoding="utf-8"))


# -- presence ---------------------------------------------------------------------


def test_every_referral_service_has_a_payload_schema_in_the_shipped_registry(registry):
    assert check_registry() == []
    for code in SERVICES:
        assert registry.schema_id(f"referral-{code}") == f"https://schemas.hub.invalid/referral-{code}/1"
    payload_names = {n.split("/")[0] for n in registry.names() if n.startswith("referral-")} - {"referral-base"}
    assert payload_names == set(SERVICE_SCHEMAS)  # and no schema for a service the vocabulary does not know


def test_the_case_update_schemas_are_shipped(registry):
    for name in UPDATE_SCHEMAS:
        assert registry.schema_id(name) == f"https://schemas.hub.invalid/{name}/1"


def test_every_example_covers_a_service_of_the_vocabulary():
    assert set(EXAMPLES) == set(EXPECTED_CATEGORIES) == set(SERVICE_SCHEMAS)


# -- categories -------------------------------------------------------------------


@pytest.mark.parametrize("name", NEW_SCHEMAS)
def test_the_categories_resolve_to_data_category_codes(registry, name):
    pointers = registry.category_map(name).pointers()
    assert pointers
    assert set(pointers.values()) <= set(CATEGORIES)


@pytest.mark.parametrize("name", ["referral-base", *SERVICE_SCHEMAS])
def test_every_payload_schema_has_the_common_part_of_design_section_6(registry, name):
    pointers = registry.category_map(name).pointers()
    assert {p: pointers.get(p) for p in COMMON_CATEGORIES} == COMMON_CATEGORIES


@pytest.mark.parametrize("name", SERVICE_SCHEMAS)
def test_each_service_puts_what_the_receiver_needs_under_its_category(registry, name):
    pointers = registry.category_map(name).pointers()
    expected = EXPECTED_CATEGORIES[name]
    assert {p: pointers.get(p) for p in expected} == expected


def test_the_update_schemas_categorise_the_place_as_location_and_the_rest_as_notes(registry):
    assert registry.category_map("case-update-note").pointers() == {"/text": "case_notes"}
    appointment = registry.category_map("case-update-appointment").pointers()
    assert {p: c for p, c in appointment.items() if c != "case_notes"} == {
        p: "location" for p in appointment if p.startswith("/where")
    }
    outcome = registry.category_map("case-update-outcome").pointers()
    assert outcome["/summary"] == outcome["/services_provided/*/service"] == "case_notes"
    assert outcome["/risk_at_closure/level"] == "risk"


def test_the_service_codes_in_the_outcome_schema_are_the_vocabulary(registry):
    schema = registry.get("case-update-outcome")["properties"]
    assert schema["services_provided"]["items"]["properties"]["service"]["enum"] == list(SERVICES)
    assert schema["follow_up"]["properties"]["recommended_services"]["items"]["enum"] == list(SERVICES)


def _property_schemas(schema, where=""):
    """(location, property schema) for every property declared anywhere in `schema`."""
    if isinstance(schema, dict):
        for name, sub in (schema.get("properties") or {}).items():
            yield f"{where}/properties/{name}", sub
        for key, sub in schema.items():
            yield from _property_schemas(sub, f"{where}/{key}")
    elif isinstance(schema, list):
        for index, sub in enumerate(schema):
            yield from _property_schemas(sub, f"{where}/{index}")


def _subschemas(schema, where=""):
    if isinstance(schema, dict):
        yield where, schema
        for key, sub in schema.items():
            if key not in ("enum", "const", "required", "examples"):
                yield from _subschemas(sub, f"{where}/{key}")
    elif isinstance(schema, list):
        for index, sub in enumerate(schema):
            yield from _subschemas(sub, f"{where}/{index}")


@pytest.mark.parametrize("name", NEW_SCHEMAS)
def test_every_property_has_an_english_and_a_polish_title(name):
    for location, prop in _property_schemas(raw(name)):
        assert prop.get("title") and prop.get("x-title-pl"), location


@pytest.mark.parametrize("name", NEW_SCHEMAS)
def test_every_string_and_array_is_bounded_and_every_object_is_closed(name):
    for location, schema in _subschemas(raw(name)):
        types = schema.get("type")
        types = [types] if isinstance(types, str) else types or []
        if "string" in types and "format" not in schema:
            assert "maxLength" in schema or "enum" in schema, location
        if "array" in types:
            assert "maxItems" in schema, location
        if "object" in types and "properties" in schema and location not in ("", "/$defs/common"):
            assert schema.get("additionalProperties") is False, location
    root = raw(name)
    assert root.get("additionalProperties") is False or root.get("unevaluatedProperties") is False


# -- validation -------------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICE_SCHEMAS)
def test_a_realistic_payload_is_valid(registry, name):
    assert registry.validate(name, EXAMPLES[name]) == []


@pytest.mark.parametrize("name", UPDATE_SCHEMAS)
def test_a_realistic_case_update_is_valid(registry, name):
    assert registry.validate(name, UPDATE_EXAMPLES[name]) == []


@pytest.mark.parametrize("name", ["referral-base", *SERVICE_SCHEMAS])
def test_a_summary_is_all_a_payload_needs_except_an_interpreter_needs_the_language(registry, name):
    minimal = {"summary": "Prośba o kontakt."}
    if name == "referral-interpreter":
        assert registry.validate(name, minimal) == [ValidationProblem("/language", "is required", "required")]
        minimal["language"] = "vi"
    assert registry.validate(name, minimal) == []
    assert registry.validate(name, {k: v for k, v in minimal.items() if k != "summary"}) == [
        ValidationProblem("/summary", "is required", "required")
    ]


@pytest.mark.parametrize("name", SERVICE_SCHEMAS)
def test_an_unknown_top_level_member_is_refused_at_its_own_pointer(registry, name):
    # unevaluatedProperties: the member is named, with the members the schema
    # declares through referral-base's $ref (issue 16).
    document = {**EXAMPLES[name], "nickname": "Ania"}
    [problem] = registry.validate(name, document)
    assert (problem.pointer, problem.code) == ("/nickname", "unevaluatedProperties")
    assert problem.detail.startswith("is not allowed here: unknown member 'nickname'. Allowed: ")
    allowed = problem.detail.split("Allowed: ")[1].split(", ")
    assert {"summary", "risk", "health", "needs"} <= set(allowed)
    assert set(allowed) >= set(EXAMPLES[name])


@pytest.mark.parametrize("name", SERVICE_SCHEMAS)
def test_an_unknown_nested_member_is_refused_at_its_own_pointer(registry, name):
    document = {**EXAMPLES[name], "risk": {**RISK, "score": 7}, "health": {"notes": "x", "blood_type": "0+"}}
    assert [(p.pointer, p.detail.split(":")[0], p.code) for p in registry.validate(name, document)] == [
        ("/health/blood_type", "is not allowed here", "additionalProperties"),
        ("/risk/score", "is not allowed here", "additionalProperties"),
    ]


@pytest.mark.parametrize(
    ("name", "member", "value", "pointer"),
    [
        ("referral-shelter", "accompanying_children", {"count": 1, "names": ["Ola"]}, "/accompanying_children/names"),
        ("referral-legal_aid", "deadlines", [{"date": "2026-03-17", "description": "x", "x": 1}], "/deadlines/0/x"),
        ("referral-police_protection", "perpetrator", {"name": "J.", "pesel": "1"}, "/perpetrator/pesel"),
        ("referral-interpreter", "appointments",
         [{"start": "2026-03-05T09:00:00Z", "place": {"city": "Wrocław", "gps": "51,17"}}],
         "/appointments/0/place/gps"),
    ],
)
def test_unknown_members_deep_in_a_service_part_are_refused_at_their_pointer(registry, name, member, value, pointer):
    problems = registry.validate(name, {**EXAMPLES[name], member: value})
    assert [(p.pointer, p.detail.split(":")[0], p.code) for p in problems] == [
        (pointer, "is not allowed here", "additionalProperties")
    ]
    assert f"unknown member {pointer.rsplit('/', 1)[1]!r}. Allowed: " in problems[0].detail


@pytest.mark.parametrize("name", ["referral-base", *SERVICE_SCHEMAS])
def test_the_risk_level_is_one_of_the_four_levels(registry, name):
    base = {**EXAMPLES.get(name, {"summary": "x"})}
    for level in ("low", "medium", "high", "critical"):
        assert registry.validate(name, {**base, "risk": {"level": level}}) == []
    for level in ("severe", "HIGH", 3, None):
        problems = registry.validate(name, {**base, "risk": {"level": level}})
        assert [(p.pointer, p.code) for p in problems] == [("/risk/level", "enum")]
    assert problems[0].detail == 'must be one of: "low", "medium", "high", "critical"'


@pytest.mark.parametrize(
    ("needs", "codes_found"),
    [
        ("Schronienie dla trojga osób.", []),
        (["schronienie", "prawnik"], []),
        ("", ["minLength"]),
        ([], ["minItems"]),
        (["x" * 501], ["maxLength"]),
        ([f"potrzeba {i}" for i in range(31)], ["maxItems"]),
        ({"shelter": True}, ["type"]),
    ],
)
def test_needs_is_a_text_or_a_list_of_short_items(registry, needs, codes_found):
    problems = registry.validate("referral-shelter", {"summary": "x", "needs": needs})
    assert [p.code for p in problems] == codes_found


@pytest.mark.parametrize(
    ("name", "change", "pointer", "code"),
    [
        ("referral-legal_aid", {"deadlines": [{"date": "17.03.2026", "description": "Zażalenie"}]},
         "/deadlines/0/date", "format"),
        ("referral-shelter", {"arrival": {"earliest": "2026-03-03 16:00"}}, "/arrival/earliest", "format"),
        ("referral-shelter", {"accompanying_children": {"count": 1, "ages": [18]}}, "/accompanying_children/ages/0",
         "maximum"),
        ("referral-interpreter", {"language": "Ukrainian"}, "/language", "pattern"),
        ("referral-crisis_intervention", {"violence_forms": ["physical", "physical"]}, "/violence_forms",
         "uniqueItems"),
        ("referral-financial_aid", {"amount_requested_pln": -5}, "/amount_requested_pln", "minimum"),
        ("referral-police_protection", {"protective_orders": [{"status": "in_force"}]}, "/protective_orders/0/type",
         "required"),
        ("referral-medical", {"injuries": "x" * 2001}, "/injuries", "maxLength"),
    ],
)
def test_service_fields_are_checked(registry, name, change, pointer, code):
    problems = registry.validate(name, {**EXAMPLES[name], **change})
    assert [(p.pointer, p.code) for p in problems] == [(pointer, code)]


@pytest.mark.parametrize(
    ("name", "document", "pointer", "code"),
    [
        ("case-update-note", {}, "/text", "required"),
        ("case-update-note", {"text": "x", "author": "Kasia"}, "/author", "additionalProperties"),
        ("case-update-appointment", {"when": "jutro o 10"}, "/when", "format"),
        ("case-update-appointment", {"when": "2026-03-05T10:00:00Z", "where": {"room": 12}}, "/where/room",
         "additionalProperties"),
        ("case-update-outcome", {"summary": "x", "services_provided": [{"service": "therapy", "description": "x"}]},
         "/services_provided/0/service", "enum"),
        ("case-update-outcome", {"summary": "x", "risk_at_closure": {"level": "none"}}, "/risk_at_closure/level",
         "enum"),
    ],
)
def test_case_updates_are_checked(registry, name, document, pointer, code):
    assert [(p.pointer, p.code) for p in registry.validate(name, document)] == [(pointer, code)]


# -- pruning ----------------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICE_SCHEMAS)
def test_pruning_withholds_health_and_keeps_the_summary(registry, name):
    document = EXAMPLES[name]
    pruned, withheld = registry.prune(name, document, set(CATEGORIES) - {"health"})
    assert pruned["summary"] == document["summary"]
    assert "health" not in pruned
    assert withheld == (["health"] if "health" in registry.categories_present(name, document) else [])
    assert "health" not in registry.categories_present(name, pruned)
    assert registry.validate(name, pruned) == []


@pytest.mark.parametrize("name", SERVICE_SCHEMAS)
def test_with_only_case_notes_permitted_nothing_of_another_category_is_released(registry, name):
    document = EXAMPLES[name]
    pruned, withheld = registry.prune(name, document, {"case_notes"})
    assert registry.categories_present(name, pruned) == {"case_notes"}
    assert set(withheld) == registry.categories_present(name, document) - {"case_notes"}
    assert pruned["summary"] == document["summary"]
    assert "risk" not in pruned


def test_a_shelter_without_children_permitted_still_learns_the_rest(registry):
    pruned, withheld = registry.prune("referral-shelter", EXAMPLES["referral-shelter"], set(CATEGORIES) - {"children"})
    assert "accompanying_children" not in pruned and withheld == ["children"]
    assert pruned["perpetrator_knows_current_address"] == "yes"


def test_an_interpreter_keeps_the_appointments_but_not_their_places_without_location(registry):
    document = EXAMPLES["referral-interpreter"]
    pruned, withheld = registry.prune("referral-interpreter", document, set(CATEGORIES) - {"location"})
    assert pruned["appointments"] == [{"start": "2026-03-05T09:00:00+01:00", "duration_minutes": 120}]
    assert withheld == ["location"]


def test_police_without_perpetrator_permitted_get_the_orders_but_not_the_description(registry):
    document = EXAMPLES["referral-police_protection"]
    pruned, withheld = registry.prune(
        "referral-police_protection", document, {"case_notes", "legal_proceedings", "location", "risk"}
    )
    assert "perpetrator" not in pruned
    assert pruned["protective_orders"] == document["protective_orders"]
    assert withheld == ["health", "perpetrator"]


def test_an_appointment_without_location_permitted_keeps_the_time_and_drops_the_place(registry):
    document = UPDATE_EXAMPLES["case-update-appointment"]
    pruned, withheld = registry.prune("case-update-appointment", document, {"case_notes"})
    assert pruned == {k: v for k, v in document.items() if k != "where"}
    assert withheld == ["location"]
