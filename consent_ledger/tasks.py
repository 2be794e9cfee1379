from celery import shared_task

from .sequencer import ledger_sequence_all


@shared_task(acks_late=True, ignore_result=True)
def ledger_sequence_task() -> None:
    """Idempotent: sequences whatever is committed and unsequenced."""
    ledger_sequence_all()
