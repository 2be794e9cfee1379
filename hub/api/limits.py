"""Refuse oversized request bodies before anything reads them."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from .errors import PROBLEM_CONTENT_TYPE, problem

PAYLOAD_TOO_LARGE = "payload_too_large"


class BodySizeLimitMiddleware:
    """413 problem+json when Content-Length exceeds API_MAX_BODY_BYTES.

    DRF's JSON parser reads the stream directly, so Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE (checked only on request.body) would not stop
    a huge JSON body; this does, before it is read. A staff page's file upload
    (the scan of a signed consent form: a phone photo is a few MB) may be up to
    PAGES_MAX_UPLOAD_BYTES, and is refused with a page, not JSON.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        upload = request.path.startswith("/app/") and request.content_type == "multipart/form-data"
        if upload and length > settings.PAGES_MAX_UPLOAD_BYTES:
            return render(request, "413.html", {"limit_mb": settings.PAGES_MAX_UPLOAD_BYTES // 1_048_576}, status=413)
        if length > settings.API_MAX_BODY_BYTES and not upload:
            body = problem(
                413, PAYLOAD_TOO_LARGE,
                _("The request body is %(length)s bytes; the limit is %(limit)s.")
                % {"length": length, "limit": settings.API_MAX_BODY_BYTES},
                title=_("The request body is too large."),
                request=request,
            )
            return JsonResponse(body, status=413, content_type=PROBLEM_CONTENT_TYPE)
        return self.get_response(request)
