"""One tick of every periodic job (what celery beat runs), for the demo and
for operators without a beat process."""

from django.core.management.base import BaseCommand

from agencies.events import outbox_relay_all
from agencies.revocations import expired_tokens_purge
from agencies.webhooks import deliveries_due, deliveries_purge, webhook_deliver
from consent_ledger.notices import consent_expiry_warnings, notices_escalate
from consent_ledger.sequencer import ledger_sequence_all
from hub.api.idempotency import purge_expired_idempotency_records
from referrals.blue_card.services import blue_card_deadlines_escalate
from referrals.placements.services import employer_places_recount, placement_check_ins_due
from referrals.plans.services import plan_actions_due_notify
from referrals.services import referral_deadlines_escalate


class Command(BaseCommand):
    help = "Run each periodic job once: relay, due webhook deliveries, deadlines, expiry warnings, escalations, sequencer, purge."

    def handle(self, *args, **options):
        report = {
            "events_relayed": outbox_relay_all(),
            "deliveries_attempted": sum(1 for d in deliveries_due() if webhook_deliver(d) is not None),
            "referrals_overdue": referral_deadlines_escalate(),
            "blue_card_deadlines_missed": blue_card_deadlines_escalate(),
            "plan_actions_due": plan_actions_due_notify(),
            "placement_check_ins_due": placement_check_ins_due(),
            "employers_places_recounted": employer_places_recount(),
            "consents_expiring": consent_expiry_warnings(),
            "notices_escalated": notices_escalate(),
            "ledger_tree_size": ledger_sequence_all(),
            "deliveries_purged": deliveries_purge(),
            "idempotency_records_purged": purge_expired_idempotency_records(),
        }
        expired_tokens_purge()
        self.stdout.write(" ".join(f"{k}={v}" for k, v in report.items()))
