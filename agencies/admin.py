"""Read-mostly admin: agencies, members, clients and teams are created through
the services (management commands, the API), never by editing rows here."""

from django.contrib import admin

from .models import Agency, Membership, Team, TeamMembership, TeamMembershipChange


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
