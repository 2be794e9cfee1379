"""Pagination of worklists as GOV.UK Frontend's pagination component shows it."""

from django.core.paginator import Page, Paginator


def page_of(request, items, per_page: int) -> Page:
    """The requested page (?page=N); out-of-range or malformed numbers give the
    nearest valid page rather than an error."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def _url(request, number: int) -> str:
    query = request.GET.copy()
    query["page"] = str(number)
    return f"?{query.urlencode()}"


def pagination(request, page: Page) -> dict | None:
    """Previous/next links and numbered items with ellipses (first, last, and
    one either side of the current page); None for a single page."""
    paginator = page.paginator
    if paginator.num_pages <= 1:
        return None
    wanted = {1, paginator.num_pages, page.number - 1, page.number, page.number + 1}
    numbers = sorted(n for n in wanted if 1 <= n <= paginator.num_pages)
    items, previous = [], 0
    for number in numbers:
        if number - previous > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "url": _url(request, number), "current": number == page.number})
        previous = number
    return {
        "previous": _url(request, page.previous_page_number()) if page.has_previous() else None,
        "next": _url(request, page.next_page_number()) if page.has_next() else None,
        "items": items,
    }
