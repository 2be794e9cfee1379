from celery import shared_task

from .blue_card.services import blue_card_deadlines_escalate
from .placements.services import employer_places_recount, placement_check_ins_due
from .plans.services import plan_actions_due_notify
from .retention import retention_apply
from .services import referral_deadlines_escalate


@shared_task(ignore_result=True)
def referral_deadlines_task() -> None:
    referral_deadlines_escalate()


@shared_task(ignore_result=True)
def plan_actions_due_task() -> None:
    plan_actions_due_notify()


@shared_task(ignore_result=True)
def blue_card_deadlines_task() -> None:
    blue_card_deadlines_escalate()


@shared_task(ignore_result=True)
def placement_check_ins_due_task() -> None:
    placement_check_ins_due()


@shared_task(ignore_result=True)
def employer_places_task() -> None:
    employer_places_recount()


@shared_task(ignore_result=True)
def retention_task() -> None:
    retention_apply()
