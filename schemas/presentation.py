"""Documents as people read them: each member of a (disclosed) document under
its schema's title, Polish (`x-title-pl`) or English (`title`), in the
schema's order, and each enum code under its label (`x-enum-titles-pl` /
`x-enum-titles`, annotations beside the `enum`). Used by the staff pages to
show payloads and profiles, and by the forms generated from a schema
(schemas/forms.py). Imports nothing from Django or the hub's apps."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.registry import SchemaRegistry, get_registry

GROUP, TEXT, LIST, BOOLEAN = "group", "text", "list", "boolean"


@dataclass(frozen=True)
class Row:
    """One member. `kind` GROUP has no value (its members follow, one level
    deeper); LIST's value is a list of strings; BOOLEAN's a bool."""

    path: str  # "contact.address.city": stable, for element ids; never data
    title: str
    value: object
    depth: int
    kind: str


def title_of(node: dict, key: str, language: str) -> str:
    if language.startswith("pl") and node.get("x-title-pl"):
        return node["x-title-pl"]
    return node.get("title") or node.get("x-title-pl") or key


def enum_label(node: dict, code, language: str) -> str:
    """The label of enum `code` in `node` (Polish or English), else the code:
    a code the schema does not label is still shown, never hidden."""
    labels = node.get("x-enum-titles-pl") if language.startswith("pl") else None
    labels = labels or node.get("x-enum-titles") or {}
    label = labels.get(code) if isinstance(code, str) else None
    return label if isinstance(label, str) and label else str(code)


def schema_title(name_or_id: str, language: str, registry: SchemaRegistry | None = None) -> str:
    registry = registry or get_registry()
    return title_of(registry.get(name_or_id), name_or_id, language)


def schema_root(name_or_id: str, registry: SchemaRegistry | None = None) -> tuple[dict, object]:
    """The schema and the resolver of its $refs, to walk it with the helpers below."""
    registry = registry or get_registry()
    resolver = registry.referencing_registry.resolver(base_uri=registry.schema_id(name_or_id))
    return registry.get(name_or_id), resolver


def resolve_ref(node: dict, resolver):
    """The node with its $ref followed (titles set beside a $ref win)."""
    while isinstance(node, dict) and "$ref" in node and "properties" not in node:
        resolved = resolver.lookup(node["$ref"])
        merged = {**resolved.contents, **{k: v for k, v in node.items() if k != "$ref"}}
        node, resolver = merged, resolved.resolver
    return node, resolver


def declared_properties(node: dict, resolver) -> dict:
    """Every property a node declares, through $ref and allOf, in order:
    key -> (subschema, its resolver)."""
    found = {}
    if "$ref" in node:
        resolved = resolver.lookup(node["$ref"])
        found.update(declared_properties(resolved.contents, resolved.resolver))
    for sub in node.get("allOf", []):
        found.update(declared_properties(sub, resolver))
    for key, sub in node.get("properties", {}).items():
        found[key] = (sub, resolver)
    return found


def required_members(node: dict, resolver) -> set[str]:
    """The members a node requires, through $ref and allOf."""
    found = set(node.get("required", []))
    if "$ref" in node:
        resolved = resolver.lookup(node["$ref"])
        found |= required_members(resolved.contents, resolved.resolver)
    for sub in node.get("allOf", []):
        found |= required_members(sub, resolver)
    return found


class _Walker:
    def __init__(self, registry: SchemaRegistry, language: str):
        self.registry, self.language = registry, language

    resolve = staticmethod(resolve_ref)
    properties = staticmethod(declared_properties)

    def rows(self, node: dict, resolver, document: dict, path: str, depth: int) -> list[Row]:
        declared = self.properties(node, resolver)
        ordered = [key for key in declared if key in document]
        rows = []
        for key in ordered:
            sub, sub_resolver = self.resolve(*declared[key])
            rows += self.value_rows(sub, sub_resolver, document[key], key, f"{path}{key}", depth)
        return rows

    def value_rows(self, node: dict, resolver, value, key: str, path: str, depth: int) -> list[Row]:
        title = title_of(node, key, self.language)
        if isinstance(value, dict):
            return [Row(path, title, None, depth, GROUP), *self.rows(node, resolver, value, f"{path}.", depth + 1)]
        if isinstance(value, list) and any(isinstance(item, dict) for item in value):
            items, items_resolver = self.resolve(node.get("items", {}), resolver)
            rows = [Row(path, title, None, depth, GROUP)]
            for index, item in enumerate(value, start=1):
                item_path = f"{path}.{index}"
                rows.append(Row(item_path, f"{title} ({index})", None, depth + 1, GROUP))
                rows += self.rows(items, items_resolver, item, f"{item_path}.", depth + 2)
            return rows
        if isinstance(value, list):
            items, _ = self.resolve(node.get("items", {}), resolver)
            return [Row(path, title, [enum_label(items, item, self.language) for item in value], depth, LIST)]
        if isinstance(value, bool):
            return [Row(path, title, value, depth, BOOLEAN)]
        return [Row(path, title, enum_label(node, value, self.language), depth, TEXT)]


def document_rows(name_or_id: str, document, language: str, registry: SchemaRegistry | None = None) -> list[Row]:
    """The rows of `document` (valid against, or pruned from a document valid
    against, schema `name_or_id`). Members the schema does not declare are
    left out: a pruned document never has any, and nothing undescribed is shown."""
    registry = registry or get_registry()
    if not isinstance(document, dict):
        return []
    schema, resolver = schema_root(name_or_id, registry)
    return _Walker(registry, language).rows(schema, resolver, document, "", 0)
