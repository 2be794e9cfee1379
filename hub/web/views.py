"""The staff pages of the composition root: the home page of each role, the
choice of agency, the account page (backup codes, log out everywhere) and the
session keep-alive. All under /app/: login and second factor required."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agencies.callers import Caller
from agencies.pages import memberships_of, page_membership, page_membership_choose
from hub import otp

from .accounts import SESSION_NEW_BACKUP_CODES, safe_next

# Which parts of the home page each role gets (the menu, hub.web.context, says the same).
REFERRAL_ROLES = ("caseworker", "supervisor")
PLACEMENT_ROLES = ("coordinator", "employer_contact")
TEAM_ROLES = ("caseworker", "supervisor", "coordinator")
DPO_ROLES = ("dpo", "supervisor")


@require_GET
def app_home(request):
    """Each role lands on its own home (DESIGN.md 7): what waits for it, counted
    (metadata only), and the way to each of its pages."""
    membership = page_membership(request)
    if membership is None:
        return render(request, "hub/app/no_agency.html", status=403)
    role = membership.role
    context = {"membership": membership, "role": role, "referrals": role in REFERRAL_ROLES,
               "placements": role in PLACEMENT_ROLES, "teams": role in TEAM_ROLES, "dpo": role in DPO_ROLES}
    # The composition root knows every app.
    if context["referrals"]:
        from referrals.pages import inbox_counts

        context["counts"] = inbox_counts(membership.agency)
    if context["placements"]:
        from referrals.placements.lifecycle import PROPOSED
        from referrals.placements.models import Placement

        context["placements_to_confirm"] = Placement.objects.filter(
            employer=membership.agency, status=PROPOSED
        ).count()
    if context["teams"]:
        from referrals.plans.pages import team_home_counts

        context["team_counts"] = team_home_counts(Caller(agency=membership.agency, user=request.user))
    return render(request, "hub/app/home.html", context)


@require_http_methods(["GET", "POST"])
def agency_choose(request):
    if request.method == "POST":
        if page_membership_choose(request, request.POST.get("agency")) is None:
            raise Http404
        return redirect("app-home")
    return render(request, "hub/app/agency_choose.html", {"memberships": memberships_of(request.user)})


@require_GET
def account(request):
    return render(request, "hub/app/account.html", {"backup_codes_left": otp.backup_codes_left(request.user)})


@require_http_methods(["GET", "POST"])
def backup_codes(request):
    """New backup codes are shown once: right after enrolment, or after the
    user asks for a new set (which voids the old one)."""
    if request.method == "POST":
        request.session[SESSION_NEW_BACKUP_CODES] = otp.backup_codes_issue(request.user)
        return redirect("account-backup-codes")
    codes = request.session.pop(SESSION_NEW_BACKUP_CODES, None)
    if codes is None:
        return redirect("account")
    return render(request, "hub/app/backup_codes.html", {"codes": codes, "next": safe_next(request)})


@require_POST
def session_extend(request):
    """Renew the session (the request itself does, SESSION_SAVE_EVERY_REQUEST);
    answers with the new end for the warning banner, or goes back for a form
    posted without JavaScript."""
    expires_at = timezone.localtime(timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE))
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"expires_at": expires_at.isoformat(),
                             "expires_at_display": formats.time_format(expires_at, "H:i")})
    messages.success(request, _("Your session has been extended."))
    return redirect(safe_next(request))
