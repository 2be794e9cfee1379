"""The forms of the employment placement pages and the service's refusals
turned into errors that point to their fields: a step (transition), the
employer's and the coordinator's check-ins, the outcome and the follow-up
(each as the API's input: referrals/api/placement_views.py), and the filters
of the list and of the statistics. Every form keeps what was typed when it
is refused."""

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from hub.api.errors import ApplicationError, Conflict, PreconditionFailed

from . import lifecycle, services, stats
from .models import (
    CONTRACT_TYPES,
    ENDED_EARLY,
    HIRED,
    NOT_HIRED,
    NOT_HIRED_REASONS,
    TIMEPOINTS,
)
from .page_labels import FEEDBACK_LABELS, OUTCOME_LABELS, STATUS_LABELS, WHO5_ANSWERS

# --- Filters ------------------------------------------------------------------------------


class StatusFilterForm(forms.Form):
    """The list's filter, a GET form: the URL holds only a status code."""

    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, data):
        super().__init__(data)
        self.fields["status"].choices = [("", _("Any status")), *STATUS_LABELS.items()]

    def status_filter(self) -> str | None:
        """A valid status, else None: a tampered value is dropped, not an error page."""
        return (self.cleaned_data.get("status") or None) if self.is_valid() else None


class StatsFilterForm(forms.Form):
    """The period of the statistics, a GET form: start dates from and to
    (inclusive) and/or a cohort (start quarter), as the API takes them."""

    to = forms.DateField(required=False, input_formats=["%Y-%m-%d"], error_messages={
        "invalid": _("Enter the date as YYYY-MM-DD, for example 2026-06-30")})
    cohort = forms.CharField(required=False, max_length=6, validators=[RegexValidator(
        stats.COHORT_PATTERN, message=_("Enter a quarter as YYYYQn, for example 2026Q3"))])

    def __init__(self, data):
        super().__init__(data, auto_id="stats-%s")
        # `from` is a Python keyword: the field is added by name.
        self.fields = {"from": forms.DateField(required=False, input_formats=["%Y-%m-%d"], error_messages={
            "invalid": _("Enter the date as YYYY-MM-DD, for example 2026-01-01")}), **self.fields}

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            self.add_error("from", _("The start of the period must be on or before its end"))
        return cleaned

    def period(self) -> dict:
        data = self.cleaned_data
        return {"start_from": data.get("from"), "start_to": data.get("to"), "cohort": data.get("cohort") or None}


# --- Form helpers ------------------------------------------------------------------------


MONTH_FORMAT = RegexValidator(r"^[0-9]{4}-(0[1-9]|1[0-2])$", message=_("Enter the month as YYYY-MM, for example 2026-03"))


def _decimal_or_error(value: str, message) -> Decimal | None:
    """A number typed with a comma or a point (Polish writes 0,5), or None when empty."""
    value = (value or "").strip().replace(",", ".")
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise forms.ValidationError(message) from None
    if not number.is_finite():
        raise forms.ValidationError(message)
    return number


class DateParts:
    """The GOV.UK date input: three fields `<name>_day`, `_month`, `_year`;
    all empty is no date."""

    @staticmethod
    def fields(prefix: str) -> dict:
        return {f"{prefix}_{part}": forms.CharField(required=False, max_length=4) for part in ("day", "month", "year")}

    @staticmethod
    def parse(form: forms.Form, prefix: str, message) -> date | None:
        parts = [(form.cleaned_data.get(f"{prefix}_{p}") or "").strip() for p in ("day", "month", "year")]
        if not any(parts):
            return None
        try:
            day, month, year = (int(p) for p in parts)
            if year < 1000:
                raise ValueError
            return date(year, month, day)
        except ValueError:
            form.add_error(f"{prefix}_day", message)
            return None


# --- The transition form -------------------------------------------------------------------


class TransitionForm(forms.Form):
    """One step the caller's side may take, with the ETag the page was
    rendered with (sent as If-Match: a placement changed meanwhile is
    refused, never overwritten). Field ids end with the step (reason-declined)."""

    if_match = forms.CharField(max_length=80)
    reason = forms.CharField(required=False, max_length=32)

    def __init__(self, data=None, *, to: str):
        super().__init__(data, auto_id=f"%s-{to}")
        self.to = to
        self.fields.update(DateParts.fields("ended_on"))

    def clean(self):
        cleaned = super().clean()
        cleaned["ended_on"] = DateParts.parse(self, "ended_on", _("Enter the last day as a real date, for example 31 3 2026"))
        return cleaned


def _item(form: forms.Form, name: str, text) -> dict:
    return {"href": f"#{form[name].auto_id}", "text": text}


def error_items(form: forms.Form) -> list[dict]:
    """The form's errors for the GOV.UK error summary: each field's links to
    its (first) input; the form's own errors without a link."""
    items = [{"href": "", "text": e} for e in form.non_field_errors()]
    for name in form.fields:  # in the order of the page
        items += [_item(form, name, e) for e in form.errors.get(name, [])]
    return items


STALE = _(
    "Someone changed this placement while you had it open, so your change was not saved. "
    "The page now shows the placement as it is. Check it, then try again: what you typed is still in the form."
)
NO_LONGER_POSSIBLE = _(
    "This is no longer possible: the placement has changed. The page shows it as it is now; what you typed is "
    "still in the form."
)


def add_service_errors(form: forms.Form, exc: ApplicationError, fields: dict[str, tuple[str, object]]) -> None:
    """The service's refusal on the form that was sent: each problem pointer
    on its field (`fields`: pointer -> (field name, message in the page's
    language)); a stale ETag or a changed status as the form's own error."""
    if isinstance(exc, PreconditionFailed):
        form.add_error(None, STALE)
        return
    if isinstance(exc, Conflict) and not exc.errors:
        conflict_field = fields.get(f"code:{exc.code}")
        if conflict_field is not None:
            form.add_error(*conflict_field)
        else:
            form.add_error(None, NO_LONGER_POSSIBLE)
        return
    for problem in exc.errors or [{"pointer": ""}]:
        pointer = problem.get("pointer", "")
        # An item of a list (/who5/2) is shown at the list's field.
        field, message = fields.get(pointer) or fields.get(re.sub(r"/[0-9]+$", "", pointer)) or (None, None)
        if field is not None and field in form.fields:
            if field not in form.errors or message not in form.errors[field]:
                form.add_error(field, message)
        else:
            form.add_error(None, _("The change could not be saved. Check what you entered and try again."))


TRANSITION_ERRORS = {
    "/reason": ("reason", _("Choose a reason")),
    "/ended_on": ("ended_on_day", _("Enter a last day on or after the first day of the placement and not after today")),
}


# --- The check-in forms ------------------------------------------------------------------


def _month_field():
    return forms.CharField(
        max_length=7, validators=[MONTH_FORMAT],
        error_messages={"required": _("Enter the month the check-in is about, as YYYY-MM")},
    )


def _days_field(required_message):
    invalid = _("Enter a whole number of days from 0 to 31")
    return forms.IntegerField(min_value=0, max_value=31, error_messages={
        "required": required_message, "invalid": invalid, "min_value": invalid, "max_value": invalid,
    })


class EmployerCheckInForm(forms.Form):
    """The employer's monthly check-in: attendance and feedback (DESIGN.md 6.2)."""

    month = _month_field()
    days_worked = _days_field(_("Enter the number of days worked"))
    days_absent = _days_field(_("Enter the number of days absent (0 if none)"))
    employer_feedback = forms.TypedChoiceField(
        choices=[(n, n) for n in FEEDBACK_LABELS], coerce=int,
        error_messages={"required": _("Choose how the work went this month"),
                        "invalid_choice": _("Choose a rating from 1 to 5")},
    )

    def __init__(self, data=None, **kwargs):
        super().__init__(data, auto_id="check-in-%s", **kwargs)

    def service_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("month", "days_worked", "days_absent", "employer_feedback")}


WHO5_FIELDS = tuple(f"who5_{n}" for n in range(1, 6))


class CoordinatorCheckInForm(forms.Form):
    """The coordinator's check-in: her notes and/or the WHO-5 answered with
    the person (all five items, each 0 to 5), monthly or at a timepoint."""

    month = _month_field()
    timepoint = forms.ChoiceField(required=False, choices=[(t, t) for t in ("", *TIMEPOINTS)],
                                  error_messages={"invalid_choice": _("Choose when this check-in is")})
    coordinator_notes = forms.CharField(required=False, max_length=5000, error_messages={
        "max_length": _("Keep the notes under 5,000 characters")})

    def __init__(self, data=None, **kwargs):
        super().__init__(data, auto_id="check-in-%s", **kwargs)
        for name in WHO5_FIELDS:
            self.fields[name] = forms.TypedChoiceField(
                required=False, choices=[("", ""), *[(n, n) for n in WHO5_ANSWERS]], coerce=int, empty_value=None,
                error_messages={"invalid_choice": _("Choose an answer from 0 (at no time) to 5 (all of the time)")},
            )

    def clean(self):
        cleaned = super().clean()
        answers = [cleaned.get(name) for name in WHO5_FIELDS]
        answered = [a for a in answers if a is not None]
        if answered and len(answered) < len(WHO5_FIELDS):
            for name, answer in zip(WHO5_FIELDS, answers):
                if answer is None and name not in self.errors:
                    self.add_error(name, _("Answer this WHO-5 question too, or leave all five empty"))
        if not answered and cleaned.get("timepoint") and not self.errors.get("who5_1"):
            self.add_error("who5_1", _("A check-in at the start, the end or the follow-up records the WHO-5: "
                                       "answer all five questions"))
        elif not answered and not cleaned.get("coordinator_notes") and not self.errors:
            self.add_error("coordinator_notes", _("Write your notes, answer the WHO-5, or both"))
        return cleaned

    def service_values(self) -> dict:
        answers = [self.cleaned_data.get(name) for name in WHO5_FIELDS]
        return {
            "month": self.cleaned_data["month"], "timepoint": self.cleaned_data.get("timepoint") or "",
            "coordinator_notes": self.cleaned_data.get("coordinator_notes") or "",
            "who5": answers if None not in answers else None,
        }


CHECK_IN_ERRORS = {
    "/month": ("month", _("Enter a month of the placement that has already begun, as YYYY-MM")),
    "/days_worked": ("days_worked", _("Enter a whole number of days from 0 to 31")),
    "/days_absent": ("days_absent", _("Days worked and days absent add up to more days than the month has")),
    "/employer_feedback": ("employer_feedback", _("Choose a rating from 1 to 5")),
    "/coordinator_notes": ("coordinator_notes", _("Write your notes, answer the WHO-5, or both")),
    "/who5": ("who5_1", _("Answer all five WHO-5 questions, each from 0 to 5")),
    "/timepoint": ("timepoint", _("Choose when this check-in is")),
    f"code:{services.CHECK_IN_EXISTS}": (
        "month", _("A check-in of yours for this month is recorded already (or the WHO-5 at this point). "
                   "Choose another month.")),
}


# --- The outcome form --------------------------------------------------------------------


class OutcomeForm(forms.Form):
    """How the ended placement ended for the person (either side, once):
    hired with the contract's type, working time and length; or not hired /
    ended early with a reason code. Carries the ETag (If-Match)."""

    if_match = forms.CharField(max_length=80)
    outcome = forms.ChoiceField(choices=[(o, o) for o in OUTCOME_LABELS], error_messages={
        "required": _("Choose how the placement ended for the person"),
        "invalid_choice": _("Choose how the placement ended for the person")})
    contract_type = forms.ChoiceField(required=False, choices=[("", ""), *[(c, c) for c in CONTRACT_TYPES]])
    fte = forms.CharField(required=False, max_length=6)
    contract_months = forms.CharField(required=False, max_length=6)
    open_ended = forms.BooleanField(required=False)
    not_hired_reason = forms.ChoiceField(required=False, choices=[("", ""), *[(c, c) for c in NOT_HIRED_REASONS]])
    ended_early_reason = forms.ChoiceField(required=False, choices=[("", ""), *[(c, c) for c in lifecycle.END_REASONS]])

    def __init__(self, data=None, **kwargs):
        super().__init__(data, auto_id="outcome-%s", **kwargs)

    def clean_fte(self):
        return _decimal_or_error(self.cleaned_data.get("fte"), _(
            "Enter the working time as a fraction of full time, for example 0,5 for half-time or 1 for full-time"))

    def clean_contract_months(self):
        return _decimal_or_error(self.cleaned_data.get("contract_months"), _(
            "Enter the contract's length as a number of months, for example 6"))

    def clean(self):
        cleaned = super().clean()
        outcome = cleaned.get("outcome")
        if outcome == HIRED:
            self._check_hire(cleaned)
        elif outcome == NOT_HIRED and not cleaned.get("not_hired_reason"):
            self.add_error("not_hired_reason", _("Choose why the person was not hired"))
        return cleaned

    def _check_hire(self, cleaned) -> None:
        if not cleaned.get("contract_type") and "contract_type" not in self.errors:
            self.add_error("contract_type", _("Choose the type of contract"))
        if cleaned.get("fte") is None and "fte" not in self.errors:
            self.add_error("fte", _("Enter the working time, for example 0,5 for half-time or 1 for full-time"))
        if "contract_months" in self.errors:
            return
        months, open_ended = cleaned.get("contract_months"), cleaned.get("open_ended")
        if months is None and not open_ended:
            self.add_error("contract_months", _("Enter the contract's length in months, or tick that it is open-ended"))
        elif months is not None and open_ended:
            self.add_error("contract_months", _("Enter the length or tick that the contract is open-ended, not both"))

    def service_values(self) -> dict:
        """The service's arguments, as the API passes them: a hire's members
        only for a hire (what was typed in a hidden part is not sent)."""
        data = self.cleaned_data
        outcome = data["outcome"]
        if outcome == HIRED:
            months = None if data.get("open_ended") else data.get("contract_months")
            return {"outcome": outcome, "contract_type": data["contract_type"], "fte": data["fte"],
                    "contract_months": months, "reason": None}
        reason = data.get("not_hired_reason") if outcome == NOT_HIRED else data.get("ended_early_reason")
        return {"outcome": outcome, "reason": reason or None}


OUTCOME_ERRORS = {
    "/outcome": ("outcome", _("Choose one of the outcomes offered for this placement")),
    "/contract_type": ("contract_type", _("Choose the type of contract")),
    "/fte": ("fte", _("Enter the working time as more than 0 and at most 1, for example 0,5 for half-time")),
    "/contract_months": ("contract_months", _(
        "Enter a length from 0,1 to 600 months; only an employment contract may be open-ended")),
    "/reason": ("not_hired_reason", _("Choose a reason")),
}


def outcome_errors_for(outcome: str | None) -> dict:
    """OUTCOME_ERRORS with the reason pointing to the reason field of `outcome`."""
    reason_field = "ended_early_reason" if outcome == ENDED_EARLY else "not_hired_reason"
    return {**OUTCOME_ERRORS, "/reason": (reason_field, _("Choose a reason"))}


def outcomes_offered(status: str) -> list[str]:
    """The outcomes an ended placement may record (services.outcomes: completed
    ends hired or not hired; ended early, hired or ended early)."""
    return {lifecycle.COMPLETED: [HIRED, NOT_HIRED], lifecycle.ENDED_EARLY: [HIRED, ENDED_EARLY]}.get(status, [])


# --- The follow-up form ------------------------------------------------------------------


class FollowUpForm(forms.Form):
    """Whether the person is still employed PLACEMENT_FOLLOW_UP_DAYS after
    the placement's last day (the coordinating agency, once)."""

    still_employed = forms.TypedChoiceField(
        choices=[("yes", "yes"), ("no", "no")], coerce=lambda value: value == "yes",
        error_messages={"required": _("Say whether the person is still employed"),
                        "invalid_choice": _("Say whether the person is still employed")},
    )

    def __init__(self, data=None, **kwargs):
        super().__init__(data, auto_id="follow-up-%s", **kwargs)
        self.fields.update(DateParts.fields("followed_up_on"))

    def clean(self):
        cleaned = super().clean()
        cleaned["followed_up_on"] = DateParts.parse(
            self, "followed_up_on", _("Enter the day of the follow-up as a real date, for example 30 6 2026"))
        return cleaned

    def service_values(self) -> dict:
        return {"still_employed": self.cleaned_data["still_employed"],
                "followed_up_on": self.cleaned_data["followed_up_on"]}


FOLLOW_UP_ERRORS = {
    "/followed_up_on": ("followed_up_on_day", _(
        "Enter a day that is not in the future and at least 90 days after the placement's last day")),
    "/still_employed": ("still_employed", _("Say whether the person is still employed")),
}
