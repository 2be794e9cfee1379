"""jsonschema-rs answers "valid?" on the write path and jsonschema only writes
the problems (schemas/registry.py). That is safe only if jsonschema-rs never
accepts a document jsonschema refuses: these tests generate documents shaped
by each shipped schema, valid and nearly valid, and hold the two to it."""

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.formats import FORMAT_CHECKER
from schemas.registry import _FAST_FORMATS, get_registry

REGISTRY = get_registry()
NAMES = sorted({name.split("/")[0] for name in REGISTRY.names()})

# Per format: values its checker accepts, then values it refuses (near misses).
FORMAT_VALUES = {
    "date": (["2026-11-30", "2024-02-29"], ["2023-02-29", "2026-13-01", "2026-1-01", "20261130", "2026-11-30\n"]),
    "date-time": (["2026-11-30T07:00:00Z", "2026-11-30T07:00:00.5+01:00"],
                  ["2026-11-30 07:00:00Z", "2026-11-30T25:00:00Z", "2026-11-30T07:00:00"]),
    "email": (["ops@gmina.pl", "a.b+c@x.example.org"], ["a@b", "no-at-sign", '"a b"@x.pl', "a@b..pl", "ą@x.pl"]),
    "pesel": (["44051401359", "02271409862"], ["44051401358", "4405140135", "44051401359\n", "4405140135a"]),
}
# A value of the wrong kind, anywhere.
JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5), st.just([]), st.just({}),
)


class _Shapes:
    """Strategies for documents shaped by a schema: with `misses`, now and then
    a value of the wrong kind or size anywhere, a member too many or a
    required one missing; without, documents meant to be valid."""

    def __init__(self, *, misses: bool):
        self.misses = misses

    def _rarely(self, wrong, right):
        # One time in eight: most documents stay valid enough to reach deep
        # keywords, and every keyword still sees a miss.
        if not self.misses:
            return right
        return st.integers(0, 7).flatmap(lambda n: wrong if n == 0 else right)

    def _string(self, node):
        if "format" in node:
            valid, invalid = FORMAT_VALUES[node["format"]]
            return self._rarely(st.sampled_from(invalid), st.sampled_from(valid))
        if "pattern" in node:
            # Python's `$` also matches before a final newline, ECMA-262's does
            # not: a near miss only the fast validator refuses.
            return self._rarely(st.from_regex(node["pattern"]), st.from_regex(node["pattern"], fullmatch=True))
        low, high = node.get("minLength", 0), min(node.get("maxLength", 40), 60)
        return self._rarely(st.text(min_size=max(low - 1, 0), max_size=high + 1), st.text(min_size=low, max_size=high))

    def _number(self, node, numbers):
        low, high = node.get("minimum", -5), node.get("maximum", 10**6)
        return self._rarely(st.sampled_from([low - 1, high + 1]), numbers(low, high))

    def _parts(self, node, resolver):
        """`node` and what its $ref points to, each with the resolver of its own
        document (a referenced schema's own refs are relative to it)."""
        parts = [({key: value for key, value in node.items() if key != "$ref"}, resolver)]
        if "$ref" in node:
            resolved = resolver.lookup(node["$ref"])
            parts += self._parts(resolved.contents, resolved.resolver)
        return parts

    def _object(self, parts):
        members, required = {}, set()
        for node, resolver in parts:
            members.update({key: (sub, resolver) for key, sub in node.get("properties", {}).items()})
            required.update(node.get("required", ()))
        required = sorted(required)
        members = {
            key: (st.just(True) if key in required else st.booleans(), self._strategy(sub, resolver))
            for key, (sub, resolver) in members.items()
        }

        @st.composite
        def build(draw):
            document = {key: draw(value) for key, (present, value) in members.items() if draw(present)}
            if draw(self._rarely(st.just(True), st.just(False))):
                document[draw(st.text(min_size=1, max_size=8))] = draw(JUNK)
            if required and draw(self._rarely(st.just(True), st.just(False))):
                document.pop(draw(st.sampled_from(required)), None)
            return document

        return build()

    def _strategy(self, node, resolver):
        """Documents shaped by `node`, its $ref followed and merged in."""
        parts = self._parts(node, resolver)
        merged = {key: value for part, _ in reversed(parts) for key, value in part.items()}
        return self._rarely(JUNK, self._shaped(merged, parts))

    def _shaped(self, node, parts):
        if "enum" in node:
            return st.sampled_from(node["enum"])
        kind = node.get("type")
        if isinstance(kind, list):
            return st.one_of([self._shaped({**node, "type": one}, parts) for one in kind])
        if kind == "object" or "properties" in node:
            return self._object(parts)
        if kind == "array":
            resolver = next(resolver for part, resolver in parts if "items" in part) if "items" in node else None
            items = self._strategy(node["items"], resolver) if resolver else JUNK
            low = node.get("minItems", 0)
            high = max(min(node.get("maxItems", 3), 3), low)
            return self._rarely(st.lists(items, max_size=high + 1), st.lists(items, min_size=low, max_size=high))
        return {
            "string": lambda: self._string(node),
            "integer": lambda: self._number(node, st.integers),
            "number": lambda: self._number(node, lambda low, high: st.floats(low, high)),
            "boolean": st.booleans,
            "null": st.none,
        }.get(kind, lambda: JUNK)()

    def documents(self, name):
        entry = REGISTRY._entry(name)
        return self._strategy(entry.schema, REGISTRY.referencing_registry.resolver(entry.id))


def _jsonschema_accepts(name, document) -> bool:
    return REGISTRY.validator(name).is_valid(document)


@pytest.mark.parametrize("name", NAMES)
def test_the_fast_validator_never_accepts_what_jsonschema_refuses(name):
    fast = REGISTRY._entry(name).fast

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(_Shapes(misses=True).documents(name))
    def check(document):
        if fast.is_valid(document):
            assert _jsonschema_accepts(name, document), document

    check()


@pytest.mark.parametrize("name", NAMES)
def test_the_shapes_make_documents_both_accept(name):
    # The shapes follow each schema closely enough to make valid documents:
    # without that, the test above would prove nothing.
    fast, accepted = REGISTRY._entry(name).fast, []

    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(_Shapes(misses=False).documents(name))
    def check(document):
        if _jsonschema_accepts(name, document):
            accepted.append(document)
            assert fast.is_valid(document), document

    check()
    assert accepted


@pytest.mark.parametrize(
    ("format_name", "value"),
    [(name, value) for name, (valid, invalid) in FORMAT_VALUES.items() for value in valid + invalid],
)
def test_formats_are_checked_by_the_same_checkers(format_name, value):
    document = {"type": "string", "format": format_name}
    fast = jsonschema_rs.validator_for(document, formats=_FAST_FORMATS, validate_formats=True)
    assert fast.is_valid(value) == FORMAT_CHECKER.conforms(value, format_name)


def test_validate_reports_the_problems_of_a_document_the_fast_validator_refuses():
    problems = REGISTRY.validate("referral-shelter", {"summary": "x", "expected_stay_days": "thirty"})
    assert ("/expected_stay_days", "type") in {(p.pointer, p.code) for p in problems}
