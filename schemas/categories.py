"""Data categories of JSON Schema properties, and pruning documents by category
(DESIGN.md 4.3).

Every property of a hub schema carries `x-category` (a code of the
data_categories vocabulary) or inherits the category of the property that
contains it. A schema is compiled once into a `CategoryMap`, a tree that gives
the category of every place in a document; compiling fails closed: anything
whose category cannot be resolved with certainty is an error, never a guess.

Rules:

- A child inherits its parent's category unless it sets its own. Array items
  inherit the array's category.
- `$ref` (to a JSON pointer in the same document, or to another schema given in
  `documents`) and `allOf` apply in place: their categories and properties merge
  with the referencing schema's. A `$defs` entry without `x-category` takes the
  category of the place that references it. Two different explicit categories
  for the same place are an error (a reusable definition must not set one if it
  is used under another category), as are recursive references.
- Members not named in `properties` are described by `additionalProperties`
  (or `unevaluatedProperties`); when neither is given they inherit the object's
  category, so an object without a category must forbid them. Likewise for array
  items beyond `items`/`prefixItems`.
- `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `dependentSchemas`, `contains`
  and `propertyNames` may only validate: they may not set categories or
  introduce properties that the place does not already declare.
- Unsupported (refused): `patternProperties`, `$anchor`, `$dynamicRef`,
  `$dynamicAnchor`, `$id` below a document's root, unknown keywords (a typo such
  as `additionalproperty` would otherwise silently allow uncategorised data).
- Only the root of a schema may lack a category, and then it must be declared
  `"type": "object"`.

Pointers returned by `resolve_categories` are RFC 6901 pointers into the
instance, with the token "*" standing for "any other member" of an object or
"any index" of an array beyond its `prefixItems` (so "*" is reserved and refused
as a property name).

Pruning (`prune`):

- A place whose category is not permitted is removed whole, even if something
  inside it sets a permitted category: deny wins for nested data.
- A place whose category is permitted is kept, minus the children whose category
  is not permitted.
- Arrays never lose single elements: dropping an element would shift the
  meaning of positional items, or make a list look shorter (or empty) than it
  is. If any element must be withheld, the whole array is removed.
- Data the schema does not describe (only possible when the document was not
  valid against it) is never released.
- `withheld` lists the categories of every value that was removed and is
  present in the document; categories the document does not contain are not
  reported.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urldefrag, urljoin

CATEGORY_KEYWORD = "x-category"
WILDCARD = "*"

# Keywords that neither create places in the instance nor carry categories.
_ANNOTATIONS = frozenset(
    {
        "title", "description", "$comment", "default", "examples", "deprecated",
        "readOnly", "writeOnly", "contentEncoding", "contentMediaType",
    }
)
_ASSERTIONS = frozenset(
    {
        "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum",
        "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "format",
        "maxItems", "minItems", "uniqueItems", "maxContains", "minContains",
        "maxProperties", "minProperties", "required", "dependentRequired",
    }
)
_ROOT_ONLY = frozenset({"$schema", "$id"})
_STRUCTURE = frozenset(
    {
        CATEGORY_KEYWORD, "$defs", "$ref", "allOf", "properties", "additionalProperties",
        "unevaluatedProperties", "prefixItems", "items", "unevaluatedItems",
    }
)
# In-place or item/name applicators that may only validate (see module docstring).
_VALIDATING_ONLY = frozenset(
    {"anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas", "contains", "propertyNames"}
)
_UNSUPPORTED = {
    "patternProperties": "patternProperties is not supported: name every property",
    "$anchor": "$anchor is not supported: refer to definitions by JSON pointer (#/$defs/...)",
    "$dynamicAnchor": "$dynamicAnchor is not supported",
    "$dynamicRef": "$dynamicRef is not supported",
    "$recursiveRef": "$recursiveRef is not supported",
    "$recursiveAnchor": "$recursiveAnchor is not supported",
    "$vocabulary": "$vocabulary is not supported",
    "definitions": "definitions is not a 2020-12 keyword: use $defs",
    "dependencies": "dependencies is not a 2020-12 keyword: use dependentRequired",
    "contentSchema": "contentSchema is not supported",
}


class CategoryError(ValueError):
    """A schema whose categories do not resolve. `problems` lists every one."""

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def json_pointer(path: Iterable[str | int]) -> str:
    """The RFC 6901 pointer for a sequence of member names and array indexes."""
    return "".join("/" + str(token).replace("~", "~0").replace("/", "~1") for token in path)


def _where(path: tuple) -> str:
    return json_pointer(path) or "(root)"


def _json_type(value: object) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "null"


def _keyword(schema: Mapping, keyword: str, kind: type) -> Mapping | list:
    """The value of `keyword` when it has the shape the metaschema requires, else
    empty (the registry reports metaschema problems; this only keeps a malformed
    schema from crashing the compiler)."""
    value = schema.get(keyword)
    if isinstance(value, kind):
        return value
    return {} if kind is Mapping else []


def _is_index(token: str) -> bool:
    """An RFC 6901 array index: ASCII digits without leading zeros."""
    return token.isascii() and token.isdigit() and (token == "0" or not token.startswith("0"))


def _may_be(types: frozenset[str] | None, kind: str) -> bool:
    return types is None or kind in types


@dataclass(frozen=True, eq=False)
class _Node:
    """One place in the instance. `None` in place of a node means no value may
    be there (a `false` schema, or something we refused to categorise)."""

    category: str | None
    types: frozenset[str] | None = None
    properties: dict[str, _Node | None] = field(default_factory=dict)
    other_members: _Node | None = None
    prefix_items: tuple[_Node | None, ...] = ()
    other_items: _Node | None = None
    # Nothing below is described further: every nested value has `category`.
    opaque: bool = False

    def member(self, name: str) -> _Node | None:
        if self.opaque:
            return self
        return self.properties[name] if name in self.properties else self.other_members

    def item(self, index: int) -> _Node | None:
        if self.opaque:
            return self
        return self.prefix_items[index] if index < len(self.prefix_items) else self.other_items


@dataclass(frozen=True)
class _Context:
    """The document a subschema lives in, for resolving its `$ref`s."""

    base: str
    document: object


_REMOVED = object()


class CategoryMap:
    """The compiled categories of one schema. Build with `CategoryMap.compile`."""

    def __init__(self, root: _Node):
        self._root = root

    @classmethod
    def compile(
        cls,
        schema: Mapping | bool,
        *,
        valid_codes: Collection[str] | None = None,
        documents: Mapping[str, Mapping] | None = None,
    ) -> CategoryMap:
        """Raises CategoryError listing every problem. `documents` maps the `$id`
        of other schemas to their contents, for `$ref`s between schemas; nothing
        else is ever fetched. Without `valid_codes`, any string is a category."""
        compiler = _Compiler(valid_codes, documents or {})
        root = compiler.compile_root(schema)
        if compiler.problems:
            raise CategoryError(compiler.problems)
        return cls(root)

    def pointers(self) -> dict[str, str]:
        """Category by instance pointer (see the module docstring for "*")."""
        result: dict[str, str] = {}
        self._collect_pointers(self._root, (), result)
        return result

    def _collect_pointers(self, node: _Node | None, path: tuple, result: dict) -> None:
        if node is None:
            return
        if node.category is not None:
            result[json_pointer(path)] = node.category
        if node.opaque:
            return
        for name, child in node.properties.items():
            self._collect_pointers(child, (*path, name), result)
        for index, child in enumerate(node.prefix_items):
            self._collect_pointers(child, (*path, index), result)
        if _may_be(node.types, "object"):
            self._collect_pointers(node.other_members, (*path, WILDCARD), result)
        if _may_be(node.types, "array"):
            self._collect_pointers(node.other_items, (*path, WILDCARD), result)

    def present(self, document: object) -> set[str]:
        """The categories of the data actually present in `document`."""
        found: set[str] = set()
        _collect_present(document, self._root, found)
        return found

    def prune(self, document: object, permitted: Iterable[str]) -> tuple[object, list[str]]:
        """(a copy of `document` without the data whose category is not in
        `permitted`, the sorted categories removed). Never mutates `document`.
        If the root itself is not permitted, the result is an empty object (or
        empty array, or None for a scalar root)."""
        permitted = frozenset(permitted)
        withheld: set[str] = set()
        root = self._root
        if root.category is not None and root.category not in permitted:
            _collect_present(document, root, withheld)
            return _empty_like(document), sorted(withheld)
        pruned = _prune(document, root, permitted, withheld)
        if pruned is _REMOVED:  # a root array with an element withheld
            _collect_present(document, root, withheld)
            pruned = _empty_like(document)
        return pruned, sorted(withheld)


def _empty_like(document: object) -> object:
    if isinstance(document, dict):
        return {}
    if isinstance(document, list):
        return []
    return None


def _collect_present(value: object, node: _Node | None, found: set[str]) -> None:
    if node is None:
        return
    if node.category is not None:
        found.add(node.category)
    if node.opaque:
        return
    if isinstance(value, dict):
        for name, child_value in value.items():
            _collect_present(child_value, node.member(name), found)
    elif isinstance(value, list):
        for index, child_value in enumerate(value):
            _collect_present(child_value, node.item(index), found)


def _prune(value: object, node: _Node, permitted: frozenset[str], withheld: set[str]) -> object:
    """`value` at a permitted `node`, pruned; _REMOVED when it must go whole."""
    if node.opaque:
        return copy.deepcopy(value)
    if isinstance(value, dict):
        result = {}
        for name, child_value in value.items():
            child = node.member(name)
            if child is None:
                continue  # undescribed data: never released, and it has no category to report
            if child.category not in permitted:
                _collect_present(child_value, child, withheld)
                continue
            pruned = _prune(child_value, child, permitted, withheld)
            if pruned is _REMOVED:
                _collect_present(child_value, child, withheld)
                continue
            result[name] = pruned
        return result
    if isinstance(value, list):
        result = []
        for index, child_value in enumerate(value):
            child = node.item(index)
            if child is None or child.category not in permitted:
                return _REMOVED
            pruned = _prune(child_value, child, permitted, withheld)
            if pruned is _REMOVED:
                return _REMOVED
            result.append(pruned)
        return result
    return value  # str, int, float, bool, None are immutable


class _Compiler:
    def __init__(self, valid_codes: Collection[str] | None, documents: Mapping[str, Mapping]):
        self.valid_codes = None if valid_codes is None else frozenset(valid_codes)
        self.documents = {urldefrag(uri).url: doc for uri, doc in documents.items()}
        self.problems: list[str] = []

    def problem(self, path: tuple, message: str) -> None:
        text = f"{_where(path)}: {message}"
        if text not in self.problems:
            self.problems.append(text)

    def compile_root(self, schema: Mapping | bool) -> _Node:
        base = ""
        if isinstance(schema, Mapping) and isinstance(schema.get("$id"), str):
            base = urldefrag(schema["$id"]).url
        # The root is on the way to everything: a $ref back to it is recursive.
        refs = frozenset({(base, "")})
        node = self.place([(schema, _Context(base, schema))], None, (), refs, root=True)
        return node if node is not None else _Node(category=None, types=frozenset())

    # -- one place of the instance -------------------------------------------

    def place(self, sources, inherited, path, refs, *, root=False) -> _Node | None:
        """Compile the place at `path`, to which every schema in `sources`
        applies. `refs` are the $ref targets already followed on the way here."""
        applying: list[tuple[object, _Context]] = []
        followed = set(refs)
        for schema, context in sources:
            self.expand(schema, context, path, refs, applying, followed)
        if any(schema is False for schema, _ in applying):
            return None
        schemas = [(s, c) for s, c in applying if isinstance(s, Mapping)]
        for schema, context in schemas:
            self.check_keywords(schema, context, path)
        category = self.category(schemas, inherited, path)
        types = self.types(schemas)
        if category is None:
            if not root:
                self.problem(path, "has no x-category and its parent has none to inherit")
            elif types != frozenset({"object"}):
                self.problem(path, 'the root has no x-category, so it must be declared "type": "object"')
        declared = [name for s, _ in schemas for name in _keyword(s, "properties", Mapping)]
        for schema, _ in schemas:
            self.check_validating_only(schema, frozenset(declared), path)
        refs = frozenset(followed)
        return _Node(
            category=category,
            types=types,
            properties=self.properties(schemas, declared, category, path, refs),
            other_members=self.other_members(schemas, category, types, path, refs),
            prefix_items=self.prefix_items(schemas, category, path, refs),
            other_items=self.other_items(schemas, category, types, path, refs),
        )

    def expand(self, schema, context, path, refs, out, followed) -> None:
        """Append `schema` and everything applying in place through $ref and allOf."""
        out.append((schema, context))
        if not isinstance(schema, Mapping):
            return
        if "$ref" in schema:
            target = self.follow(schema["$ref"], context, path, refs)
            if target is not None:
                target_schema, target_context, key = target
                followed.add(key)
                self.expand(target_schema, target_context, path, refs | {key}, out, followed)
        for subschema in _keyword(schema, "allOf", list):
            self.expand(subschema, context, path, refs, out, followed)

    def follow(self, ref, context: _Context, path, refs):
        if not isinstance(ref, str):
            self.problem(path, "$ref must be a string")
            return None
        uri, fragment = urldefrag(urljoin(context.base, ref))
        if uri in ("", context.base):
            base, document = context.base, context.document
        elif uri in self.documents:
            base, document = uri, self.documents[uri]
        else:
            self.problem(
                path, f"$ref {ref!r} points outside the known schemas ({uri!r}); remote schemas are never fetched"
            )
            return None
        fragment = unquote(fragment)
        if fragment and not fragment.startswith("/"):
            self.problem(path, f"$ref {ref!r} uses an anchor; only JSON pointers such as #/$defs/name are supported")
            return None
        target = document
        for token in fragment.split("/")[1:]:
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and token in target:
                target = target[token]
            elif isinstance(target, list) and _is_index(token) and int(token) < len(target):
                target = target[int(token)]
            else:
                self.problem(path, f"$ref {ref!r} does not resolve")
                return None
        key = (base, fragment)
        if key in refs:
            self.problem(path, f"$ref {ref!r} is recursive; the categories of recursive structures cannot be resolved")
            return None
        return target, _Context(base, document), key

    def check_keywords(self, schema: Mapping, context: _Context, path) -> None:
        at_document_root = schema is context.document
        for keyword in schema:
            if keyword in _ANNOTATIONS or keyword in _ASSERTIONS or keyword in _STRUCTURE:
                continue
            if keyword in _VALIDATING_ONLY:
                continue
            if keyword in _ROOT_ONLY:
                if not at_document_root:
                    self.problem(path, f"{keyword} is only supported at the root of a schema document")
            elif keyword in _UNSUPPORTED:
                self.problem(path, _UNSUPPORTED[keyword])
            elif not keyword.startswith("x-"):
                self.problem(path, f"unknown keyword {keyword!r}")

    def category(self, schemas, inherited: str | None, path) -> str | None:
        explicit: list[str] = []
        for schema, _ in schemas:
            if CATEGORY_KEYWORD not in schema:
                continue
            code = schema[CATEGORY_KEYWORD]
            if not isinstance(code, str):
                self.problem(path, "x-category must be a string")
                code = repr(code)
            elif self.valid_codes is not None and code not in self.valid_codes:
                self.problem(path, f"x-category {code!r} is not a data category code")
            if code not in explicit:
                explicit.append(code)
        if len(explicit) > 1:
            listed = ", ".join(map(repr, explicit))
            self.problem(path, f"conflicting x-category values {listed} (through $ref or allOf)")
        # After a problem, carry on with the first code so that the children are
        # not reported again; compile() fails anyway.
        return explicit[0] if explicit else inherited

    @staticmethod
    def types(schemas) -> frozenset[str] | None:
        """The JSON types a value here may have (None: any), from `type`, `enum`
        and `const`; used only to leave out members and items that cannot exist."""
        result = None
        for schema, _ in schemas:
            allowed = []
            declared = schema.get("type")
            if isinstance(declared, (str, list)):
                declared = frozenset([declared] if isinstance(declared, str) else declared)
                allowed.append(declared | {"integer"} if "number" in declared else declared)
            if isinstance(schema.get("enum"), list):
                allowed.append(frozenset(_json_type(value) for value in schema["enum"]))
            if "const" in schema:
                allowed.append(frozenset({_json_type(schema["const"])}))
            for types in allowed:
                result = types if result is None else result & types
        return result

    def check_validating_only(self, schema: Mapping, declared: frozenset[str], path) -> None:
        for keyword in _VALIDATING_ONLY & schema.keys():
            value = schema[keyword]
            if keyword in ("anyOf", "oneOf"):
                subschemas = value if isinstance(value, list) else []
            elif keyword == "dependentSchemas":
                subschemas = list(value.values()) if isinstance(value, Mapping) else []
            else:
                subschemas = [value]
            # contains and propertyNames look at items and names, not at this place's members
            names = declared if keyword not in ("contains", "propertyNames") else frozenset()
            for subschema in subschemas:
                self.check_validating_subschema(subschema, names, keyword, path)

    def check_validating_subschema(self, schema, declared: frozenset[str], where: str, path) -> None:
        if not isinstance(schema, Mapping):
            return
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS or keyword in _ASSERTIONS:
                continue
            if keyword.startswith("x-") and keyword != CATEGORY_KEYWORD:
                continue
            if keyword in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
                for subschema in value:
                    self.check_validating_subschema(subschema, declared, where, path)
            elif keyword in ("not", "if", "then", "else"):
                self.check_validating_subschema(value, declared, where, path)
            elif keyword == "properties" and isinstance(value, Mapping):
                undeclared = sorted(set(value) - declared)
                if undeclared:
                    self.problem(path, f"{where} names properties not declared here: {', '.join(undeclared)}")
                for subschema in value.values():
                    self.check_validating_subschema(subschema, frozenset(), where, path)
            else:
                self.problem(path, f"{keyword} is not supported inside {where}, which may only validate")

    # -- the children of a place ---------------------------------------------

    def properties(self, schemas, declared, category, path, refs) -> dict[str, _Node | None]:
        result: dict[str, _Node | None] = {}
        for name in dict.fromkeys(declared):
            if name == WILDCARD:
                self.problem((*path, name), f"the property name {WILDCARD!r} is reserved")
                result[name] = None
                continue
            sources = []
            for schema, context in schemas:
                if name in _keyword(schema, "properties", Mapping):
                    sources.append((schema["properties"][name], context))
                elif "additionalProperties" in schema:
                    sources.append((schema["additionalProperties"], context))
            result[name] = self.place(sources, category, (*path, name), refs)
        return result

    def other_members(self, schemas, category, types, path, refs) -> _Node | None:
        for keyword in ("additionalProperties", "unevaluatedProperties"):
            sources = [(s[keyword], c) for s, c in schemas if keyword in s]
            if sources:
                return self.place(sources, category, (*path, WILDCARD), refs)
        return self.implicit(category, types, "object", path, "members not named in properties")

    def prefix_items(self, schemas, category, path, refs) -> tuple[_Node | None, ...]:
        length = max((len(_keyword(s, "prefixItems", list)) for s, _ in schemas), default=0)
        result = []
        for index in range(length):
            sources = []
            for schema, context in schemas:
                prefix = _keyword(schema, "prefixItems", list)
                if index < len(prefix):
                    sources.append((prefix[index], context))
                elif "items" in schema:
                    sources.append((schema["items"], context))
            result.append(self.place(sources, category, (*path, index), refs))
        return tuple(result)

    def other_items(self, schemas, category, types, path, refs) -> _Node | None:
        for keyword in ("items", "unevaluatedItems"):
            sources = [(s[keyword], c) for s, c in schemas if keyword in s]
            if sources:
                return self.place(sources, category, (*path, WILDCARD), refs)
        return self.implicit(category, types, "array", path, "array items not described by items")

    def implicit(self, category, types, kind, path, what) -> _Node | None:
        """Children that no keyword describes: they inherit `category`."""
        if not _may_be(types, kind):
            return None
        if category is None:
            if not path:  # elsewhere the missing category is reported already
                self.problem(path, f"{what} would have no category: forbid them (false) or give them an x-category")
            return None
        return _Node(category=category, opaque=True)


def resolve_categories(
    schema: Mapping | bool,
    *,
    valid_codes: Collection[str] | None = None,
    documents: Mapping[str, Mapping] | None = None,
) -> dict[str, str]:
    """Category by instance pointer for every property of `schema` (and for the
    root, when it has one). Raises CategoryError when a category does not
    resolve (or, given `valid_codes`, is not one of them)."""
    return CategoryMap.compile(schema, valid_codes=valid_codes, documents=documents).pointers()


def category_errors(
    schema: Mapping | bool,
    valid_codes: Collection[str],
    *,
    documents: Mapping[str, Mapping] | None = None,
) -> list[str]:
    """Every problem that stops `schema`'s categories from resolving, each naming
    the instance pointer of the property concerned; empty when there is none."""
    try:
        CategoryMap.compile(schema, valid_codes=valid_codes, documents=documents)
    except CategoryError as error:
        return error.problems
    return []


def prune(
    document: object,
    schema: Mapping | bool,
    permitted: Iterable[str],
    *,
    documents: Mapping[str, Mapping] | None = None,
) -> tuple[object, list[str]]:
    """See `CategoryMap.prune`; compiles `schema` on every call, so hot paths
    should keep a CategoryMap (the registry does)."""
    return CategoryMap.compile(schema, documents=documents).prune(document, permitted)


def categories_present(
    document: object,
    schema: Mapping | bool,
    *,
    documents: Mapping[str, Mapping] | None = None,
) -> set[str]:
    """The categories of the data actually present in `document`."""
    return CategoryMap.compile(schema, documents=documents).present(document)
