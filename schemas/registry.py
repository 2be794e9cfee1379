"""The registry of the hub's published JSON Schemas (DESIGN.md 3, 4.3, 6).

Every `*.json` file under `schemas/json/` is one JSON Schema 2020-12 document
whose `$id` is `https://schemas.hub.invalid/<name>/<version>` (the versioning
rules are in the `$comment` of schemas/json/subject.json). A schema is known by
its `$id`, by "<name>/<version>" and, for its highest version, by "<name>".

The registry refuses to start (SchemaRegistryError, listing every problem) when a
schema is not valid against the 2020-12 metaschema, uses a format it cannot
check, refers to anything outside the registry, or has a property whose data
category does not resolve (DESIGN.md 4.3). Remote references are never fetched.

This module imports nothing from Django or from the hub's apps: the system check
that reports `check_registry()` lives with the composition root, which also
installs Django's translation (`use_translation`), so that the details of
validation problems follow the request's language (hub/api/language.py);
without it they are English.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import jsonschema_rs
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from schemas.categories import CategoryError, CategoryMap, json_pointer
from schemas.formats import (
    FORMAT_CHECKER,
    PESEL_NO_SUCH_DATE,
    PESEL_NOT_11_DIGITS,
    PESEL_WRONG_CHECK_DIGIT,
    pesel_problem,
)
from schemas.vocabularies import DATA_CATEGORIES, codes


class _English:
    """The translation functions until the composition root installs others."""

    gettext = staticmethod(lambda message: message)
    ngettext = staticmethod(lambda singular, plural, number: singular if number == 1 else plural)
    pgettext = staticmethod(lambda context, message: message)


_translation = _English()


def use_translation(translation) -> None:
    """Word validation details with `translation`'s gettext, ngettext and
    pgettext, called when a document is validated (the hub installs Django's,
    hub/api/apps.py, so details follow the request's language)."""
    global _translation
    _translation = translation


def _(message: str) -> str:
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, number: int) -> str:
    return _translation.ngettext(singular, plural, number)


def pgettext(context: str, message: str) -> str:
    return _translation.pgettext(context, message)


DEFAULT_DIRECTORY = Path(__file__).resolve().parent / "json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_PREFIX = "https://schemas.hub.invalid/"
_ID_RE = re.compile(r"https://schemas\.hub\.invalid/([a-z][a-z0-9_.-]*)/([1-9][0-9]*)")

DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_BYTES = 1_000_000  # of the compact UTF-8 JSON encoding

# ValidationProblem codes for the limits checked before jsonschema runs.
TOO_DEEP = "too_deep"
TOO_LARGE = "too_large"
NOT_JSON = "not_json"
# Text PostgreSQL cannot store (NUL) or UTF-8 cannot encode (a lone surrogate,
# which the size check below would crash on); defence in depth behind the API's
# JSON parser (PITFALLS, "Databases").
UNSUPPORTED_CHARACTER = "unsupported_character"
_UNSUPPORTED_CHARACTER = re.compile("[\x00\ud800-\udfff]")


# Every document is validated on the write path (issue 11: jsonschema took
# ~0.6 ms of a referral create, jsonschema-rs ~4 us). jsonschema-rs only
# answers "valid?"; jsonschema stays the authority, and the only source of
# the problems (our translated details) when it is not. So what we accept is
# what either accepts, and that is what jsonschema accepts as long as
# jsonschema-rs is never laxer: every format goes through the very same
# checkers (below), and ECMA-262 patterns are if anything stricter than `re`
# (`$` does not match before a final newline). tests/schemas/
# test_fast_validation.py holds the two to that.
_FAST_FORMATS = {name: partial(FORMAT_CHECKER.conforms, format=name) for name in FORMAT_CHECKER.checkers}


class SchemaRegistryError(Exception):
    """The schemas cannot be served. `problems` lists every problem found."""

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        super().__init__("invalid JSON schemas:\n" + "\n".join(f"- {p}" for p in self.problems))


class UnknownSchema(KeyError):
    pass


class RemoteReferenceRefused(LookupError):
    """Raised by the referencing registry instead of fetching a schema."""


def refuse_remote_retrieval(uri: str) -> Resource:
    raise RemoteReferenceRefused(
        f"refusing to fetch {uri!r}: only schemas in the hub's registry can be referenced, "
        "and remote schemas are never fetched"
    )


@dataclass(frozen=True, order=True)
class ValidationProblem:
    """One reason an instance is invalid. `pointer` is an RFC 6901 pointer into
    the instance ("" is the whole document); `detail` is a sentence fragment in
    the active language (English without Django) that never repeats the
    submitted value; `code` is the JSON Schema
    keyword that failed, or one of TOO_DEEP, TOO_LARGE, NOT_JSON,
    UNSUPPORTED_CHARACTER."""

    pointer: str
    detail: str
    code: str


@dataclass(frozen=True)
class _Entry:
    id: str
    name: str
    version: int
    path: Path
    schema: dict
    validator: Draft202012Validator
    fast: jsonschema_rs.Validator
    categories: CategoryMap


class SchemaRegistry:
    """The schemas of one directory (default: schemas/json/), checked as a whole
    at construction. `max_depth` and `max_bytes` bound what `validate` accepts;
    `valid_categories` defaults to the data_categories vocabulary."""

    def __init__(
        self,
        directory: Path | str | None = None,
        *,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_bytes: int = DEFAULT_MAX_BYTES,
        valid_categories: Iterable[str] | None = None,
    ):
        self.directory = Path(DEFAULT_DIRECTORY if directory is None else directory)
        self.max_depth = max_depth
        self.max_bytes = max_bytes
        valid = tuple(codes(DATA_CATEGORIES) if valid_categories is None else valid_categories)
        documents, problems = _load_documents(self.directory)
        by_id = {schema_id: schema for schema_id, (_, schema) in documents.items()}
        category_maps: dict[str, CategoryMap] = {}
        for schema_id, (path, schema) in documents.items():
            label = _label(path, self.directory)
            schema_problems = _schema_problems(schema)
            problems += [f"{label}: {p}" for p in schema_problems]
            if schema_problems:
                continue  # categories are only resolved in well-formed schemas
            try:
                category_maps[schema_id] = CategoryMap.compile(schema, valid_codes=valid, documents=by_id)
            except CategoryError as error:
                problems += [f"{label}: {p}" for p in error.problems]
        if problems:
            raise SchemaRegistryError(problems)
        self.referencing_registry = Registry(retrieve=refuse_remote_retrieval).with_resources(
            (schema_id, Resource.from_contents(schema, default_specification=DRAFT202012))
            for schema_id, schema in by_id.items()
        ).crawl()
        self._fast_registry = jsonschema_rs.Registry(by_id.items())
        self._entries: dict[str, _Entry] = {}
        for schema_id, (path, schema) in documents.items():
            self._add(schema_id, path, schema, category_maps[schema_id])

    def _add(self, schema_id: str, path: Path, schema: dict, categories: CategoryMap) -> None:
        name, version = _ID_RE.fullmatch(schema_id).groups()
        entry = _Entry(
            id=schema_id,
            name=name,
            version=int(version),
            path=path,
            schema=schema,
            validator=Draft202012Validator(
                schema, registry=self.referencing_registry, format_checker=FORMAT_CHECKER
            ),
            fast=jsonschema_rs.validator_for(
                schema, registry=self._fast_registry, formats=_FAST_FORMATS, validate_formats=True,
                ignore_unknown_formats=False, offline=True,
            ),
            categories=categories,
        )
        self._entries[schema_id] = entry
        self._entries[f"{name}/{version}"] = entry
        latest = self._entries.get(name)
        if latest is None or latest.version < entry.version:
            self._entries[name] = entry

    # -- look-ups ------------------------------------------------------------

    def _entry(self, name_or_id: str) -> _Entry:
        try:
            return self._entries[name_or_id]
        except KeyError:
            raise UnknownSchema(f"no schema {name_or_id!r}; known: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        """Every schema as "<name>/<version>", sorted by name then version."""
        entries = {entry.id: entry for entry in self._entries.values()}.values()
        return [f"{e.name}/{e.version}" for e in sorted(entries, key=lambda e: (e.name, e.version))]

    def schema_id(self, name_or_id: str) -> str:
        """The `$id` of a schema: what to store beside a document validated by it."""
        return self._entry(name_or_id).id

    def get(self, name_or_id: str) -> dict:
        """A copy of the schema ("subject" gives the highest version)."""
        return copy.deepcopy(self._entry(name_or_id).schema)

    def validator(self, name_or_id: str) -> Draft202012Validator:
        """The schema's validator, asserting formats. It does not apply the depth
        and size limits: validate untrusted input with `validate`."""
        return self._entry(name_or_id).validator

    def category_map(self, name_or_id: str) -> CategoryMap:
        return self._entry(name_or_id).categories

    # -- validation ----------------------------------------------------------

    def validate(self, name_or_id: str, instance: object) -> list[ValidationProblem]:
        """Every problem with `instance`, sorted by pointer; empty when valid."""
        entry = self._entry(name_or_id)
        limit_problem = self._limit_problem(instance)
        if limit_problem is not None:
            return [limit_problem]
        if entry.fast.is_valid(instance):
            return []
        problems: set[tuple[tuple, ValidationProblem]] = set()
        for error in entry.validator.iter_errors(instance):
            for path, detail in _describe(error, entry.validator):
                problems.add((_sort_key(path), ValidationProblem(json_pointer(path), detail, _code(error))))
        return [problem for _, problem in sorted(problems)]

    def _limit_problem(self, instance: object) -> ValidationProblem | None:
        """Refuse pathological documents before jsonschema walks them: the walk
        is iterative, so depth cannot exhaust the stack. A path is a linked
        (parent, key) pair, spelled out only for a problem."""
        stack = [(instance, 0, None)]
        while stack:
            value, depth, link = stack.pop()
            if isinstance(value, (dict, list)):
                if depth + 1 > self.max_depth:
                    detail = ngettext(
                        "is nested more than %(depth)s level deep", "is nested more than %(depth)s levels deep",
                        self.max_depth,
                    ) % {"depth": self.max_depth}
                    return ValidationProblem("", detail, TOO_DEEP)
                if isinstance(value, dict):
                    if not all(isinstance(key, str) for key in value):
                        return ValidationProblem("", _("has an object member name that is not a string"), NOT_JSON)
                    if any(_UNSUPPORTED_CHARACTER.search(key) for key in value):
                        return _unsupported_character(link, in_name=True)
                    stack.extend((child, depth + 1, (link, key)) for key, child in value.items())
                else:
                    stack.extend((child, depth + 1, (link, index)) for index, child in enumerate(value))
            elif isinstance(value, str) and _UNSUPPORTED_CHARACTER.search(value):
                return _unsupported_character(link, in_name=False)
            elif isinstance(value, float) and not math.isfinite(value):
                return ValidationProblem("", _("contains a number that JSON cannot represent"), NOT_JSON)
            elif not (value is None or isinstance(value, (str, int, float))):
                return ValidationProblem("", _("contains a value that is not JSON"), NOT_JSON)
        size = len(json.dumps(instance, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        if size > self.max_bytes:
            detail = ngettext(
                "is larger than %(size)s byte as compact JSON", "is larger than %(size)s bytes as compact JSON",
                self.max_bytes,
            ) % {"size": self.max_bytes}
            return ValidationProblem("", detail, TOO_LARGE)
        return None

    # -- categories ----------------------------------------------------------

    def prune(self, name_or_id: str, document: object, permitted: Iterable[str]) -> tuple[object, list[str]]:
        """See `categories.CategoryMap.prune`."""
        return self._entry(name_or_id).categories.prune(document, permitted)

    def categories_present(self, name_or_id: str, document: object) -> set[str]:
        return self._entry(name_or_id).categories.present(document)


def _unsupported_character(link, *, in_name: bool) -> ValidationProblem:
    # The pointer of the string (of its object, for a member name: a pointer
    # naming it would quote it); the detail never quotes it.
    path = []
    while link is not None:
        link, key = link
        path.append(key)
    if in_name:
        detail = _("has a member name that contains a NUL character or a lone surrogate, which cannot be stored")
    else:
        detail = _("contains a NUL character or a lone surrogate, which cannot be stored")
    return ValidationProblem(json_pointer(reversed(path)), detail, UNSUPPORTED_CHARACTER)


# -- loading -------------------------------------------------------------------


def _label(path: Path, directory: Path) -> str:
    try:
        return str(path.relative_to(directory))
    except ValueError:
        return str(path)


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    # json.loads keeps the last of two equal keys; in a schema that silently
    # drops a keyword (say, a second x-category), so refuse it.
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _load_documents(directory: Path) -> tuple[dict[str, tuple[Path, dict]], list[str]]:
    documents: dict[str, tuple[Path, dict]] = {}
    problems: list[str] = []
    if not directory.is_dir():
        return documents, [f"{directory}: not a directory"]
    for path in sorted(directory.rglob("*.json")):
        label = _label(path, directory)
        try:
            schema = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_refuse_duplicate_keys)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            problems.append(f"{label}: cannot be read as JSON: {error}")
            continue
        if not isinstance(schema, dict):
            problems.append(f"{label}: a schema document must be a JSON object")
            continue
        if schema.get("$schema") != DIALECT:
            problems.append(f"{label}: $schema must be {DIALECT!r}")
        schema_id = schema.get("$id")
        if not isinstance(schema_id, str) or not _ID_RE.fullmatch(schema_id):
            problems.append(f"{label}: $id must look like {ID_PREFIX}<name>/<version>, e.g. {ID_PREFIX}subject/1")
            continue
        if schema_id in documents:
            other = _label(documents[schema_id][0], directory)
            problems.append(f"{label}: $id {schema_id!r} is already used by {other}")
            continue
        documents[schema_id] = (path, schema)
    return documents, problems


def _schema_problems(schema: dict) -> list[str]:
    problems = []
    metaschema_validator = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    for error in sorted(metaschema_validator.iter_errors(schema), key=lambda e: list(map(str, e.absolute_path))):
        problems.append(f"{json_pointer(error.absolute_path) or '(root)'} (schema): {error.message}")
    for location, format_name in _formats(schema, ()):
        if format_name not in FORMAT_CHECKER.checkers:
            problems.append(
                f"{json_pointer(location) or '(root)'} (schema): format {format_name!r} cannot be checked "
                "here (unknown, or its optional package is not installed)"
            )
    return problems


_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMAS = (
    "additionalProperties", "unevaluatedProperties", "items", "unevaluatedItems", "contains",
    "propertyNames", "not", "if", "then", "else", "contentSchema",
)


def _formats(schema: object, location: tuple) -> Iterator[tuple[tuple, str]]:
    """(schema location, format) for every `format` keyword in `schema`."""
    if not isinstance(schema, dict):
        return
    if isinstance(schema.get("format"), str):
        yield location, schema["format"]
    for keyword in _SCHEMA_MAPS:
        if isinstance(schema.get(keyword), dict):
            for name, subschema in schema[keyword].items():
                yield from _formats(subschema, (*location, keyword, name))
    for keyword in _SCHEMA_LISTS:
        if isinstance(schema.get(keyword), list):
            for index, subschema in enumerate(schema[keyword]):
                yield from _formats(subschema, (*location, keyword, index))
    for keyword in _SCHEMAS:
        if keyword in schema:
            yield from _formats(schema[keyword], (*location, keyword))


# -- describing errors -----------------------------------------------------------

# Each keyword's detail is a function, so that it is translated when a request
# is validated, in the request's language. Types are named as "must be ..."
# completes them (the Polish instrumental case differs per type).
_TYPE_NAMES = {
    "object": lambda: pgettext("must be ...", "an object"),
    "array": lambda: pgettext("must be ...", "an array"),
    "string": lambda: pgettext("must be ...", "a string"),
    "integer": lambda: pgettext("must be ...", "an integer"),
    "number": lambda: pgettext("must be ...", "a number"),
    "boolean": lambda: pgettext("must be ...", "true or false"),
    "null": lambda: pgettext("must be ...", "null"),
}
_FORMAT_DETAILS = {
    "date": lambda: _("must be a date in the form YYYY-MM-DD"),
    "date-time": lambda: _("must be an RFC 3339 date and time with a time zone offset, e.g. 2025-01-31T12:00:00Z"),
    "time": lambda: _("must be an RFC 3339 time with a time zone offset, e.g. 12:00:00Z"),
    "email": lambda: _("must be an e-mail address"),
    "idn-email": lambda: _("must be an e-mail address"),
    "uuid": lambda: _("must be a UUID"),
    "ipv4": lambda: _("must be an IPv4 address"),
    "ipv6": lambda: _("must be an IPv6 address"),
    "regex": lambda: _("must be a regular expression"),
}
# formats.pesel_problem's reasons, in the sentence the registry makes of them.
_PESEL_DETAILS = {
    PESEL_NOT_11_DIGITS: lambda: _("must be a valid PESEL number: this one must be exactly 11 digits"),
    PESEL_WRONG_CHECK_DIGIT: lambda: _("must be a valid PESEL number: this one has a wrong check digit"),
    PESEL_NO_SUCH_DATE: lambda: _("must be a valid PESEL number: this one does not encode an existing birth date"),
}


def _code(error: ValidationError) -> str:
    return error.validator if isinstance(error.validator, str) else "false"


def _sort_key(path: tuple) -> tuple:
    return tuple((0, token, "") if isinstance(token, int) else (1, 0, token) for token in path)


def _describe(error: ValidationError, validator=None) -> list[tuple[tuple, str]]:
    """(instance path, detail) pairs for one jsonschema error. jsonschema's own
    messages repeat the instance (a PESEL, a name) and are English; ours never
    repeat it and are in the active language. A member that is not allowed is
    reported at its own pointer, named, with the members that are (issue 16:
    a typo is then one glance to fix)."""
    path = tuple(error.absolute_path)
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "required" and isinstance(instance, dict):
        return [((*path, name), _("is required")) for name in expected if name not in instance]
    if keyword == "dependentRequired" and isinstance(instance, dict):
        return [
            ((*path, name), _("is required when %(trigger)s is present") % {"trigger": repr(trigger)})
            for trigger, needed in expected.items() if trigger in instance
            for name in needed if name not in instance
        ]
    if keyword == "additionalProperties" and expected is False and isinstance(instance, dict):
        declared = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        extras = [k for k in instance if k not in declared and not any(re.search(p, k) for p in patterns)]
        if extras:
            return [((*path, name), _unknown_member(name, [*declared, *patterns])) for name in extras]
        return [(path, _("has members that are not allowed"))]
    if keyword == "unevaluatedProperties" and expected is False and isinstance(instance, dict) and validator:
        declared = _declared_members(validator._resolver, error.schema)
        extras = [k for k in instance if k not in declared]
        if declared and extras:
            return [((*path, name), _unknown_member(name, sorted(declared))) for name in extras]
    return [(path, _detail(keyword, expected, instance))]


def _unknown_member(name: str, allowed) -> str:
    return _("is not allowed here: unknown member %(name)s. Allowed: %(allowed)s") % {
        "name": repr(name), "allowed": ", ".join(allowed),
    }


def _declared_members(resolver, schema: object, depth: int = 0) -> set[str]:
    """The member names `schema` declares, through allOf/anyOf/oneOf and
    $ref (a referral payload extends referral-base's common part). Empty if
    a reference cannot be followed: the caller then says less, not wrong."""
    if not isinstance(schema, dict) or depth > 8:
        return set()
    names = set(schema.get("properties", {}))
    for keyword in ("allOf", "anyOf", "oneOf"):
        for subschema in schema.get(keyword, []):
            names |= _declared_members(resolver, subschema, depth + 1)
    if isinstance(schema.get("$ref"), str):
        try:
            resolved = resolver.lookup(schema["$ref"])
        except Exception:  # noqa: BLE001 - an unresolvable $ref only shortens the message
            return set()
        names |= _declared_members(resolved.resolver, resolved.contents, depth + 1)
    return names


def _type_detail(expected: object) -> str:
    names = [_TYPE_NAMES[n]() if n in _TYPE_NAMES else str(n) for n in ([expected] if isinstance(expected, str) else expected)]
    if len(names) == 1:
        return _("must be %(type)s") % {"type": names[0]}
    return _("must be %(types)s or %(last)s") % {"types": ", ".join(names[:-1]), "last": names[-1]}


def _format_detail(expected: object, instance: object) -> str:
    if expected == "pesel":
        return _PESEL_DETAILS[pesel_problem(instance)]()
    if expected in _FORMAT_DETAILS:
        return _FORMAT_DETAILS[expected]()
    return _("must be a valid %(format)s") % {"format": expected}


def _values(expected: object) -> str:
    # Allowed values are codes: listed as JSON, never translated.
    return ", ".join(json.dumps(v, ensure_ascii=False) for v in expected)


def _detail(keyword: object, expected: object, instance: object) -> str:
    if keyword == "type":
        return _type_detail(expected)
    if keyword == "format":
        return _format_detail(expected, instance)
    n = {"n": expected}
    simple = {
        "enum": lambda: _("must be one of: %(allowed)s") % {"allowed": _values(expected)},
        "const": lambda: _("must be exactly %(value)s") % {"value": json.dumps(expected, ensure_ascii=False)},
        "minLength": lambda: _("must not be empty") if expected == 1 else ngettext(
            "must be at least %(n)s character long", "must be at least %(n)s characters long", expected) % n,
        "maxLength": lambda: ngettext(
            "must be at most %(n)s character long", "must be at most %(n)s characters long", expected) % n,
        "pattern": lambda: _("must match the pattern %(pattern)s") % {"pattern": expected},
        "minimum": lambda: _("must be at least %(n)s") % n,
        "maximum": lambda: _("must be at most %(n)s") % n,
        "exclusiveMinimum": lambda: _("must be greater than %(n)s") % n,
        "exclusiveMaximum": lambda: _("must be less than %(n)s") % n,
        "multipleOf": lambda: _("must be a multiple of %(n)s") % n,
        "minItems": lambda: _("must not be empty") if expected == 1 else ngettext(
            "must have at least %(n)s item", "must have at least %(n)s items", expected) % n,
        "maxItems": lambda: ngettext("must have at most %(n)s item", "must have at most %(n)s items", expected) % n,
        "uniqueItems": lambda: _("must not contain the same item twice"),
        "minProperties": lambda: _("must not be empty") if expected == 1 else ngettext(
            "must have at least %(n)s member", "must have at least %(n)s members", expected) % n,
        "maxProperties": lambda: ngettext(
            "must have at most %(n)s member", "must have at most %(n)s members", expected) % n,
        "contains": lambda: _("must contain a matching item"),
        "minContains": lambda: ngettext(
            "must contain at least %(n)s matching item", "must contain at least %(n)s matching items", expected) % n,
        "maxContains": lambda: ngettext(
            "must contain at most %(n)s matching item", "must contain at most %(n)s matching items", expected) % n,
        "anyOf": lambda: _("does not match any of the allowed forms"),
        "oneOf": lambda: _("must match exactly one of the allowed forms"),
        "not": lambda: _("has a form that is not allowed here"),
        "propertyNames": lambda: _("has a member name that is not allowed"),
        "unevaluatedProperties": lambda: _("has members that are not allowed"),
        "unevaluatedItems": lambda: _("has items that are not allowed"),
        "additionalProperties": lambda: _("has members that are not allowed"),
        None: lambda: _("is not allowed here"),  # a `false` schema
    }
    describe = simple.get(keyword)
    return describe() if describe else _("does not satisfy the schema's %(keyword)s rule") % {"keyword": repr(keyword)}


# -- the process-wide registry ---------------------------------------------------


@cache
def get_registry() -> SchemaRegistry:
    """The registry of schemas/json/, built on first use (a failure is not cached)."""
    return SchemaRegistry()


def check_registry() -> list[str]:
    """Every problem that stops the registry from loading; empty when it loads.
    For the Django system check."""
    try:
        get_registry()
    except SchemaRegistryError as error:
        return list(error.problems)
    return []
