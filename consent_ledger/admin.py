"""Read-only admin of the ledger's pseudonymous parts. Subjects are not
registered: their profiles leave the hub only through the disclosure choke
point, never through an admin page."""

from django.contrib import admin

from agencies.admin import ReadOnlyAdmin

from .models import Checkpoint, LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("seq", "kind", "recorded_at", "recorded_by", "leaf_index")
    list_select_related = ("leaf", "recorded_by")
    # The canonical bytes hold the body: codes and ids, but no page needs them raw.
    exclude = ("canonical",)
    list_filter = ("kind",)
    search_fields = ("id", "subject__id")


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ("tree_size", "root_hash", "key_id", "created_at")
