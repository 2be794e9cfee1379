"""Django forms generated from a hub JSON Schema (DESIGN.md 7): the referral
payloads (`referral-<service>`, extending referral-base) and the subject
profile (`subject`), so that a caseworker fills in exactly what the API takes.

How the schema becomes a form:
- each member is titled with `x-title-pl` or `title` by the page's language,
  hinted with its `description` (English pages only: the schemas describe
  their members in English, and an English hint on a Polish page helps nobody;
  a Polish `x-description-pl` is used when a schema has one);
- an object is a fieldset with a legend; an array of objects a fieldset per
  item, one empty item more than filled, "add another" asking for more;
- an enum is radios (a short list) or a select, its options labelled with
  `x-enum-titles-pl` / `x-enum-titles`, never raw codes; a boolean is yes/no;
- an array of enum codes is checkboxes; of strings or numbers a textarea,
  one per line;
- `format: date` is the GOV.UK date input (day, month, year), `date-time`
  the same plus a time, read in the pages' time zone;
- members the schema requires are marked; an empty field is left out of the
  document, never sent as "".

The document is checked with the registry's validator (schemas/registry.py)
and every problem is put back on its field by its JSON pointer, worded for
people (the registry's details are for API clients).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from schemas.presentation import (
    declared_properties,
    enum_label,
    required_members,
    resolve_ref,
    schema_root,
    title_of,
)
from schemas.registry import get_registry

# Controls.
TEXT, TEXTAREA, INTEGER, NUMBER = "text", "textarea", "integer", "number"
RADIOS, SELECT, CHECKBOXES, LINES, YES_NO = "radios", "select", "checkboxes", "lines", "yes_no"
DATE, DATETIME, GROUP, REPEAT = "date", "datetime", "group", "repeat"

# Required marks: required wherever the form is filled in, or only once the
# optional part around it is (a protective order needs its kind).
ALWAYS, IN_SECTION = "always", "in_section"

RADIO_LIMIT = 5  # more options than this: a select, quicker to scan than a long column of radios
TEXTAREA_FROM = 500  # a string that may be this long gets a textarea
DEFAULT_MAX_ITEMS = 20
SEP = "__"  # between the members of a field name: "risk__level", "proceedings__0__court"
YES, NO = "yes", "no"
DATE_PARTS = ("day", "month", "year")
DATETIME_PARTS = ("day", "month", "year", "time")


@dataclass
class Node:
    """One member of the schema as a piece of the form."""

    control: str
    key: str
    name: str  # the form field's name (a group's: the prefix of its members)
    title: str
    hint: str
    required: str  # "", ALWAYS or IN_SECTION
    schema: dict
    children: list[Node] = field(default_factory=list)  # GROUP
    items: list[list[Node]] = field(default_factory=list)  # REPEAT: the members of each item
    max_items: int = 0  # REPEAT
    choices: list[tuple[str, str]] = field(default_factory=list)  # RADIOS, SELECT, CHECKBOXES
    item_type: str = "string"  # LINES: what each line is

    def leaves(self):
        if self.control == GROUP:
            for child in self.children:
                yield from child.leaves()
        elif self.control == REPEAT:
            for item in self.items:
                for child in item:
                    yield from child.leaves()
        else:
            yield self


def _types(node: dict) -> set[str]:
    declared = node.get("type")
    return {declared} if isinstance(declared, str) else set(declared or [])


def control_of(node: dict, items: dict | None = None) -> str:
    """The control for a (resolved) schema node; `items`: its resolved `items`."""
    types = _types(node)
    if "enum" in node:
        return RADIOS if len(node["enum"]) <= RADIO_LIMIT else SELECT
    if types == {"object"} or "properties" in node:
        return GROUP
    if types == {"array"}:
        items = items if items is not None else node.get("items", {})
        if "enum" in items:
            return CHECKBOXES
        return REPEAT if _types(items) == {"object"} or "properties" in items else LINES
    if types == {"boolean"}:
        return YES_NO
    if types == {"integer"}:
        return INTEGER
    if types == {"number"}:
        return NUMBER
    if node.get("format") == "date":
        return DATE
    if node.get("format") == "date-time":
        return DATETIME
    if "maxLength" not in node:  # unbounded text, unless a pattern makes it a short code (a country, a time)
        return TEXT if "pattern" in node else TEXTAREA
    return TEXTAREA if node["maxLength"] >= TEXTAREA_FROM else TEXT


def _hint(node: dict, language: str) -> str:
    if language.startswith("pl"):
        return node.get("x-description-pl", "")
    return node.get("description", "")


class _TreeBuilder:
    """The schema as Nodes. How many items an array of objects shows depends
    on the data: every item filled in, and one empty item more."""

    def __init__(self, language: str, data):
        self.language, self.data = language, data

    def members(self, node: dict, resolver, prefix: str, chain_required: bool) -> list[Node]:
        required = required_members(node, resolver)
        result = []
        for key, (sub, sub_resolver) in declared_properties(node, resolver).items():
            sub, sub_resolver = resolve_ref(sub, sub_resolver)
            is_required = key in required
            mark = (ALWAYS if chain_required else IN_SECTION) if is_required else ""
            result.append(self.node(sub, sub_resolver, key, f"{prefix}{key}", mark, chain_required and is_required))
        return result

    def node(self, schema: dict, resolver, key: str, name: str, mark: str, chain_required: bool) -> Node:
        items, items_resolver = resolve_ref(schema.get("items", {}), resolver)
        control = control_of(schema, items)
        built = Node(control, key, name, title_of(schema, key, self.language), _hint(schema, self.language), mark, schema)
        if control == GROUP:
            built.children = self.members(schema, resolver, f"{name}{SEP}", chain_required)
        elif control == REPEAT:
            built.max_items = schema.get("maxItems", DEFAULT_MAX_ITEMS)
            built.items = [
                self.members(items, items_resolver, f"{name}{SEP}{index}{SEP}", False)
                for index in range(self.item_count(name, built.max_items))
            ]
        elif control in (RADIOS, SELECT):
            built.choices = [(code, enum_label(schema, code, self.language)) for code in schema["enum"]]
        elif control == CHECKBOXES:
            built.choices = [(code, enum_label(items, code, self.language)) for code in items["enum"]]
        elif control == LINES:
            built.item_type = next(iter(_types(items) & {"integer", "number"}), "string")
        return built

    def item_count(self, name: str, max_items: int) -> int:
        filled = {
            int(rest.split(SEP, 1)[0])
            for key, values in self.data.lists()
            if key.startswith(f"{name}{SEP}") and any(str(v).strip() for v in values)
            for rest in [key[len(name) + len(SEP):]]
            if rest.split(SEP, 1)[0].isdigit()
        }
        return max(1, min(max_items, (max(filled) + 2) if filled else 1))


# --- fields ---------------------------------------------------------------------------


class DatePartsWidget(forms.Widget):
    """The GOV.UK date input's three boxes, `<name>-day` etc.; the value is a dict."""

    parts = DATE_PARTS

    def value_from_datadict(self, data, files, name):
        return {part: (data.get(f"{name}-{part}") or "").strip() for part in self.parts}

    def value_omitted_from_data(self, data, files, name):
        return not any(f"{name}-{part}" in data for part in self.parts)

    def id_for_label(self, id_):
        # The error summary links to the first box.
        return f"{id_}-day" if id_ else id_


class DateTimePartsWidget(DatePartsWidget):
    parts = DATETIME_PARTS


def _date_of(parts: dict, title: str) -> date:
    missing = [part for part in DATE_PARTS if not parts.get(part)]
    if len(missing) == len(DATE_PARTS):
        raise ValidationError(_("Enter a date for “%(title)s”") % {"title": title})
    if missing:
        names = {"day": _("a day"), "month": _("a month"), "year": _("a year")}
        raise ValidationError(
            _("“%(title)s” must include %(parts)s") % {"title": title, "parts": _(" and ").join(names[p] for p in missing)}
        )
    try:
        day, month, year = (int(parts[p]) for p in DATE_PARTS)
        if len(parts["year"]) != 4:
            raise ValueError
        return date(year, month, day)
    except ValueError:
        raise ValidationError(_("“%(title)s” must be a real date, for example 27 3 2007") % {"title": title}) from None


class DatePartsField(forms.Field):
    widget = DatePartsWidget

    def __init__(self, *, title: str, **kwargs):
        self.title = title
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        if not isinstance(value, dict) or not any(value.values()):
            return None
        return _date_of(value, self.title).isoformat()


class DateTimePartsField(DatePartsField):
    """A date and a local time (HH:MM) in the pages' time zone, as RFC 3339
    with its offset: what the schemas' `date-time` format asks for."""

    widget = DateTimePartsWidget

    def to_python(self, value):
        if not isinstance(value, dict) or not any(value.values()):
            return None
        day = _date_of(value, self.title)
        time_text = value.get("time", "").replace(".", ":")
        try:
            hour, minute = (int(piece) for piece in time_text.split(":"))
            local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(settings.PAGES_TIME_ZONE))
        except ValueError:
            raise ValidationError(_("“%(title)s” needs a time, like 14:30") % {"title": self.title}) from None
        return local.isoformat()


class LinesField(forms.CharField):
    """One item per line; blank lines are ignored."""

    def __init__(self, *, title: str, item_type: str, **kwargs):
        self.title, self.item_type = title, item_type
        super().__init__(required=False, widget=forms.Textarea, **kwargs)

    def to_python(self, value):
        lines = [line.strip() for line in (super().to_python(value) or "").splitlines() if line.strip()]
        if self.item_type == "string":
            return lines
        try:
            return [_number(line, self.item_type) for line in lines]
        except ValueError:
            message = _("“%(title)s”: enter one whole number per line") if self.item_type == "integer" else _(
                "“%(title)s”: enter one number per line"
            )
            raise ValidationError(message % {"title": self.title}) from None


def _number(text: str, kind: str):
    if kind == "integer":
        return int(text)
    number = float(text.replace(" ", "").replace(",", "."))  # 1 250,50 as written in Poland
    if not math.isfinite(number):
        raise ValueError
    return int(number) if number.is_integer() else number


class NumberField(forms.CharField):
    def __init__(self, *, title: str, kind: str, **kwargs):
        self.title, self.kind = title, kind
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        try:
            return _number(text, self.kind)
        except ValueError:
            message = _("“%(title)s” must be a whole number, like 3") if self.kind == "integer" else _(
                "“%(title)s” must be a number, like 1250,50"
            )
            raise ValidationError(message % {"title": self.title}) from None


def django_field(node: Node) -> forms.Field:
    title = node.title
    invalid_choice = {"invalid_choice": _("Choose one of the answers for “%(title)s”") % {"title": title}}
    if node.control in (RADIOS, SELECT):
        return forms.ChoiceField(required=False, choices=[("", ""), *node.choices], error_messages=invalid_choice, label=title)
    if node.control == CHECKBOXES:
        return forms.MultipleChoiceField(required=False, choices=node.choices, error_messages=invalid_choice, label=title)
    if node.control == YES_NO:
        return forms.ChoiceField(required=False, choices=[("", ""), (YES, YES), (NO, NO)], error_messages=invalid_choice, label=title)
    if node.control == DATE:
        return DatePartsField(title=title, label=title)
    if node.control == DATETIME:
        return DateTimePartsField(title=title, label=title)
    if node.control == LINES:
        return LinesField(title=title, item_type=node.item_type, label=title)
    if node.control in (INTEGER, NUMBER):
        return NumberField(title=title, kind=node.control, label=title)
    widget = forms.Textarea if node.control == TEXTAREA else forms.TextInput
    # strip: a field of spaces is an empty field, left out of the document.
    return forms.CharField(required=False, strip=True, widget=widget, label=title)


# --- the form ---------------------------------------------------------------------------


class SchemaForm(forms.Form):
    """A form for documents of schema `schema_name` in `language`. Bind it to
    POST data (or `data_from_document(...)`), then call `document()`: the
    document, or None with the errors on the fields (`error_list()` for the
    GOV.UK error summary). Never shows errors before `document()` was called."""

    def __init__(self, schema_name: str, *, language: str, data=None, **kwargs):
        data = data if data is None or isinstance(data, MultiValueDict) else MultiValueDict(
            {k: v if isinstance(v, list) else [v] for k, v in data.items()}
        )
        super().__init__(data=data, auto_id="%s", **kwargs)
        self.schema_name, self.language = schema_name, language
        schema, resolver = schema_root(schema_name)
        builder = _TreeBuilder(language, data if data is not None else MultiValueDict())
        self.tree = builder.members(schema, resolver, "", True)
        self.nodes = {leaf.name: leaf for node in self.tree for leaf in node.leaves()}
        for name, leaf in self.nodes.items():
            self.fields[name] = django_field(leaf)
        self.checked = False
        self._slots: dict[str, list[int]] = {}

    # -- from the form to the document --

    def document(self) -> dict | None:
        """The document (empty members left out), or None when it is invalid:
        the field errors then carry what to fix."""
        self.checked = True
        self.is_valid()  # field-level: numbers, dates, choices
        document = self._collect(self.tree, self.cleaned_data)
        for problem in get_registry().validate(self.schema_name, document):
            name = self._field_for(problem.pointer)
            if name is None:
                self.add_error(None, _("The form could not be checked: %(detail)s") % {"detail": problem.detail})
            elif name not in self.errors:  # a field already wrong says so once
                self.add_error(name, problem_message(self.nodes[name], problem))
        return None if self.errors else document

    def _collect(self, nodes: list[Node], cleaned: dict) -> dict:
        document = {}
        for node in nodes:
            if node.control == GROUP:
                value = self._collect(node.children, cleaned)
            elif node.control == REPEAT:
                values = [(slot, self._collect(item, cleaned)) for slot, item in enumerate(node.items)]
                values = [(slot, value) for slot, value in values if value]
                self._slots[node.name] = [slot for slot, _ in values]
                value = [value for _, value in values]
            else:
                value = self._leaf_value(node, cleaned.get(node.name))
            if value not in (None, "", [], {}):
                document[node.key] = value
        return document

    @staticmethod
    def _leaf_value(node: Node, value):
        if node.control == YES_NO:
            return {YES: True, NO: False}.get(value)
        if node.control == CHECKBOXES and value:
            order = [code for code, _ in node.choices]
            return sorted(value, key=order.index)
        return value

    def _field_for(self, pointer: str) -> str | None:
        """The field a problem's JSON pointer points into: the member itself,
        the first field of a group, or the list a bad item belongs to."""
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
        nodes = self.tree
        while tokens:
            node = next((n for n in nodes if n.key == tokens[0]), None)
            if node is None:
                return None
            tokens = tokens[1:]
            if node.control == GROUP:
                nodes = node.children
            elif node.control == REPEAT:
                if not tokens or not tokens[0].isdigit():
                    return next((leaf.name for leaf in node.leaves()), None)
                index, slots = int(tokens[0]), self._slots.get(node.name, [])
                slot = slots[index] if index < len(slots) else index
                if slot >= len(node.items):
                    return None
                nodes, tokens = node.items[slot], tokens[1:]
            else:
                return node.name
            if not tokens:
                return next((leaf.name for n in nodes for leaf in n.leaves()), None)
        return None

    # -- what the template and the error summary need --

    def error_list(self) -> list[dict]:
        """The GOV.UK error summary's items, in the order of the form."""
        if not self.checked:
            return []
        items = [{"href": "", "text": str(error)} for error in self.non_field_errors()]
        for name in self.fields:
            for error in self.errors.get(name, []):
                items.append({"href": f"#{self[name].id_for_label}", "text": str(error)})
        return items

    def layout(self) -> list[dict]:
        return [self._layout(node, 1) for node in self.tree]

    def _layout(self, node: Node, level: int) -> dict:
        base = {"control": node.control, "id": node.name, "title": node.title, "hint": node.hint, "required": node.required}
        if node.control == GROUP:
            return {**base, "level": level, "children": [self._layout(child, level + 1) for child in node.children]}
        if node.control == REPEAT:
            items = [
                {"title": f"{node.title} ({index})", "id": f"{node.name}{SEP}{index - 1}",
                 "children": [self._layout(child, level + 2) for child in item]}
                for index, item in enumerate(node.items, start=1)
            ]
            return {**base, "level": level, "items": items, "can_add": len(node.items) < node.max_items}
        result = {**base, **self._field_layout(node)}
        result["hint"] = " ".join(part for part in (node.hint, result.pop("extra_hint", "")) if part)
        described = [f"{node.name}-hint" if result["hint"] else "", f"{node.name}-error" if result["error"] else ""]
        result["describedby"] = " ".join(part for part in described if part)
        return result

    def _field_layout(self, node: Node) -> dict:
        bound = self[node.name]
        errors = bound.errors if self.checked else []
        value = bound.value()
        result = {"name": node.name, "error": " ".join(str(e) for e in errors), "value": value}
        if node.control in (RADIOS, SELECT, CHECKBOXES, YES_NO):
            result.update(self._options(node, value))
        elif node.control in (DATE, DATETIME):
            value = value if isinstance(value, dict) else {}
            labels = {"day": _("Day"), "month": _("Month"), "year": _("Year"), "time": _("Time (HH:MM)")}
            widths = {"day": 2, "month": 2, "year": 4, "time": 5}
            result["parts"] = [
                {"id": f"{node.name}-{part}", "name": f"{node.name}-{part}", "label": labels[part],
                 "value": value.get(part, ""), "width": widths[part]}
                for part in (DATETIME_PARTS if node.control == DATETIME else DATE_PARTS)
            ]
            result["extra_hint"] = _("For example, 27 3 2026 14:30") if node.control == DATETIME else _("For example, 27 3 2007")
        elif node.control in (INTEGER, NUMBER):
            maximum = node.schema.get("maximum")
            result["width"] = 4 if maximum is not None and maximum < 10_000 else 10
            result["inputmode"] = "numeric" if node.control == INTEGER else "decimal"
        elif node.control == LINES:
            result["extra_hint"] = _("One per line.")
        elif node.control == TEXT:
            result["type"] = "email" if node.schema.get("format") == "email" else "text"
            result["width"] = _text_width(node.schema.get("maxLength", 16 if "pattern" in node.schema else None))
            # Codes and numbers (PESEL, postal codes, language tags) are not spell-checked.
            result["spellcheck"] = "pattern" not in node.schema and "format" not in node.schema
        return result

    @staticmethod
    def _options(node: Node, value) -> dict:
        choices = node.choices if node.control != YES_NO else [(YES, _("Yes")), (NO, _("No"))]
        chosen = set(value or []) if node.control == CHECKBOXES else {value or ""}
        return {
            "options": [
                {"value": code, "label": label, "checked": code in chosen,
                 "id": node.name if index == 0 else f"{node.name}-{index + 1}"}
                for index, (code, label) in enumerate(choices)
            ],
            # An optional question answered by mistake can be un-answered without JavaScript.
            "clearable": node.control in (RADIOS, YES_NO) and node.required != ALWAYS,
            "clear_id": f"{node.name}-none",
            "cleared": not value,
        }


def _text_width(max_length) -> int | None:
    if max_length is None or max_length > 100:
        return None
    return 10 if max_length <= 16 else 20 if max_length <= 40 else 30


# --- problems, worded for people --------------------------------------------------------


def problem_message(node: Node, problem) -> str:
    """What to fix, for a field, in the page's language. The registry's
    `detail` is for API clients; unknown codes fall back to it."""
    title, schema, code = node.title, node.schema, problem.code
    values = {"title": title}
    if code == "required":
        if node.control in (RADIOS, SELECT, CHECKBOXES, YES_NO):
            return _("Choose an answer for “%(title)s”") % values
        return _("Enter “%(title)s”") % values
    if code == "maxLength":
        n = schema.get("maxLength")
        return ngettext("“%(title)s” must be %(n)s character or fewer", "“%(title)s” must be %(n)s characters or fewer", n) % {**values, "n": n}
    if code == "minLength":
        n = schema.get("minLength")
        return ngettext("“%(title)s” must be at least %(n)s character", "“%(title)s” must be at least %(n)s characters", n) % {**values, "n": n}
    if code in ("minimum", "maximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return _("“%(title)s” must be between %(low)s and %(high)s") % {**values, "low": low, "high": high}
        if low is not None:
            return _("“%(title)s” must be %(low)s or more") % {**values, "low": low}
        return _("“%(title)s” must be %(high)s or less") % {**values, "high": high}
    if code == "maxItems":
        n = schema.get("maxItems")
        return ngettext("“%(title)s”: give at most %(n)s item", "“%(title)s”: give at most %(n)s items", n) % {**values, "n": n}
    if code == "minItems":
        n = schema.get("minItems")
        return ngettext("“%(title)s”: give at least %(n)s item", "“%(title)s”: give at least %(n)s items", n) % {**values, "n": n}
    if code == "uniqueItems":
        return _("“%(title)s” lists the same item twice") % values
    if code == "pattern":
        return _("“%(title)s” is not in the expected form") % values
    if code == "format":
        return _format_message(schema.get("format"), values)
    return _("“%(title)s”: %(detail)s") % {**values, "detail": problem.detail}


def _format_message(format_name: str | None, values: dict) -> str:
    if format_name == "pesel":
        return _("“%(title)s” is not a valid PESEL number: check the 11 digits") % values
    if format_name in ("email", "idn-email"):
        return _("“%(title)s” must be an e-mail address, like name@example.com") % values
    if format_name in ("date", "date-time"):
        return _("“%(title)s” must be a real date") % values
    return _("“%(title)s” is not in the expected form") % values


# --- from a document to form data -------------------------------------------------------


def data_from_document(schema_name: str, document: dict, *, language: str = "en") -> MultiValueDict:
    """The form data that `SchemaForm(schema_name, data=...)` turns back into
    `document`: to show a stored document for editing, and to test that the
    form and the schema agree."""
    data = MultiValueDict()
    schema, resolver = schema_root(schema_name)
    builder = _TreeBuilder(language, MultiValueDict())
    _fill(data, builder.members(schema, resolver, "", True), document or {})
    return data


def _fill(data: MultiValueDict, nodes: list[Node], document: dict) -> None:
    for node in nodes:
        if node.key not in document:
            continue
        value = document[node.key]
        if node.control == GROUP:
            _fill(data, node.children, value)
        elif node.control == REPEAT:
            # Every item has the members of the first one, renamed for its index.
            first = f"{node.name}{SEP}0{SEP}"
            for index, item in enumerate(value):
                members = [_rename(child, first, f"{node.name}{SEP}{index}{SEP}") for child in node.items[0]]
                _fill(data, members, item)
        else:
            _fill_leaf(data, node, value)


def _rename(node: Node, old: str, new: str) -> Node:
    return Node(**{
        **node.__dict__,
        "name": new + node.name[len(old):],
        "children": [_rename(child, old, new) for child in node.children],
        "items": [[_rename(child, old, new) for child in item] for item in node.items],
    })


def _fill_leaf(data: MultiValueDict, node: Node, value) -> None:
    name = node.name
    if node.control == CHECKBOXES:
        data.setlist(name, [str(v) for v in value])
    elif node.control == YES_NO:
        data[name] = YES if value else NO
    elif node.control == LINES:
        data[name] = "\n".join(str(v) for v in (value if isinstance(value, list) else [value]))
    elif node.control == DATE:
        day = date.fromisoformat(value)
        data.update({f"{name}-day": str(day.day), f"{name}-month": str(day.month), f"{name}-year": str(day.year)})
    elif node.control == DATETIME:
        moment = datetime.fromisoformat(value).astimezone(ZoneInfo(settings.PAGES_TIME_ZONE))
        data.update({
            f"{name}-day": str(moment.day), f"{name}-month": str(moment.month), f"{name}-year": str(moment.year),
            f"{name}-time": moment.strftime("%H:%M"),
        })
    elif isinstance(value, list):  # a member that may be text or a list (referral-base's needs)
        data[name] = "\n".join(str(v) for v in value)
    else:
        data[name] = str(value)
