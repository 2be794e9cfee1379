from rest_framework import serializers


class InputSerializer(serializers.Serializer):
    """Base for request bodies: a JSON object whose every member is a declared
    field. Unknown members are errors, each at its own JSON pointer, so a typo
    in a field name is never silently ignored."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": [f"Expected a JSON object, got {type(data).__name__}."]}
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)
