"""OpenAPI: every operation documents its problem+json error responses."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, build_object_type

from .errors import PROBLEM_CONTENT_TYPE

_PROBLEM_SCHEMA = build_object_type(
    description="RFC 9457 problem details.",
    properties={
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable machine-readable error code."},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "description": (
                "Validation errors: `pointer` is an RFC 6901 JSON pointer into the request "
                "body, `parameter` names a query parameter."
            ),
            "items": build_object_type(
                properties={
                    "pointer": {"type": "string"},
                    "parameter": {"type": "string"},
                    "detail": {"type": "string"},
                    "code": {"type": "string"},
                },
                required=["detail"],
            ),
        },
    },
    required=["type", "title", "status", "detail"],
)

_ERRORS = {
    "400": "Malformed request (unparseable JSON, bad header).",
    "401": "Missing, expired or revoked access token.",
    "403": "The token lacks a required scope.",
    "404": "No such object, or not visible to the calling agency.",
    "405": "Method not allowed.",
    "415": "Unsupported media type: send application/json.",
    "422": "Validation failed; `errors` lists each problem with its JSON pointer or query parameter.",
    "429": "Too many requests; see Retry-After.",
}
_WRITE_ERRORS = {
    "409": "Conflict with the current state or a reused Idempotency-Key.",
    "412": "If-Match no longer matches: read the resource again.",
    "413": "The request body is larger than the limit.",
}


class ProblemAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        component = ResolvedComponent(name="Problem", type=ResolvedComponent.SCHEMA, object="Problem", schema=_PROBLEM_SCHEMA)
        self.registry.register_on_missing(component)
        errors = dict(_ERRORS)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            errors.update(_WRITE_ERRORS)
        for code, description in errors.items():
            responses.setdefault(
                code,
                {"description": description, "content": {PROBLEM_CONTENT_TYPE: {"schema": component.ref}}},
            )
        return responses
