"""Every read of agencies. The directory is public to any authenticated agency:
it holds only organisations, never people."""

from django.db.models import QuerySet

from .models import Agency


def agency_list(*, kind: str | None = None) -> QuerySet[Agency]:
    agencies = Agency.objects.filter(active=True)
    if kind:
        agencies = agencies.filter(kind=kind)
    return agencies
