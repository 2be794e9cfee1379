"""Conditional changes of state: `If-Match` (RFC 9110 §13.1.1).

Every endpoint that changes the state of a resource a client read first (a
transition, a stage, a step) calls `require_if_match(request)`: without the
header it answers 428 Precondition Required (RFC 6585 §3), so that a client
never overwrites a change it has not seen by forgetting a header. The value
is checked for entity-tag syntax here, once, for every endpoint: a malformed
header is a 400, never a 412 that would send the client to read again for
nothing. Services compare the tag with the resource's current ETag (strong
comparison, RFC 9110 §8.8.3.2: a weak tag never matches) and answer 412.
"""

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from rest_framework import status

from .errors import ApplicationError

IF_MATCH_HEADER = "If-Match"

PRECONDITION_REQUIRED = "precondition_required"
MALFORMED_IF_MATCH = "malformed_if_match"

# entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text
_ENTITY_TAG = r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"'
_ONE_TAG = re.compile(rf"^{_ENTITY_TAG}$")
_TAG_LIST = re.compile(rf"^{_ENTITY_TAG}(?:[ \t]*,[ \t]*{_ENTITY_TAG})+$")

_HOW = gettext_lazy('Send the ETag exactly as the resource answered it, in double quotes (e.g. "3f0c…-2"), or *.')
# What `require_if_match(what=...)` names, as the message needs it ("the ETag of
# the referral"): the Polish genitive differs per resource, hence a context.
_WHAT = {
    "referral": pgettext_lazy("the ETag of ...", "the referral"),
    "plan": pgettext_lazy("the ETag of ...", "the plan"),
    "action": pgettext_lazy("the ETag of ...", "the action"),
    "procedure": pgettext_lazy("the ETag of ...", "the procedure"),
    "placement": pgettext_lazy("the ETag of ...", "the placement"),
    "resource": pgettext_lazy("the ETag of ...", "the resource"),
}


class PreconditionRequired(ApplicationError):
    code = PRECONDITION_REQUIRED
    status = status.HTTP_428_PRECONDITION_REQUIRED
    title = gettext_lazy("This change needs If-Match.")


class MalformedIfMatch(ApplicationError):
    code = MALFORMED_IF_MATCH
    status = status.HTTP_400_BAD_REQUEST
    title = gettext_lazy("Malformed If-Match.")


def require_if_match(request, *, what: str = "resource") -> str:
    """The request's If-Match value; 428 when it is missing, 400 when malformed.
    `what` is one of the keys of `_WHAT`."""
    value = optional_if_match(request)
    if value is None:
        raise PreconditionRequired(
            _(
                "This change needs If-Match: send the ETag of %(what)s as you last read it (the ETag header "
                "of its GET, or of the answer to your last change), or * to change it whatever its state."
            ) % {"what": _WHAT[what]},
            errors=[{"header": IF_MATCH_HEADER, "detail": _("Required. %(how)s") % {"how": _HOW}}],
        )
    return value


def optional_if_match(request) -> str | None:
    """The request's If-Match value, or None without one; 400 when malformed."""
    raw = request.headers.get(IF_MATCH_HEADER)
    if raw is None:
        return None
    value = raw.strip(" \t")
    if value == "*" or _ONE_TAG.match(value):
        return value
    if _TAG_LIST.match(value):
        # Valid HTTP, but each resource has one current ETag: a list would be
        # compared as one string and always fail, so say so instead.
        raise MalformedIfMatch(
            _("Send one entity-tag in If-Match, not a list."),
            errors=[{"header": IF_MATCH_HEADER, "detail": str(_HOW)}],
        )
    raise MalformedIfMatch(
        _("Malformed If-Match: an entity-tag is quoted (RFC 9110 §8.8.3)."),
        errors=[{"header": IF_MATCH_HEADER, "detail": str(_HOW)}],
    )
