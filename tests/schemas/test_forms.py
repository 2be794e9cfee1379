"""Forms generated from the hub's JSON Schemas (schemas/forms.py) and the enum
labels the schemas carry (`x-enum-titles`, `x-enum-titles-pl`): the form
says what the schema says, in Polish or English, and what it produces is a
document the registry accepts — the one the API would take."""

from datetime import datetime

import pytest
from django.utils import translation

from schemas.forms import (
    CHECKBOXES,
    DATE,
    DATETIME,
    GROUP,
    LINES,
    RADIOS,
    REPEAT,
    SELECT,
    TEXT,
    YES_NO,
    SchemaForm,
    data_from_document,
)
from schemas.presentation import document_rows, resolve_ref, schema_root
from schemas.registry import SchemaRegistry, get_registry
from schemas.vocabularies import REFERRAL_SERVICES, codes
from tests.schemas.test_referral_payloads import EXAMPLES

SERVICE_SCHEMAS = [f"referral-{code}" for code in codes(REFERRAL_SERVICES)]
PROFILE = {
    "person": {"given_name": "Anna", "family_name": "Nowak", "birth_date": "1970-01-01", "pesel": "70010100001"},
    "contact": {"phone": "+48 600 100 200", "address": {"city": "Wrocław", "postal_code": "50-001"}},
    "safe_contact": {
        "channel": "sms", "codeword": "konwalia", "do_not_contact_via": ["letter", "home_visit"],
        "safe_hours": [{"days": ["mon", "wed"], "from": "09:00", "to": "12:00"},
                       {"days": ["sat"], "from": "18:00", "to": "20:00"}],
    },
    "languages": ["pl", "uk"],
    "interpreter_needed": False,
    "gender": "female",
}


@pytest.fixture(autouse=True)
def _polish():
    with translation.override("pl"):
        yield


def form(schema, data=None, language="pl"):
    """The form bound to `data`: a dict (a list value is a multi-value field) or form data."""
    return SchemaForm(schema, language=language, data=data if data is not None else {})


def flat(layout):
    """Every node of a layout, depth first."""
    for node in layout:
        yield node
        yield from flat(node.get("children", []))
        for item in node.get("items", []):
            yield from flat(item["children"])


def by_id(schema_form):
    return {node["id"]: node for node in flat(schema_form.layout())}


def normalised(document):
    """needs as one text (the form writes it so), instants as instants, code
    lists as sets: the same document for the schema and the recipient."""
    def walk(value):
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            items = [walk(v) for v in value]
            return frozenset(items) if all(isinstance(i, str) for i in items) and items else items
        if isinstance(value, str) and len(value) > 18 and value[4] == "-" and value[10] == "T":
            return datetime.fromisoformat(value)
        return value
    document = dict(document)
    if isinstance(document.get("needs"), list):
        document["needs"] = "\n".join(document["needs"])
    return walk(document)


# --- what the form shows ---------------------------------------------------------------


@pytest.mark.parametrize("language, titles, levels", [
    ("pl", ["Opis sytuacji i cel skierowania", "Ocena ryzyka", "Poziom ryzyka", "Dzieci przybywające z osobą"],
     ["Niski", "Średni", "Wysoki", "Krytyczny"]),
    ("en", ["Summary", "Risk assessment", "Risk level", "Accompanying children"], ["Low", "Medium", "High", "Critical"]),
])
def test_the_payload_form_is_titled_and_labelled_in_the_pages_language(language, titles, levels):
    nodes = by_id(form("referral-shelter", language=language))

    assert [nodes[i]["title"] for i in ("summary", "risk", "risk__level", "accompanying_children")] == titles
    assert nodes["risk"]["control"] == GROUP
    assert nodes["risk__level"]["control"] == RADIOS
    assert [o["label"] for o in nodes["risk__level"]["options"]] == levels
    assert [o["value"] for o in nodes["risk__level"]["options"]] == ["low", "medium", "high", "critical"]


def test_each_kind_of_member_gets_its_gov_uk_control():
    nodes = by_id(form("subject"))

    assert nodes["person"]["control"] == GROUP
    assert nodes["person__birth_date"]["control"] == DATE
    assert [p["id"] for p in nodes["person__birth_date"]["parts"]] == [
        "person__birth_date-day", "person__birth_date-month", "person__birth_date-year"]
    assert nodes["safe_contact__channel"]["control"] == SELECT  # eight channels: a select
    assert "SMS" in [o["label"] for o in nodes["safe_contact__channel"]["options"]]
    assert nodes["safe_contact__do_not_contact_via"]["control"] == CHECKBOXES
    assert nodes["safe_contact__safe_hours"]["control"] == REPEAT
    assert nodes["safe_contact__safe_hours__0__days"]["control"] == CHECKBOXES
    assert [o["label"] for o in nodes["safe_contact__safe_hours__0__days"]["options"]][:2] == ["Poniedziałek", "Wtorek"]
    assert nodes["languages"]["control"] == LINES
    # Short codes by pattern, not free text: a country, a time.
    assert nodes["contact__address__country"]["control"] == TEXT
    assert nodes["safe_contact__safe_hours__0__from"]["control"] == TEXT
    assert nodes["contact__address__city"]["control"] == TEXT and nodes["safe_contact__codeword"]["control"] == TEXT
    assert nodes["interpreter_needed"]["control"] == YES_NO
    assert [o["label"] for o in nodes["interpreter_needed"]["options"]] == ["Tak", "Nie"]
    shelter = by_id(form("referral-shelter"))
    assert shelter["arrival__earliest"]["control"] == DATETIME
    assert shelter["accompanying_children__ages"]["control"] == LINES


def test_required_members_are_marked_and_hints_come_from_the_description():
    english = by_id(form("referral-police_protection", language="en"))

    assert english["summary"]["required"] == "always"
    assert english["risk__level"]["required"] == ""
    # A protective order needs its kind, once there is an order at all.
    assert english["protective_orders__0__type"]["required"] == "in_section"
    assert english["summary"]["hint"].startswith("Why the person is referred")
    assert english["summary"]["describedby"] == "summary-hint"
    # The schemas describe their members in English: no English hints on a Polish page.
    assert by_id(form("referral-police_protection"))["summary"]["hint"] == ""


def test_optional_radios_can_be_unanswered_and_answers_are_kept():
    nodes = by_id(form("referral-shelter", {"risk__level": "high"}))

    level = nodes["risk__level"]
    assert level["clearable"] and not level["cleared"]
    assert [o["value"] for o in level["options"] if o["checked"]] == ["high"]


def test_an_array_of_objects_shows_every_filled_item_and_one_more():
    data = {"safe_contact__safe_hours__0__from": "09:00", "safe_contact__safe_hours__1__from": "18:00"}

    nodes = by_id(form("subject", data))

    assert len(nodes["safe_contact__safe_hours"]["items"]) == 3
    assert nodes["safe_contact__safe_hours__1__from"]["value"] == "18:00"
    assert by_id(form("subject"))["safe_contact__safe_hours"]["items"][0]["title"] == "Bezpieczne godziny kontaktu (1)"


# --- from the form to the document -------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_service_form_round_trips_a_realistic_payload_into_a_valid_document(name):
    document = EXAMPLES[name]

    produced = form(name, data_from_document(name, document)).document()

    assert produced is not None
    assert get_registry().validate(name, produced) == []
    assert normalised(produced) == normalised(document)


def test_the_subject_form_round_trips_a_profile():
    produced = form("subject", data_from_document("subject", PROFILE)).document()

    assert produced == PROFILE


def test_empty_fields_are_left_out_not_sent_as_empty_strings():
    data = {"summary": "Potrzebuje schronienia", "risk__level": "", "risk__notes": "   ", "health__notes": "",
            "accompanying_children__ages": "\n\n", "arrival__earliest-day": "", "confidential_address_required": ""}

    assert form("referral-shelter", data).document() == {"summary": "Potrzebuje schronienia"}


def test_values_are_converted_to_what_the_schema_asks_for():
    data = {
        "summary": "S", "accompanying_children__count": "2", "accompanying_children__ages": "3\n7\n",
        "confidential_address_required": "yes", "arrival__transport_needed": "no",
        "arrival__earliest-day": "5", "arrival__earliest-month": "3", "arrival__earliest-year": "2026",
        "arrival__earliest-time": "14:30", "accessibility__needs": ["other", "wheelchair_user"],
    }

    document = form("referral-shelter", data).document()

    assert document["accompanying_children"] == {"count": 2, "ages": [3, 7]}
    assert document["confidential_address_required"] is True
    assert document["arrival"] == {"earliest": "2026-03-05T14:30:00+01:00", "transport_needed": False}
    assert document["accessibility"] == {"needs": ["wheelchair_user", "other"]}  # the schema's order
    amounts = form("referral-financial_aid", {"summary": "S", "amount_requested_pln": "1 250,50"}).document()
    assert amounts["amount_requested_pln"] == 1250.5


# --- errors, back on their fields ---------------------------------------------------------


def test_a_missing_required_member_is_named_on_its_field_in_the_error_summary():
    schema_form = form("referral-shelter", {"risk__notes": "Groził jej"})

    assert schema_form.document() is None

    assert schema_form.error_list() == [{"href": "#summary", "text": "Uzupełnij pole „Opis sytuacji i cel skierowania”"}]
    nodes = by_id(schema_form)
    assert nodes["summary"]["error"] and nodes["summary"]["describedby"] == "summary-error"
    assert nodes["risk__notes"]["value"] == "Groził jej"  # what she typed stays


def test_errors_in_a_list_of_objects_land_on_the_item_she_filled_in():
    # The first item left empty, the second filled without the required kind:
    # the document's item 0 is the form's item 1.
    data = {"summary": "S", "protective_orders__1__issued_by": "Sąd Rejonowy"}
    schema_form = form("referral-police_protection", data)

    assert schema_form.document() is None

    assert schema_form.error_list() == [{
        "href": "#protective_orders__1__type", "text": "Wybierz odpowiedź w polu „Rodzaj środka”"}]


@pytest.mark.parametrize("data, href, text", [
    ({"person__pesel": "70010100008"}, "#person__pesel", "W polu „Numer PESEL” jest nieprawidłowy numer PESEL: sprawdź 11 cyfr"),
    ({"person__birth_date-day": "31", "person__birth_date-month": "2", "person__birth_date-year": "1990"},
     "#person__birth_date-day", "W polu „Data urodzenia” wpisz prawdziwą datę, na przykład 27 3 2007"),
    ({"person__birth_date-day": "3", "person__birth_date-year": "1990"},
     "#person__birth_date-day", "W polu „Data urodzenia” brakuje: miesiąc"),
    ({"contact__phone": "dzwoń wieczorem"}, "#contact__phone", "Pole „Numer telefonu” ma nieprawidłowy format: sprawdź wskazówkę pod nim"),
    ({"contact__email": "anna"}, "#contact__email", "W polu „Adres e-mail” wpisz adres e-mail, na przykład imie@example.com"),
    ({"languages": "pl\npl"}, "#languages", "W polu „Języki, którymi posługuje się osoba” ta sama pozycja powtarza się"),
    ({"gender": "kobieta"}, "#gender", "Wybierz jedną z odpowiedzi w polu „Płeć”"),
])
def test_each_problem_is_worded_for_people_on_its_field(data, href, text):
    schema_form = form("subject", data)

    assert schema_form.document() is None

    assert schema_form.error_list() == [{"href": href, "text": text}]
    assert "70010100008" not in text and "anna" not in text  # never repeats what was typed


def test_numbers_out_of_range_say_the_range():
    schema_form = form("referral-shelter", {"summary": "S", "expected_stay_days": "400", "accompanying_adults": "dwie"})

    assert schema_form.document() is None

    assert [e["text"] for e in schema_form.error_list()] == [
        "W polu „Inne osoby dorosłe przybywające z osobą” wpisz liczbę całkowitą, na przykład 3",
        "W polu „Przewidywany czas pobytu (dni)” wpisz liczbę od 1 do 365",
    ]


def test_errors_are_not_shown_before_the_form_is_checked():
    schema_form = form("referral-shelter", {"summary": ""})

    assert schema_form.error_list() == []
    assert by_id(schema_form)["summary"]["error"] == ""


# --- the enum labels in the schemas ----------------------------------------------------------


def _enums(node, resolver, where):
    node, resolver = resolve_ref(node, resolver)
    if not isinstance(node, dict):
        return
    if "enum" in node:
        yield where, node
    for key, sub in node.get("properties", {}).items():
        yield from _enums(sub, resolver, f"{where}/{key}")
    if isinstance(node.get("items"), dict):
        yield from _enums(node["items"], resolver, f"{where}/*")
    if "$ref" in node and "properties" in node:
        resolved = resolver.lookup(node["$ref"])
        yield from _enums(resolved.contents, resolved.resolver, where)


@pytest.mark.parametrize("name", ["subject", "referral-base", *SERVICE_SCHEMAS])
def test_every_enum_people_read_has_an_english_and_a_polish_label_for_each_code(name):
    schema, resolver = schema_root(name)
    found = list(_enums(schema, resolver, ""))

    assert found
    for where, node in found:
        for language in ("x-enum-titles", "x-enum-titles-pl"):
            labels = node.get(language, {})
            assert set(labels) == set(node["enum"]), (where, language)
            assert all(isinstance(label, str) and label.strip() for label in labels.values()), (where, language)


def test_the_labels_are_annotations_the_registry_loads_and_validation_ignores(tmp_path):
    # The same schemas without any label validate every example the same way.
    import json

    from schemas.registry import DEFAULT_DIRECTORY

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("x-enum-titles", "x-enum-titles-pl")}
        return [strip(v) for v in value] if isinstance(value, list) else value

    for path in DEFAULT_DIRECTORY.glob("*.json"):
        (tmp_path / path.name).write_text(json.dumps(strip(json.loads(path.read_text(encoding="utf-8")))))
    bare, shipped = SchemaRegistry(tmp_path), get_registry()
    risky = {"summary": "S", "risk": {"level": "extreme"}}
    for name, document in [*EXAMPLES.items(), ("referral-shelter", risky), ("subject", PROFILE)]:
        assert bare.validate(name, document) == shipped.validate(name, document)
        assert bare.category_map(name).present(document) == shipped.category_map(name).present(document)


def test_a_disclosed_document_reads_with_labels_not_codes():
    document = {"summary": "S", "risk": {"level": "high"}, "perpetrator_knows_current_address": "unknown",
                "accessibility": {"needs": ["wheelchair_user", "other"]}}

    polish = {row.path: row.value for row in document_rows("referral-shelter", document, "pl")}
    english = {row.path: row.value for row in document_rows("referral-shelter", document, "en")}
    profile = {row.path: row.value for row in document_rows("subject", PROFILE, "pl")}

    assert polish["risk.level"] == "Wysoki" and english["risk.level"] == "High"
    assert polish["perpetrator_knows_current_address"] == "Nie wiadomo"
    assert polish["accessibility.needs"] == ["Porusza się na wózku", "Inne"]
    assert profile["safe_contact.channel"] == "SMS"
    assert profile["safe_contact.do_not_contact_via"] == ["List", "Wizyta domowa"]
    assert profile["safe_contact.safe_hours.1.days"] == ["Poniedziałek", "Środa"]
    assert profile["languages"] == ["pl", "uk"]  # not an enum: as typed
    assert polish["summary"] == "S"
