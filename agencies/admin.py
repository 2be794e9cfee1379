"""Read-mostly admin: agencies, members and clients are created through the
services (management commands), never by editing rows here."""

from django.contrib import admin

from .models import Agency, Membership


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
