"""Why HTML documents say `Referrer-Policy: same-origin` where every other
response says no-referrer (hub/security_headers.py), shown in Chromium: a
page without hub/base.html's referrer meta (the admin's) posts its form and
passes the CSRF check; under no-referrer the browser posts `Origin: null`
and the same form is refused."""

from hub import security_headers

from .helpers import browser_login


def admin_logout_status(context, live_server, user) -> tuple[int, str]:
    """Open the admin and press its log-out button (a POST form): the POST's
    status and the Origin the browser sent with it."""
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    browser_login(context, live_server, user)
    page = context.new_page()
    assert page.goto("/admin/").status == 200
    with page.expect_response(lambda response: response.url.endswith("/admin/logout/")) as posted:
        page.locator("#logout-form button").click()
    status, origin = posted.value.status, posted.value.request.header_value("origin")
    page.wait_for_load_state("networkidle")
    page.close()
    return status, origin


def test_a_page_without_the_hubs_meta_posts_its_form(live_world, context, live_server):
    status, origin = admin_logout_status(context, live_server, live_world.mops_worker)

    assert (status, origin) == (302, live_server.url)  # logged out, sent on to the home page


def test_under_no_referrer_the_same_form_would_be_refused(live_world, context, live_server, monkeypatch):
    monkeypatch.setattr(security_headers, "DOCUMENT_REFERRER_POLICY", "no-referrer")

    status, origin = admin_logout_status(context, live_server, live_world.mops_worker)

    assert (status, origin) == (403, "null")
    context.console_errors.clear()  # the refused POST's page
