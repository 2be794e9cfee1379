"""The words of the employment placement pages for the codes of
referrals/placements (statuses, steps, reasons, outcomes, contract types,
the employer's feedback, the timepoints) and the WHO-5 questionnaire, in
English for gettext (Polish in locale/pl)."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from schemas.vocabularies import DATA_CATEGORIES, codes

from ..pages import vocabulary_label
from . import lifecycle
from .models import ENDED_EARLY, HIRED, NOT_HIRED

# --- Labels of the codes ------------------------------------------------------------------

STATUS_LABELS = {
    lifecycle.PROPOSED: pgettext_lazy("placement status", "Proposed"),
    lifecycle.CONFIRMED: pgettext_lazy("placement status", "Confirmed by the employer"),
    lifecycle.DECLINED: pgettext_lazy("placement status", "Declined by the employer"),
    lifecycle.WITHDRAWN: pgettext_lazy("placement status", "Withdrawn"),
    lifecycle.ACTIVE: pgettext_lazy("placement status", "Under way"),
    lifecycle.COMPLETED: pgettext_lazy("placement status", "Completed"),
    lifecycle.ENDED_EARLY: pgettext_lazy("placement status", "Ended early"),
}
STATUS_TAG_CLASSES = {
    lifecycle.PROPOSED: "govuk-tag--blue",
    lifecycle.CONFIRMED: "govuk-tag--turquoise",
    lifecycle.DECLINED: "govuk-tag--orange",
    lifecycle.WITHDRAWN: "govuk-tag--grey",
    lifecycle.ACTIVE: "govuk-tag--green",
    lifecycle.COMPLETED: "govuk-tag--grey",
    lifecycle.ENDED_EARLY: "govuk-tag--orange",
}
# The button of each step, as the side taking it would say it.
TRANSITION_LABELS = {
    lifecycle.CONFIRMED: _("Confirm the placement"),
    lifecycle.DECLINED: _("Decline the placement"),
    lifecycle.WITHDRAWN: _("Withdraw the placement"),
    lifecycle.ACTIVE: _("Record that the placement has started"),
    lifecycle.COMPLETED: _("Complete the placement"),
    lifecycle.ENDED_EARLY: _("End the placement early"),
}
SIDE_LABELS = {
    lifecycle.COORDINATOR: _("Coordinating agency"),
    lifecycle.EMPLOYER: _("Employer"),
}
DECLINE_REASON_LABELS = {
    "no_vacancy": _("No vacancy at the moment"),
    "role_filled": _("The role has been filled"),
    "schedule_mismatch": _("The working hours do not fit"),
    "qualifications_mismatch": _("The qualifications do not match the role"),
    "other": _("Another reason"),
}
END_REASON_LABELS = {
    "person_withdrew": _("The person decided to stop"),
    "person_unavailable": _("The person cannot continue"),
    "employer_withdrew": _("The employer withdrew"),
    "attendance": _("Attendance"),
    "conduct": _("Conduct at work"),
    "mutual_agreement": _("By mutual agreement"),
    "hired_early": _("Hired before the end of the placement"),
    "other": _("Another reason"),
}
NOT_HIRED_REASON_LABELS = {
    "no_vacancy": _("No vacancy to hire for"),
    "skills_mismatch": _("The skills do not match the job"),
    "person_declined_offer": _("The person declined the job offer"),
    "employer_declined": _("The employer decided not to hire"),
    "other": _("Another reason"),
}
OUTCOME_LABELS = {
    HIRED: _("Hired"),
    NOT_HIRED: _("Not hired"),
    ENDED_EARLY: _("Ended early, not hired"),
}
CONTRACT_TYPE_LABELS = {
    "employment_contract": _("Employment contract"),
    "civil_law_contract": _("Civil-law contract"),
    "other": _("Another kind of contract"),
}
# The employer's feedback on the person's work, 1 (poor) to 5 (very good): schema placement-check-in/1.
FEEDBACK_LABELS = {
    1: _("Poor"),
    2: _("Below expectations"),
    3: _("As expected"),
    4: _("Good"),
    5: _("Very good"),
}
TIMEPOINT_LABELS = {
    "": _("A monthly check-in"),
    "start": _("At the start of the placement"),
    "end": _("At the end of the placement"),
    "follow_up": _("At the follow-up after the placement"),
}
# The WHO-5 Well-Being Index (WHO 1998): the five statements about the last
# two weeks and the six answers, 5 (all of the time) to 0 (at no time); the
# Polish wording follows the Polish version of the questionnaire.
WHO5_ITEMS = (
    _("I have felt cheerful and in good spirits"),
    _("I have felt calm and relaxed"),
    _("I have felt active and vigorous"),
    _("I woke up feeling fresh and rested"),
    _("My daily life has been filled with things that interest me"),
)
WHO5_ANSWERS = {
    5: _("All of the time"),
    4: _("Most of the time"),
    3: _("More than half of the time"),
    2: _("Less than half of the time"),
    1: _("Some of the time"),
    0: _("At no time"),
}
REASON_LABELS = {lifecycle.DECLINED: DECLINE_REASON_LABELS, lifecycle.ENDED_EARLY: END_REASON_LABELS,
                 lifecycle.WITHDRAWN: END_REASON_LABELS}


def reason_label(code: str):
    """A reason code of a step or an outcome, in words (the codes overlap, with one meaning each)."""
    for labels in (DECLINE_REASON_LABELS, END_REASON_LABELS, NOT_HIRED_REASON_LABELS):
        if code in labels:
            return labels[code]
    return code


def category_labels(categories, language: str) -> list[str]:
    return [vocabulary_label(DATA_CATEGORIES, c, language) for c in codes(DATA_CATEGORIES) if c in set(categories)]
