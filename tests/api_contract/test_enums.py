"""Every enumerated value in the published schema comes from the vocabularies
(schemas/vocabularies/*.json) or from the one module constant that defines
the list, so the documentation cannot drift from what the hub accepts and
answers (issue 16, item 2)."""

import importlib
import inspect

import pytest
import yaml

from schemas.vocabularies import codes, names

# The vocabularies the API publishes, each under one component name, in file order.
VOCABULARY_ENUMS = {
    "DataCategoryEnum": "data_categories",
    "PurposeEnum": "purposes",
    "AgencyKindEnum": "agency_kinds",
    "SectorEnum": "sectors",
    "ReferralServiceEnum": "referral_services",
    "EventTypeEnum": "event_types",
    "LegalBasisEnum": "legal_bases",
}
# Modules whose constants (module-level, or on a class they define) may define
# a list of codes the API enumerates.
CONSTANT_MODULES = [
    "referrals.lifecycle", "referrals.models", "referrals.selectors", "referrals.api.views",
    "referrals.plans.lifecycle", "referrals.blue_card.rules", "referrals.blue_card.models",
    "referrals.placements.lifecycle", "referrals.placements.models", "referrals.placements.stats",
    "referrals.api.placement_views", "referrals.api.placement_stats_views", "referrals.plans.selectors",
    "consent_ledger.services", "consent_ledger.models", "consent_ledger.api.views",
    "agencies.models", "agencies.api.event_views",
]
# Values of the protocol, not of the domain: booleans in a query string, the
# Idempotent-Replayed header, drf-spectacular's blank and null members, the
# renderers' ?format=.
LITERALS = [{"true", "false"}, {"true"}, {""}, {None}, {"csv", "json"}]


@pytest.fixture(scope="module")
def spec(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        return yaml.safe_load(Client().get("/api/schema/").content)


def enums(node, path=()):
    """(path, enum) for every `enum` in the document."""
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            yield path, node["enum"]
        for key, value in node.items():
            yield from enums(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from enums(value, (*path, index))


def _code_lists(obj):
    if isinstance(obj, (tuple, list, frozenset, set)) and obj and all(isinstance(v, str) for v in obj):
        yield set(obj)
    values = getattr(obj, "values", None)
    if inspect.isclass(obj) and isinstance(values, list) and values and all(isinstance(v, str) for v in values):
        yield set(values)  # Django TextChoices


def _modules():
    for name in CONSTANT_MODULES:
        try:
            yield importlib.import_module(name)
        except ImportError:
            continue  # a module another change has not written yet


def module_constants() -> list[set]:
    """Every list of codes the modules define (module-level, or on their classes)."""
    found = []
    for module in _modules():
        for value in vars(module).values():
            found.extend(_code_lists(value))
            if inspect.isclass(value) and value.__module__ == module.__name__:
                for attribute in vars(value).values():
                    found.extend(_code_lists(attribute))
    return found


def string_constants() -> set[str]:
    """Single codes the modules name as constants (PURPOSE = "team_plan", SMALL = "<5")."""
    return {
        value for module in _modules() for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str)
    }


def from_a_source(enum: list, sources: list[set], vocabularies: list[set], constants: set) -> bool:
    values = set(enum)
    return (
        values in sources
        or any(values <= vocabulary for vocabulary in vocabularies)  # a vocabulary restricted here
        or values <= constants
    )


def test_each_vocabulary_enum_is_the_vocabulary_in_file_order(spec):
    components = spec["components"]["schemas"]
    for component, vocabulary in VOCABULARY_ENUMS.items():
        assert components[component]["enum"] == list(codes(vocabulary)), component


def test_every_enum_comes_from_a_vocabulary_or_a_module_constant(spec):
    vocabularies = [set(codes(vocabulary)) for vocabulary in names()]
    sources, constants = vocabularies + module_constants() + LITERALS, string_constants()
    strays = [
        (path, enum) for path, enum in enums(spec)
        if not from_a_source(enum, sources, vocabularies, constants)
    ]
    assert not strays, strays


def test_an_enum_named_for_a_vocabulary_is_used_wherever_its_codes_are(spec):
    """No inline copy of a vocabulary: a list with a vocabulary's codes is that
    vocabulary's component (or a parameter's enum, which OpenAPI 3.0 cannot
    reference), never a second component with the same codes."""
    components = spec["components"]["schemas"]
    by_codes = {frozenset(codes(v)): name for name, v in VOCABULARY_ENUMS.items()}
    for name, component in components.items():
        named = by_codes.get(frozenset(component.get("enum", ())))
        assert named in (None, name), (name, named)


# Members that carry codes of a closed list, wherever they appear in a
# component: each must be an enum (directly, through a $ref or in its items).
CODED_MEMBERS = {
    "categories", "withheld_categories", "withhold_categories", "pii_categories", "category",
    "purpose", "purposes", "service", "urgency", "sector", "agency_kinds", "events", "event_type",
    "basis", "form", "grantor", "role", "stage", "step", "closure_ground", "opened_by_kind",
    "forms_of_violence", "changes", "box",
}
# Where one of those names is free text or an id by design.
NOT_CODED = {
    ("ReceiptRecipientsOutput", "agency_kinds"),  # the receipt repeats the provision as recorded
    ("ConsentReceiptOutput", "grantor"),
    ("EmploymentOutput", "role"),  # a placement's job title
    ("PlacementCreateInputRequest", "role"),
}


def _is_enum(schema: dict, components: dict) -> bool:
    if "$ref" in schema:
        return _is_enum(components[schema["$ref"].rsplit("/", 1)[1]], components)
    if "enum" in schema:
        return True
    if schema.get("type") == "array":
        return _is_enum(schema.get("items", {}), components)
    return any(_is_enum(s, components) for key in ("allOf", "oneOf", "anyOf") for s in schema.get(key, []))


def test_members_that_carry_codes_are_enumerated(spec):
    components = spec["components"]["schemas"]
    missing = [
        (name, member)
        for name, component in components.items()
        for member, schema in component.get("properties", {}).items()
        if member in CODED_MEMBERS and (name, member) not in NOT_CODED and not _is_enum(schema, components)
    ]
    assert not missing, missing
