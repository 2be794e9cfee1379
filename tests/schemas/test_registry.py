import ast
import json
from pathlib import Path

import pytest
import referencing.exceptions

import schemas.registry as registry_module
from schemas.registry import (
    NOT_JSON,
    TOO_DEEP,
    TOO_LARGE,
    RemoteReferenceRefused,
    SchemaRegistry,
    SchemaRegistryError,
    UnknownSchema,
    ValidationProblem,
    check_registry,
    get_registry,
    refuse_remote_retrieval,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SUBJECT_ID = "https://schemas.hub.invalid/subject/1"
VALID_PROFILE = {
    "person": {"given_name": "Anna", "family_name": "Nowak", "birth_date": "1944-05-14", "pesel": "44051401359"},
    "contact": {"phone": "+48 600 100 200", "email": "anna@example.pl", "address": {"city": "Kraków", "country": "PL"}},
    "safe_contact": {
        "channel": "sms",
        "safe_hours": [{"days": ["mon"], "from": "09:00", "to": "11:00"}],
        "codeword": "konwalia",
        "do_not_contact_via": ["letter"],
    },
    "languages": ["pl", "uk"],
    "interpreter_needed": True,
    "gender": "female",
}


def schema_document(name, version=1, **body):
    return {
        "$schema": DIALECT,
        "$id": f"https://schemas.hub.invalid/{name}/{version}",
        "type": "object",
        "additionalProperties": False,
        **body,
    }


def write(directory: Path, filename: str, document) -> Path:
    path = directory / filename
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


def refused(directory) -> list[str]:
    with pytest.raises(SchemaRegistryError) as caught:
        SchemaRegistry(directory)
    return caught.value.problems


@pytest.fixture()
def note_schema(tmp_path):
    properties = {"text": {"type": "string", "x-category": "case_notes"}}
    write(tmp_path, "note.json", schema_document("note", properties=properties))
    return tmp_path


# -- loading ---------------------------------------------------------------------


def test_the_shipped_schemas_load():
    registry = SchemaRegistry()
    assert "subject/1" in registry.names()
    assert check_registry() == []


def test_a_schema_is_found_by_id_by_versioned_name_and_by_name():
    registry = get_registry()
    assert registry.get("subject") == registry.get("subject/1") == registry.get(SUBJECT_ID)
    assert registry.get("subject")["$id"] == SUBJECT_ID
    assert registry.schema_id("subject") == SUBJECT_ID
    with pytest.raises(UnknownSchema):
        registry.get("subject/2")
    with pytest.raises(KeyError):
        registry.validator("nothing")


def test_get_returns_a_copy_the_caller_cannot_use_to_change_validation():
    registry = SchemaRegistry()
    registry.get("subject")["properties"]["person"]["properties"].clear()
    assert registry.validate("subject", {"person": {"nickname": "x"}}) != []


def test_the_bare_name_gives_the_highest_version(tmp_path):
    for version in (1, 2, 10):
        properties = {"v": {"const": version, "x-category": "case_notes"}}
        write(tmp_path, f"thing-{version}.json", schema_document("thing", version, properties=properties))
    registry = SchemaRegistry(tmp_path)
    assert registry.names() == ["thing/1", "thing/2", "thing/10"]
    assert registry.schema_id("thing") == "https://schemas.hub.invalid/thing/10"


@pytest.mark.parametrize(
    ("properties", "words"),
    [
        ({"text": {"type": "string"}}, "/text: has no x-category"),
        ({"text": {"type": "string", "x-category": "gossip"}}, "/text: x-category 'gossip' is not a data category"),
        (
            {"text": {"type": "string", "x-category": "case_notes", "$ref": "https://example.com/evil.json"}},
            "remote schemas are never fetched",
        ),
        ({"text": {"type": "strnig", "x-category": "case_notes"}}, "/properties/text/type (schema)"),
        ({"text": {"properties": 5, "x-category": "case_notes"}}, "/properties/text/properties (schema)"),
        (
            {"text": {"type": "string", "format": "no-such-format", "x-category": "case_notes"}},
            "format 'no-such-format' cannot be checked",
        ),
    ],
)
def test_a_schema_whose_categories_or_contents_are_wrong_is_refused(tmp_path, properties, words):
    write(tmp_path, "bad.json", schema_document("bad", properties=properties))
    problems = refused(tmp_path)
    assert any(problem.startswith("bad.json: ") and words in problem for problem in problems), problems


def test_every_problem_of_every_file_is_listed(tmp_path):
    write(tmp_path, "one.json", schema_document("one", properties={"a": {"type": "string"}}))
    (tmp_path / "nested").mkdir()
    write(tmp_path / "nested", "two.json", schema_document("two", properties={"b": {"x-category": "nope"}}))
    write(tmp_path, "three.json", "{not json")
    write(tmp_path, "four.json", {"$schema": DIALECT, "$id": "https://example.com/four"})
    write(tmp_path, "five.json", {**schema_document("five"), "$schema": "http://json-schema.org/draft-07/schema#"})
    write(tmp_path, "six.json", '{"$schema": "%s", "x-category": "risk", "x-category": "health"}' % DIALECT)
    write(tmp_path, "seven.json", schema_document("one"))
    problems = refused(tmp_path)
    for expected in (
        "one.json: /a: has no x-category",
        "nested/two.json: /b: x-category 'nope'",
        "three.json: cannot be read as JSON",
        "four.json: $id must look like",
        "five.json: $schema must be",
        "seven.json: $id 'https://schemas.hub.invalid/one/1' is already used by one.json",
        "six.json: cannot be read as JSON: duplicate key 'x-category'",
    ):
        assert any(problem.startswith(expected) for problem in problems), (expected, problems)


def test_a_schema_can_extend_another_of_the_registry(tmp_path):
    # The base keeps its open part in $defs (a schema document of its own must
    # close its root), and each extension closes the union with unevaluatedProperties.
    common = {
        "type": "object",
        "properties": {"summary": {"type": "string", "maxLength": 5, "x-category": "case_notes"}},
    }
    base = {
        "$schema": DIALECT,
        "$id": "https://schemas.hub.invalid/base/1",
        "$ref": "#/$defs/common",
        "unevaluatedProperties": False,
        "$defs": {"common": common},
    }
    extension = {
        "$schema": DIALECT,
        "$id": "https://schemas.hub.invalid/shelter/1",
        "type": "object",
        "$ref": "../base/1#/$defs/common",
        "properties": {"room": {"type": "string", "x-category": "location"}},
        "unevaluatedProperties": False,
    }
    write(tmp_path, "base.json", base)
    write(tmp_path, "shelter.json", extension)
    registry = SchemaRegistry(tmp_path)
    assert registry.category_map("shelter").pointers() == {"/summary": "case_notes", "/room": "location"}
    assert registry.validate("shelter", {"summary": "too long", "room": "3", "bed": 1}) == [
        ValidationProblem("/bed", "is not allowed here: unknown member 'bed'. Allowed: room, summary", "unevaluatedProperties"),
        ValidationProblem("/summary", "must be at most 5 characters long", "maxLength"),
    ]
    assert registry.validate("base", {"summary": "ok", "room": "3"}) != []


def test_the_referencing_registry_never_fetches(note_schema):
    registry = SchemaRegistry(note_schema)
    with pytest.raises(referencing.exceptions.Unretrievable) as caught:
        registry.referencing_registry.get_or_retrieve("https://example.com/schema.json")
    assert isinstance(caught.value.__cause__, RemoteReferenceRefused)
    with pytest.raises(RemoteReferenceRefused, match="never fetched"):
        refuse_remote_retrieval("https://example.com/schema.json")


def test_the_schemas_package_imports_no_django_and_no_app():
    forbidden = {"django", "rest_framework", "hub", "agencies", "consent_ledger", "referrals"}
    package = Path(registry_module.__file__).parent
    for module in ("registry.py", "categories.py", "formats.py"):
        tree = ast.parse((package / module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not {name.split(".")[0] for name in names} & forbidden, (module, names)


def test_check_registry_reports_the_problems_of_the_schema_directory(tmp_path, monkeypatch):
    write(tmp_path, "bad.json", schema_document("bad", properties={"a": {"type": "string"}}))
    monkeypatch.setattr(registry_module, "DEFAULT_DIRECTORY", tmp_path)
    get_registry.cache_clear()
    try:
        assert check_registry() == ["bad.json: /a: has no x-category and its parent has none to inherit"]
    finally:
        get_registry.cache_clear()


# -- validation ------------------------------------------------------------------


def test_a_valid_profile_has_no_problems():
    assert get_registry().validate("subject", VALID_PROFILE) == []
    assert get_registry().validate("subject", {}) == []


def test_validation_problems_carry_escaped_pointers_in_order_and_never_the_value():
    document = {
        "person": {"pesel": "44051401358", "given_name": "", "nickname": "Ania"},
        "contact": {"email": "anna@"},
        "safe_contact": {
            "safe_hours": [{"days": ["mon"], "from": "09:00", "to": "10:00"}] * 2 + [{"days": ["mon"]}] * 9
        },
        "a/b~c": 1,
        "gender": "F",
    }
    problems = get_registry().validate("subject", document)
    assert [(p.pointer, p.code) for p in problems] == [
        ("/a~1b~0c", "additionalProperties"),
        ("/contact/email", "format"),
        ("/gender", "enum"),
        ("/person/given_name", "minLength"),
        ("/person/nickname", "additionalProperties"),
        ("/person/pesel", "format"),
        *[
            (f"/safe_contact/safe_hours/{index}/{name}", "required")
            for index in range(2, 11)  # 10 after 9: indexes sort as numbers
            for name in ("from", "to")
        ],
    ]
    details = {p.pointer: p.detail for p in problems}
    assert details["/person/pesel"] == "must be a valid PESEL number: this one has a wrong check digit"
    assert details["/person/nickname"] == (
        "is not allowed here: unknown member 'nickname'. Allowed: given_name, family_name, birth_date, pesel"
    )
    assert details["/safe_contact/safe_hours/10/to"] == "is required"
    for problem in problems:
        assert "44051401358" not in problem.detail and "Ania" not in problem.detail and "anna@" not in problem.detail


@pytest.mark.parametrize(
    ("document", "pointer", "detail"),
    [
        ({"person": {"birth_date": "1944-02-30"}}, "/person/birth_date", "must be a date in the form YYYY-MM-DD"),
        (
            {"person": {"pesel": "44053201353"}},  # 32 May
            "/person/pesel",
            "must be a valid PESEL number: this one does not encode an existing birth date",
        ),
        ({"person": {"pesel": 44051401359}}, "/person/pesel", "must be a string"),
        ({"contact": {"email": "a@b"}}, "/contact/email", "must be an e-mail address"),
        ({"interpreter_needed": "yes"}, "/interpreter_needed", "must be true or false"),
        ({"languages": [a + b for a in "ab" for b in "abcdefghijk"][:21]}, "/languages", "must have at most 20 items"),
        ({"person": {"family_name": "x" * 101}}, "/person/family_name", "must be at most 100 characters long"),
        ({"person": []}, "/person", "must be an object"),
    ],
)
def test_each_kind_of_problem_is_explained_at_its_pointer(document, pointer, detail):
    problems = get_registry().validate("subject", document)
    assert [(p.pointer, p.detail) for p in problems if p.pointer == pointer] == [(pointer, detail)], problems


def test_the_validator_checks_formats():
    validator = get_registry().validator("subject")
    assert not validator.is_valid({"person": {"pesel": "44051401358"}})
    assert validator.is_valid({"person": {"pesel": "44051401359"}})


# -- limits ----------------------------------------------------------------------


def nested(depth: int) -> object:
    document: object = "leaf"
    for _ in range(depth):
        document = [document]
    return document


@pytest.fixture()
def open_schema(tmp_path):
    document = {"$schema": DIALECT, "$id": "https://schemas.hub.invalid/open/1", "x-category": "case_notes"}
    write(tmp_path, "open.json", document)
    return tmp_path


def test_documents_nested_deeper_than_the_limit_are_refused_at_the_root(open_schema):
    registry = SchemaRegistry(open_schema, max_depth=5)
    assert registry.validate("open", nested(5)) == []
    assert registry.validate("open", nested(6)) == [
        ValidationProblem("", "is nested more than 5 levels deep", TOO_DEEP)
    ]


def test_the_default_depth_limit_is_32_and_huge_depths_do_not_exhaust_the_stack(open_schema):
    registry = SchemaRegistry(open_schema)
    assert registry.validate("open", {"a": nested(31)}) == []
    assert [p.code for p in registry.validate("open", {"a": nested(32)})] == [TOO_DEEP]
    assert [p.code for p in registry.validate("open", nested(200_000))] == [TOO_DEEP]


def test_documents_larger_than_the_limit_are_refused_at_the_root(open_schema):
    registry = SchemaRegistry(open_schema, max_bytes=20)
    assert registry.validate("open", {"a": "ż" * 6}) == []  # {"a":"żżżżżż"} is 20 bytes in UTF-8
    assert registry.validate("open", {"a": "ż" * 7}) == [
        ValidationProblem("", "is larger than 20 bytes as compact JSON", TOO_LARGE)
    ]


@pytest.mark.parametrize("document", [{"a": float("nan")}, {1: "x"}, {"a": {1, 2}}, {"a": (1, 2)}])
def test_values_json_cannot_carry_are_refused(open_schema, document):
    assert [p.code for p in SchemaRegistry(open_schema).validate("open", document)] == [NOT_JSON]


# -- categories ------------------------------------------------------------------


def test_the_registry_prunes_with_the_schemas_categories():
    pruned, withheld = get_registry().prune("subject", VALID_PROFILE, {"identity", "contact"})
    assert set(pruned) == {"person", "contact"}
    assert withheld == ["demographics", "safe_contact"]
    assert get_registry().categories_present("subject", pruned) == {"identity", "contact"}
