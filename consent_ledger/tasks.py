from celery import shared_task

from .notices import consent_expiry_warnings, notices_escalate
from .sequencer import ledger_sequence_all
from .verify import verify_ledger_and_record


@shared_task(acks_late=True, ignore_result=True)
def ledger_sequence_task() -> None:
    """Idempotent: sequences whatever is committed and unsequenced."""
    ledger_sequence_all()


@shared_task(ignore_result=True)
def consent_expiry_warnings_task() -> None:
    consent_expiry_warnings()


@shared_task(ignore_result=True)
def notice_escalation_task() -> None:
    notices_escalate()


@shared_task(ignore_result=True)
def ledger_verify_task(trigger: str = "schedule") -> None:
    """Nightly, and when a DPO asks: the whole log, every time (an incremental
    run would not read the old rows again); the result is kept
    (VerificationRun). A Celery prefork child may not fork, so there the
    chunks are verified in the worker's own process."""
    verify_ledger_and_record(trigger=trigger)
