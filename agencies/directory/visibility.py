"""Who may see where a service is (issue 14, item 1).

A confidential location (a shelter's address, a safe house) is known only to
the agency that runs it: its own people see the whole location; every other
agency, and every export, sees the gmina it is in (its TERYT code) and
nothing that could lead someone to the door: no address, no postal code, no
city, and not the location's own name (which often is an address). Every
response that shows a location builds it through `location_fields`.
"""

from ..models import Agency, DirectoryLocation

ADDRESS_FIELDS = ("name", "address_1", "city", "postal_code")


def address_visible(location: DirectoryLocation, agency: Agency | None) -> bool:
    """True when `agency` may see the location's name and address."""
    return not location.confidential or (agency is not None and location.agency_id == agency.pk)


def location_fields(location: DirectoryLocation, agency: Agency | None) -> dict:
    """The location as `agency` may see it: id, teryt, confidential, and the
    name and address fields only where `address_visible`; otherwise those
    are None."""
    shown = address_visible(location, agency)
    fields = {"id": location.id, "teryt": location.teryt, "confidential": location.confidential}
    for name in ADDRESS_FIELDS:
        fields[name] = getattr(location, name) if shown else None
    return fields
