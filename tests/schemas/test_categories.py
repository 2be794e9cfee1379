import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.categories import (
    CategoryError,
    CategoryMap,
    categories_present,
    category_errors,
    prune,
    resolve_categories,
)
from schemas.registry import DEFAULT_DIRECTORY
from schemas.vocabularies import DATA_CATEGORIES, codes

CODES = codes(DATA_CATEGORIES)
SUBJECT = json.loads((DEFAULT_DIRECTORY / "subject.json").read_text(encoding="utf-8"))
SUBJECT_TOP_LEVEL = {
    "person": "identity",
    "contact": "contact",
    "safe_contact": "safe_contact",
    "languages": "demographics",
    "interpreter_needed": "demographics",
    "gender": "demographics",
}
FULL_PROFILE = {
    "person": {"given_name": "Anna", "family_name": "Nowak", "birth_date": "1944-05-14", "pesel": "44051401359"},
    "contact": {
        "phone": "+48 600 100 200",
        "email": "anna@example.pl",
        "address": {"street": "Długa 1/2", "postal_code": "31-000", "city": "Kraków"},
    },
    "safe_contact": {
        "channel": "sms",
        "safe_hours": [{"days": ["mon", "wed"], "from": "09:00", "to": "11:00"}],
        "codeword": "konwalia",
        "do_not_contact_via": ["letter", "home_visit"],
    },
    "languages": ["pl", "uk"],
    "interpreter_needed": False,
    "gender": "female",
}


def obj(properties, **extra):
    """An object schema that forbids undeclared members."""
    return {"type": "object", "additionalProperties": False, "properties": properties, **extra}


def errors(schema, **kwargs):
    return category_errors(schema, CODES, **kwargs)


# -- the subject profile schema --------------------------------------------------


def test_the_subject_schema_resolves_with_the_categories_of_design_section_6():
    assert errors(SUBJECT) == []
    resolved = resolve_categories(SUBJECT)
    assert {pointer: resolved[pointer] for pointer in resolved if pointer.count("/") == 1} == {
        f"/{name}": category for name, category in SUBJECT_TOP_LEVEL.items()
    }
    assert resolved["/person/pesel"] == "identity"
    assert resolved["/contact/address/city"] == "contact"
    assert resolved["/safe_contact/codeword"] == "safe_contact"
    assert resolved["/safe_contact/channel"] == "safe_contact"  # through $ref to a $defs entry
    assert resolved["/safe_contact/do_not_contact_via/*"] == "safe_contact"
    assert resolved["/safe_contact/safe_hours/*/from"] == "safe_contact"
    assert resolved["/languages/*"] == "demographics"
    assert "" not in resolved  # the root has no category of its own


def test_every_property_of_the_subject_schema_has_a_category():
    def walk(schema, pointer):
        for name, subschema in schema.get("properties", {}).items():
            yield f"{pointer}/{name}"
            yield from walk(subschema, f"{pointer}/{name}")

    resolved = resolve_categories(SUBJECT)
    named = set(walk(SUBJECT, ""))
    assert named and named <= set(resolved)
    assert set(resolved.values()) <= set(CODES)


def test_categories_present_reports_only_the_data_in_the_document():
    assert categories_present(FULL_PROFILE, SUBJECT) == {"identity", "contact", "safe_contact", "demographics"}
    assert categories_present({"gender": "female"}, SUBJECT) == {"demographics"}
    assert categories_present({}, SUBJECT) == set()


# -- resolution and inheritance --------------------------------------------------


def test_a_child_inherits_its_parents_category_unless_it_sets_its_own():
    schema = obj(
        {
            "outer": obj(
                {
                    "inherits": {"type": "string"},
                    "own": {"type": "string", "x-category": "health"},
                    "deep": obj({"leaf": {"type": "string"}}),
                },
                **{"x-category": "identity"},
            )
        }
    )
    assert resolve_categories(schema) == {
        "/outer": "identity",
        "/outer/inherits": "identity",
        "/outer/own": "health",
        "/outer/deep": "identity",
        "/outer/deep/leaf": "identity",
    }


def test_array_items_inherit_or_set_their_category_and_prefix_items_are_per_position():
    schema = obj(
        {
            "plain": {"x-category": "demographics", "type": "array", "items": {"type": "string"}},
            "own": {"x-category": "case_notes", "type": "array", "items": {"type": "string", "x-category": "risk"}},
            "pair": {
                "x-category": "employment",
                "type": "array",
                "prefixItems": [{"type": "string"}, {"type": "string", "x-category": "finances"}],
                "items": False,
            },
        }
    )
    assert resolve_categories(schema) == {
        "/plain": "demographics",
        "/plain/*": "demographics",
        "/own": "case_notes",
        "/own/*": "risk",
        "/pair": "employment",
        "/pair/0": "employment",
        "/pair/1": "finances",
    }


def test_a_def_takes_the_category_of_each_place_that_refers_to_it():
    schema = obj(
        {
            "home": {"x-category": "contact", "$ref": "#/$defs/address"},
            "shelter": {"x-category": "location", "$ref": "#/$defs/address"},
            "fixed": {"x-category": "contact", "$ref": "#/$defs/flagged"},
            "inside": obj({"via_def": {"$ref": "#/$defs/flagged"}}, **{"x-category": "identity"}),
        },
        **{
            "$defs": {
                "address": obj({"city": {"type": "string"}}),
                "flagged": {"type": "boolean", "x-category": "contact"},
            }
        },
    )
    resolved = resolve_categories(schema)
    assert resolved["/home/city"] == "contact"
    assert resolved["/shelter/city"] == "location"
    assert resolved["/fixed"] == "contact"
    assert resolved["/inside/via_def"] == "contact"  # the def's own category beats the inherited one


def test_a_def_that_sets_a_category_conflicting_with_the_referring_property_is_refused():
    schema = obj(
        {"shelter": {"x-category": "location", "$ref": "#/$defs/address"}},
        **{"$defs": {"address": obj({"city": {"type": "string"}}, **{"x-category": "contact"})}},
    )
    (problem,) = errors(schema)
    assert problem.startswith("/shelter:") and "conflicting" in problem


def test_additional_properties_schemas_inherit_or_set_a_category():
    schema = obj(
        {
            "tags": {"x-category": "case_notes", "type": "object", "additionalProperties": {"type": "string"}},
            "scores": {
                "x-category": "case_notes",
                "type": "object",
                "additionalProperties": {"type": "integer", "x-category": "risk"},
            },
        }
    )
    resolved = resolve_categories(schema)
    assert resolved["/tags/*"] == "case_notes"
    assert resolved["/scores/*"] == "risk"


def test_all_of_and_refs_between_documents_merge_properties_in_place():
    base = {
        "$id": "https://schemas.hub.invalid/base/1",
        "type": "object",
        "properties": {"summary": {"type": "string", "x-category": "case_notes"}},
    }
    schema = {
        "$id": "https://schemas.hub.invalid/extension/1",
        "type": "object",
        "allOf": [{"$ref": "../base/1"}],  # relative to $id, as RFC 3986 resolves it
        "properties": {"room": {"type": "string", "x-category": "location"}},
        "unevaluatedProperties": False,
    }
    documents = {base["$id"]: base}
    assert errors(schema, documents=documents) == []
    assert resolve_categories(schema, documents=documents) == {"/summary": "case_notes", "/room": "location"}


def test_additional_properties_also_cover_names_declared_only_in_an_all_of_branch():
    # JSON Schema applies a schema's additionalProperties to every name missing
    # from *its own* properties, so /a below is validated (and categorised) by it.
    schema = {
        "type": "object",
        "x-category": "case_notes",
        "allOf": [{"properties": {"a": {"type": "string"}}}],
        "additionalProperties": {"type": "string", "x-category": "risk"},
    }
    assert resolve_categories(schema) == {"": "case_notes", "/a": "risk", "/*": "risk"}


def test_validating_only_combinators_are_accepted():
    schema = obj(
        {
            "phone": {"type": "string", "x-category": "contact"},
            "email": {"type": "string", "x-category": "contact"},
        },
        anyOf=[{"required": ["phone"]}, {"required": ["email"]}],
        **{"if": {"properties": {"phone": {"const": ""}}}, "then": {"required": ["email"]}},
    )
    assert errors(schema) == []


# -- refusals --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "pointer", "words"),
    [
        (obj({"name": {"type": "string"}}), "/name", "no x-category"),
        (obj({"name": {"type": "string", "x-category": "identiy"}}), "/name", "not a data category code"),
        (obj({"name": {"type": "string", "x-category": 3}}), "/name", "must be a string"),
        (obj({"name": {"x-category": "identity", "patternProperties": {}}}), "/name", "patternProperties"),
        (obj({"name": {"x-category": "identity", "$ref": "https://example.com/s.json"}}), "/name", "never fetched"),
        (obj({"name": {"x-category": "identity", "$ref": "#/$defs/missing"}}), "/name", "does not resolve"),
        (obj({"name": {"x-category": "identity", "$ref": "#thing"}}), "/name", "anchor"),
        (obj({"name": {"x-category": "identity", "$ref": "#"}}), "/name", "recursive"),
        (obj({"name": {"x-category": "identity", "additionalproperties": False}}), "/name", "unknown keyword"),
        (obj({"name": {"x-category": "identity", "$id": "https://x.invalid/a"}}), "/name", "only supported at the"),
        (obj({"*": {"x-category": "identity"}}), "/*", "reserved"),
        (
            obj({"name": {"type": "string", "x-category": "identity"}}, anyOf=[{"x-category": "health"}]),
            "(root)",
            "may only validate",
        ),
        (
            obj({"name": {"type": "string", "x-category": "identity"}}, anyOf=[{"properties": {"other": {}}}]),
            "(root)",
            "not declared here: other",
        ),
        ({"type": "object", "properties": {"a": {"x-category": "identity"}}}, "(root)", "members not named"),
        ({"type": ["object", "string"], "additionalProperties": False}, "(root)", '"type": "object"'),
    ],
)
def test_unresolvable_schemas_are_refused_with_the_property_named(schema, pointer, words):
    found = errors(schema)
    assert any(problem.startswith(f"{pointer}:") and words in problem for problem in found), found
    with pytest.raises(CategoryError):
        resolve_categories(schema, valid_codes=CODES)


def test_recursive_refs_through_defs_are_refused():
    schema = obj(
        {"tree": {"x-category": "case_notes", "$ref": "#/$defs/node"}},
        **{"$defs": {"node": obj({"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}})}},
    )
    assert any("recursive" in problem for problem in errors(schema))


def test_every_unresolvable_property_is_named():
    schema = obj(
        {
            "a": {"type": "string"},
            "b": obj({"c": {"type": "string", "x-category": "nope"}}),
            "d": {"x-category": "risk"},
        }
    )
    found = errors(schema)
    assert [problem.split(":")[0] for problem in found] == ["/a", "/b", "/b/c"]


# -- pruning ---------------------------------------------------------------------


def test_prune_removes_exactly_the_categories_not_permitted():
    pruned, withheld = prune(FULL_PROFILE, SUBJECT, {"identity", "demographics"})
    assert pruned == {
        "person": FULL_PROFILE["person"],
        "languages": ["pl", "uk"],
        "interpreter_needed": False,
        "gender": "female",
    }
    assert withheld == ["contact", "safe_contact"]


def test_withheld_lists_only_categories_present_in_the_document():
    pruned, withheld = prune({"person": {"given_name": "Anna"}, "gender": "female"}, SUBJECT, {"identity"})
    assert pruned == {"person": {"given_name": "Anna"}}
    assert withheld == ["demographics"]
    assert prune({"gender": "female"}, SUBJECT, {"demographics"}) == ({"gender": "female"}, [])


def test_prune_keeps_a_permitted_parent_minus_a_child_of_another_category():
    schema = obj(
        {
            "case": obj(
                {"summary": {"type": "string"}, "health": {"type": "string", "x-category": "health"}},
                **{"x-category": "case_notes"},
            )
        }
    )
    document = {"case": {"summary": "s", "health": "h"}}
    assert prune(document, schema, {"case_notes"}) == ({"case": {"summary": "s"}}, ["health"])


def test_deny_wins_for_nested_data_even_when_a_child_is_permitted():
    schema = obj(
        {
            "risk": obj(
                {"level": {"type": "string"}, "notes": {"type": "string", "x-category": "case_notes"}},
                **{"x-category": "risk"},
            )
        }
    )
    document = {"risk": {"level": "high", "notes": "n"}}
    assert prune(document, schema, {"case_notes"}) == ({}, ["case_notes", "risk"])


def test_an_array_with_an_element_to_withhold_is_removed_whole():
    schema = obj(
        {
            "pair": {
                "x-category": "employment",
                "type": "array",
                "prefixItems": [{"type": "string"}, {"type": "string", "x-category": "finances"}],
            }
        }
    )
    assert prune({"pair": ["job", "salary"]}, schema, {"employment"}) == ({}, ["employment", "finances"])
    assert prune({"pair": ["job"]}, schema, {"employment"}) == ({"pair": ["job"]}, [])


def test_a_root_category_that_is_not_permitted_leaves_an_empty_document():
    schema = {"type": "object", "x-category": "case_notes"}
    assert prune({"anything": {"at": "all"}}, schema, {"identity"}) == ({}, ["case_notes"])
    assert prune({"anything": {"at": "all"}}, schema, {"case_notes"}) == ({"anything": {"at": "all"}}, [])


def test_data_the_schema_does_not_describe_is_never_released():
    pruned, withheld = prune({"gender": "female", "smuggled": "x"}, SUBJECT, set(CODES))
    assert pruned == {"gender": "female"}
    assert withheld == []


def test_prune_never_mutates_its_input_nor_shares_containers_with_it():
    document = copy.deepcopy(FULL_PROFILE)
    pruned, _ = prune(document, SUBJECT, {"identity", "safe_contact", "demographics"})
    assert document == FULL_PROFILE
    pruned["person"]["given_name"] = "changed"
    pruned["safe_contact"]["safe_hours"][0]["days"].append("sun")
    pruned["languages"].append("de")
    assert document == FULL_PROFILE


def test_an_unresolvable_schema_is_refused_by_prune():
    with pytest.raises(CategoryError):
        prune({"a": 1}, obj({"a": {"type": "integer"}}), {"identity"})


@given(
    keep=st.fixed_dictionaries({name: st.booleans() for name in FULL_PROFILE}),
    permitted=st.sets(st.sampled_from(CODES)),
)
def test_pruning_a_subject_profile_keeps_exactly_the_permitted_top_level_groups(keep, permitted):
    document = {name: value for name, value in FULL_PROFILE.items() if keep[name]}
    category_map = CategoryMap.compile(SUBJECT, valid_codes=CODES)
    pruned, withheld = category_map.prune(document, permitted)
    assert pruned == {name: value for name, value in document.items() if SUBJECT_TOP_LEVEL[name] in permitted}
    present = {SUBJECT_TOP_LEVEL[name] for name in document}
    assert withheld == sorted(present - permitted)
    assert category_map.present(pruned) <= permitted
