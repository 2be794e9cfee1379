"""OpenAPI: what every operation documents beyond its own serializers.

- its problem+json error responses (RFC 9457), each status it can answer;
- the headers of the API's conventions: `Idempotency-Key` on creating POSTs
  (and `Idempotent-Replayed` on a replay), `If-Match` on changes of state
  (and 428 when it is required), `ETag` where a response carries one;
  `Accept-Language` on every operation and `Content-Language` on every
  response (hub/api/language.py);
- only the operation's own description: a docstring inherited from a helper
  class or mixin ("Mix into an APIView ...") is not a description of the
  operation and is never published;
- OpenAPI links (`add_links`, a postprocessing hook): which answer names the
  id that another operation's path takes.
"""

import inspect
import re

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, build_object_type
from drf_spectacular.utils import OpenApiParameter

from .errors import PROBLEM_CONTENT_TYPE
from .idempotency import HEADER as IDEMPOTENCY_HEADER
from .idempotency import REPLAYED_HEADER, IdempotentCreateMixin
from .language import API_DEFAULT_LANGUAGE
from .preconditions import IF_MATCH_HEADER

_PROBLEM_SCHEMA = build_object_type(
    description=(
        "RFC 9457 problem details. `code` is stable (match on it, not on the text); `title`, "
        "`detail` and each `errors[].detail` say what to do, in Polish or English as the request's "
        "Accept-Language asks (Content-Language says which); codes, pointers and allowed values are "
        "the same in both. Further members depend on the code (e.g. `current_status` "
        "and `allowed` on an illegal transition, `current_etag` on 412)."
    ),
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
                "Each problem found: `pointer` is an RFC 6901 JSON pointer into the request "
                "body, `parameter` names a query parameter, `header` a request header."
            ),
            "items": build_object_type(
                properties={
                    "pointer": {"type": "string"},
                    "parameter": {"type": "string"},
                    "header": {"type": "string"},
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
    "400": "Malformed request: unparseable JSON, a malformed header (e.g. an unquoted If-Match) or query.",
    "401": (
        "No valid access token. `detail` and the WWW-Authenticate header (RFC 6750 §3) say whether "
        "it is missing, unknown (mistyped or revoked) or expired."
    ),
    "403": "The token lacks a required scope (`required_scopes` lists them).",
    "404": "No such object, or not visible to the calling agency.",
    "405": "Method not allowed.",
    "406": "Cannot answer in a media type the Accept header allows (send application/json).",
    "415": "Unsupported media type: send application/json.",
    "422": "Validation failed; `errors` lists each problem with its JSON pointer or query parameter.",
    "429": "Too many requests; see Retry-After.",
}
_WRITE_ERRORS = {
    "409": "Conflict with the current state (`allowed` lists what is possible) or a reused Idempotency-Key.",
    "412": "If-Match no longer matches: read the resource again (`current_etag` is its ETag now).",
    "413": "The request body is larger than the limit.",
}
# Issue 12: an operation on a person's records (a path with an id, or a write,
# which seals her data) may meet her erasure.
_GONE = {
    "410": (
        "The person's data was erased (`subject_erased`), or this record's content at the end of its "
        "retention period (`content_erased`): only metadata remains."
    ),
}
_PRECONDITION_REQUIRED = {
    "428": "If-Match is missing: send the ETag you read (RFC 6585 §3), or * to act whatever the state.",
}

# --- Headers of every operation ----------------------------------------------------------

_LANGUAGES = ["en", "pl"]
ACCEPT_LANGUAGE = OpenApiParameter(
    "Accept-Language", str, location=OpenApiParameter.HEADER, required=False,
    description=(
        "The language of the text for people in the answer (a problem's `title`, `detail` and "
        "`errors[].detail`): Polish when the first language you list that the hub speaks is Polish "
        "(`pl`, `pl-PL`; q-values count), else English, also without the header. Codes, pointers and "
        "allowed values never change. The language cookie and `?lang=` of the staff pages do not apply."
    ),
)
_CONTENT_LANGUAGE_DESCRIPTION = (
    f"The language of the answer's text: `pl` or `{API_DEFAULT_LANGUAGE}` (from Accept-Language; the "
    "answer varies on it)."
)
CONTENT_LANGUAGE = OpenApiParameter(
    "Content-Language", str, location=OpenApiParameter.HEADER, response=True, required=True, enum=_LANGUAGES,
    description=_CONTENT_LANGUAGE_DESCRIPTION,
)
_CONTENT_LANGUAGE_HEADER = {
    "Content-Language": {
        "schema": {"type": "string", "enum": _LANGUAGES}, "required": True,
        "description": _CONTENT_LANGUAGE_DESCRIPTION,
    },
}

# --- Header parameters the views declare --------------------------------------------------

IF_MATCH = OpenApiParameter(
    IF_MATCH_HEADER, str, location=OpenApiParameter.HEADER, required=True,
    description=(
        'The ETag you last read, quoted as sent (e.g. `"3f0c…-2"`), or `*`. Missing: 428. '
        "Not quoted: 400. No longer current: 412 (read the resource again)."
    ),
)
IF_MATCH_OPTIONAL = OpenApiParameter(
    IF_MATCH_HEADER, str, location=OpenApiParameter.HEADER, required=False,
    description="Optional: the ETag you last read; the change is refused (412) if it changed since. Not quoted: 400.",
)


def etag_header(*codes: int) -> OpenApiParameter:
    """The ETag response header (RFC 9110 §8.8.3) on these status codes."""
    return OpenApiParameter(
        "ETag", str, location=OpenApiParameter.HEADER, response=list(codes) or [200],
        description="The resource's entity-tag: send it as If-Match to change the resource.",
    )


def location_header(*codes: int) -> OpenApiParameter:
    return OpenApiParameter(
        "Location", str, location=OpenApiParameter.HEADER, response=list(codes) or [201],
        description="The URL of the created resource.",
    )


_IDEMPOTENCY_KEY = OpenApiParameter(
    IDEMPOTENCY_HEADER, str, location=OpenApiParameter.HEADER, required=False,
    description=(
        "Any unique string (1-255 printable characters, e.g. a UUID). Retrying with the same key and "
        "body answers the first response again (with Idempotent-Replayed: true) instead of creating "
        "twice; the same key with another body is a 409. Remembered for IDEMPOTENCY_KEY_TTL_HOURS (24 h)."
    ),
)
_IDEMPOTENT_REPLAYED = OpenApiParameter(
    REPLAYED_HEADER, str, location=OpenApiParameter.HEADER, response=[200, 201], enum=["true"],
    description="Present when this is the stored response of an earlier request with the same Idempotency-Key.",
)


def own_doc(obj) -> str:
    """The docstring `obj` itself defines, never one it inherits."""
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if doc else ""


class ProblemAutoSchema(AutoSchema):
    def get_description(self):
        method = getattr(self.view, getattr(self.view, "action", self.method.lower()), None)
        return own_doc(method) or own_doc(self.view.__class__)

    def _map_basic_serializer(self, serializer, direction):
        # A component is described by its serializer's own docstring only: the
        # base of every request body ("Base for request bodies...") describes
        # InputSerializer, not the body.
        schema = super()._map_basic_serializer(serializer, direction)
        description = own_doc(serializer if inspect.isclass(serializer) else type(serializer))
        if description:
            schema["description"] = description
        else:
            schema.pop("description", None)
        return schema

    def get_override_parameters(self):
        parameters = [*super().get_override_parameters(), ACCEPT_LANGUAGE, CONTENT_LANGUAGE]
        if self.method == "POST" and isinstance(self.view, IdempotentCreateMixin):
            parameters += [_IDEMPOTENCY_KEY, _IDEMPOTENT_REPLAYED]
        return parameters

    def _requires_if_match(self) -> bool:
        return any(
            isinstance(p, OpenApiParameter) and p.name == IF_MATCH_HEADER and p.required and not p.response
            for p in self.get_override_parameters()
        )

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        component = ResolvedComponent(name="Problem", type=ResolvedComponent.SCHEMA, object="Problem", schema=_PROBLEM_SCHEMA)
        self.registry.register_on_missing(component)
        errors = dict(_ERRORS)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            errors.update(_WRITE_ERRORS)
        if self.method != "GET" or "{" in self.path:
            errors.update(_GONE)
        if self._requires_if_match():
            errors.update(_PRECONDITION_REQUIRED)
        for code, description in errors.items():
            responses.setdefault(
                code,
                {
                    "description": description,
                    "headers": dict(_CONTENT_LANGUAGE_HEADER),
                    "content": {PROBLEM_CONTENT_TYPE: {"schema": component.ref}},
                },
            )
        return responses


# --- Links (OpenAPI 3.0.3 §4.7.20) ------------------------------------------------------

_PATH_PARAMETER = re.compile(r"/([^/{}]+)/\{(\w+)\}")
# A ledger entry is not created on its own: a create of the consent ledger
# writes one and answers it as `ledger_entry`.
_ANSWERED_BESIDE = {"entry_id": "ledger_entry"}


def add_links(result, generator, request, public):
    """drf-spectacular postprocessing hook: link every answer that names an
    object to the operations whose path takes that object's id, so that a
    client (and schemathesis' stateful tests) can follow create -> read ->
    change without guessing. Only `links` are added; paths, parameters and
    bodies are untouched.

    The id in `/.../<segment>/{param}` comes from the POST to a path ending
    in `/<segment>/` or `/<segment>` (its `id`, or the member named like the parameter:
    `{agency_id}` is a team member's `agency`), from the first item of the
    list a GET of such a path answers, and for `{entry_id}` from the
    `ledger_entry` a consent-ledger create answers. The target's other path
    parameters that the producer's path has too are passed on."""
    schemas = result.get("components", {}).get("schemas", {})
    operations = [
        (path, method, operation)
        for path, item in result["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    for target_path, _, target in operations:
        for found, parameter in _PATH_PARAMETER.findall(target_path):
            for segment in _segments(found, parameter, result["paths"]):
                for path, method, producer in operations:
                    for code, response in producer["responses"].items():
                        pointer = _id_pointer(path, method, code, response, segment, parameter, schemas)
                        if pointer is not None:
                            _link(response, target, target_path, path, parameter, pointer)
    return result


def _segments(segment: str, parameter: str, paths) -> set[str]:
    """The segments whose collection gives `parameter`: `segment` itself, and
    where no path is its collection (FHIR's `fhir/Task/{referral_id}`, issue
    14) every segment the same parameter follows elsewhere: `{referral_id}`
    is the id of what `referrals/` creates and lists."""
    if any(path.rstrip("/").endswith(f"/{segment}") for path in paths):
        return {segment}
    return {segment} | {s for path in paths for s, p in _PATH_PARAMETER.findall(path) if p == parameter}


def _id_pointer(path, method, code, response, segment, parameter, schemas) -> str | None:
    """The JSON pointer of the id this answer gives `parameter`, or None."""
    if not code.startswith("2"):
        return None
    body = _resolve(response.get("content", {}).get("application/json", {}).get("schema", {}), schemas)
    members = body.get("properties", {})
    # A collection's path ends in a slash (`referrals/`), or not where the
    # contract writes it so (`directory/services`, DESIGN.md 6.2).
    if method == "post" and path.rstrip("/").endswith(f"/{segment}"):
        for member in ("id", parameter.removesuffix("_id")):
            if member in members:
                return f"/{member}"
    if method == "get" and path.endswith(f"/{segment}/") and "results" in members:
        items = _resolve(members["results"].get("items", {}), schemas).get("properties", {})
        for member in ("id", parameter.removesuffix("_id")):
            if member in items:
                return f"/results/0/{member}"
    beside = _ANSWERED_BESIDE.get(parameter)
    if method == "post" and beside in members:
        return f"/{beside}/id"
    return None


def _resolve(schema: dict, schemas: dict) -> dict:
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _link(response, target, target_path, producer_path, parameter, pointer) -> None:
    """Add (or extend) the link from `response` to `target` with `parameter`
    at `pointer`, passing on the path parameters both operations have."""
    link = response.setdefault("links", {}).setdefault(
        target["operationId"], {"operationId": target["operationId"], "parameters": {}},
    )
    link["parameters"][parameter] = f"$response.body#{pointer}"
    for _, shared in _PATH_PARAMETER.findall(producer_path):
        if shared != parameter and f"{{{shared}}}" in target_path:
            link["parameters"].setdefault(shared, f"$request.path.{shared}")
