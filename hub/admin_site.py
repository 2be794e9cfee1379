"""The admin site: every write through it is in Django's admin log (LogEntry).

Django's admin logs what its own views write -- an add, a change, a delete,
and the bulk "delete selected" action -- in the transaction of the write.
Any other admin action does only what its function does: django-oauth-toolkit's
"revoke selected tokens" wrote no entry at all. So on this site every
ModelAdmin, whichever app registers it, logs each object an action is applied
to, in the action's transaction and before it runs: a failed action leaves no
entry, and an entry that cannot be written stops the action.
"""

import functools

from django.contrib import admin
from django.contrib.admin.actions import delete_selected
from django.db import router, transaction


class HubAdminSite(admin.AdminSite):
    def register(self, model_or_iterable, admin_class=None, **options):
        base = admin_class or admin.ModelAdmin
        audited = type(base.__name__, (AuditedActions, base), {"__module__": base.__module__})
        super().register(model_or_iterable, audited, **options)


class AuditedActions:
    """Mixed in before every registered ModelAdmin (HubAdminSite.register)."""

    def get_actions(self, request):
        return {
            name: (function if function is delete_selected else _audited(function, description), name, description)
            for name, (function, _, description) in super().get_actions(request).items()
        }


def _audited(action, description):
    @functools.wraps(action)
    def run(modeladmin, request, queryset):
        from django.contrib.admin.models import CHANGE, LogEntry

        with transaction.atomic(using=router.db_for_write(modeladmin.model)):
            LogEntry.objects.log_actions(
                user_id=request.user.pk, queryset=queryset, action_flag=CHANGE,
                change_message=f"Action: {description}",
            )
            return action(modeladmin, request, queryset)

    return run
