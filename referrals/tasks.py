from celery import shared_task

from .services import referral_deadlines_escalate


@shared_task(ignore_result=True)
def referral_deadlines_task() -> None:
    referral_deadlines_escalate()
