from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

# What a body that is not a JSON object was, by its parsed type.
_NOT_AN_OBJECT = {
    list: gettext_lazy("Expected a JSON object, got an array."),
    str: gettext_lazy("Expected a JSON object, got a string."),
    int: gettext_lazy("Expected a JSON object, got a number."),
    float: gettext_lazy("Expected a JSON object, got a number."),
    bool: gettext_lazy("Expected a JSON object, got true or false."),
    type(None): gettext_lazy("Expected a JSON object, got null."),
}


def _allowed(names) -> str:
    return ", ".join(str(name) for name in names)


def unknown_member_detail(name: str, allowed) -> str:
    """What a client reads for a member the schema does not have: which one,
    and what it may send instead (a typo is then one glance to fix)."""
    return _("Unknown member %(name)s. Allowed here: %(allowed)s.") % {"name": repr(name), "allowed": _allowed(allowed)}


class CodeField(serializers.ChoiceField):
    """One code of a closed list: a vocabulary (schemas/vocabularies) or the
    module constant that defines the list. The published schema lists the
    codes as an enum, and a wrong value is answered with the list."""

    def __init__(self, codes, **kwargs):
        super().__init__(choices=list(codes), **kwargs)


class ServiceCheckedCodeField(CodeField):
    """Documented as the enum, but any string is passed on: the service
    checks the code together with everything else it validates, so one 422
    names every wrong member of a request (a referral's unknown service and
    unknown recipient at once), each with the allowed codes."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return data


def _list_choices(field) -> None:
    """An invalid choice names the value and every allowed one."""
    if isinstance(field, serializers.ListField):
        _list_choices(field.child)
    if isinstance(field, serializers.ChoiceField):
        # DRF formats the message with {input}: the codes' own braces are escaped.
        allowed = _allowed(field.choices).replace("{", "{{").replace("}", "}}")
        field.error_messages["invalid_choice"] = _('"{input}" is not a valid choice. One of: %(allowed)s.') % {
            "allowed": allowed
        }


class InputSerializer(serializers.Serializer):
    """Base for request bodies: a JSON object whose every member is a declared
    field. Unknown members are errors, each at its own JSON pointer, naming the
    member and the allowed ones, so a typo in a field name is never silently
    ignored. A choice that is not allowed is answered with the allowed list."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            _list_choices(field)
        return fields

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": [str(_NOT_AN_OBJECT.get(type(data), _("Expected a JSON object.")))]}
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            allowed = sorted(name for name, field in self.fields.items() if not field.read_only)
            raise serializers.ValidationError(
                {name: [serializers.ErrorDetail(unknown_member_detail(name, allowed), code="unknown_member")] for name in unknown}
            )
        return super().to_internal_value(data)
