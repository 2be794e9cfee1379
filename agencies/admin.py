"""Read-mostly admin: agencies, members, clients and teams are created through
the services (management commands, the API), never by editing rows here.
OAuth2 clients and tokens are django-oauth-toolkit's admin, narrowed to that:
read, and revoke tokens. Every admin write is logged (hub/admin_site.py)."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from oauth2_provider.models import (
    get_access_token_admin_class,
    get_access_token_model,
    get_application_admin_class,
    get_grant_admin_class,
    get_grant_model,
    get_id_token_admin_class,
    get_id_token_model,
    get_refresh_token_admin_class,
    get_refresh_token_model,
)

from .models import (
    Agency,
    AgencyApplication,
    Membership,
    Team,
    TeamMembership,
    TeamMembershipChange,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role", "active", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Agency)
class AgencyAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "sector", "teryt", "active")
    list_filter = ("kind", "sector", "active")
    search_fields = ("name", "teryt")
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("user", "agency", "role", "active")
    list_filter = ("role", "active")


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TeamMembershipInline(_ReadOnlyInline):
    model = TeamMembership
    fields = readonly_fields = ("agency", "role", "confidentiality_declaration_at", "joined_at", "removed_at")


class TeamMembershipChangeInline(_ReadOnlyInline):
    model = TeamMembershipChange
    fk_name = "team"
    fields = readonly_fields = ("at", "change", "agency", "role", "confidentiality_declaration_at", "actor", "acting_agency")


@admin.register(Team)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "parent", "teryt", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "teryt")
    inlines = [TeamMembershipInline, TeamMembershipChangeInline]


# --- OAuth2 clients and tokens ------------------------------------------------
# A client is issued by `add_client` (client_create limits its scopes), a token
# by /o/token/ with the client's scopes. Editing a client's grant type or a
# token's scopes, expiry or resource here would bypass both: they are read, and
# a token is revoked with DOT's "revoke selected" action (RFC 7009's effect,
# the token family included), which the site logs.


class _NoChange:
    def has_change_permission(self, request, obj=None):
        return False


class ClientAdmin(ReadOnlyAdmin, get_application_admin_class()):
    pass


class AccessTokenAdmin(_NoChange, get_access_token_admin_class()):
    pass


class RefreshTokenAdmin(_NoChange, get_refresh_token_admin_class()):
    pass


class GrantAdmin(ReadOnlyAdmin, get_grant_admin_class()):
    pass


class IDTokenAdmin(ReadOnlyAdmin, get_id_token_admin_class()):
    pass


class StaffUserAdmin(UserAdmin):
    """Staff accounts are made inactive, never deleted: a user's admin log
    entries are deleted with her (LogEntry.user cascades), and they are the
    record of what she did here."""

    def has_delete_permission(self, request, obj=None):
        return False


for _model, _admin in [
    (AgencyApplication, ClientAdmin),
    (get_access_token_model(), AccessTokenAdmin),
    (get_refresh_token_model(), RefreshTokenAdmin),
    (get_grant_model(), GrantAdmin),
    (get_id_token_model(), IDTokenAdmin),
    (get_user_model(), StaffUserAdmin),
]:
    admin.site.unregister(_model)  # registered by django-oauth-toolkit and django.contrib.auth
    admin.site.register(_model, _admin)
