"""The forms of the service directory's pages (issue 14): the search (a GET
form: every answer is in the URL, so a search can be bookmarked and the
next/previous links repeat it) and the count of free places an agency keeps
up to date for its own services.

The place searched from is typed as a TERYT code or chosen from a list of
powiats by name (an <input> with a <datalist>: suggestions in the browser
without JavaScript): a caseworker at 11 pm knows her town, not its code."""

import csv
import re
from functools import cache

from django import forms
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from hub.api.errors import ApplicationError, Conflict
from schemas.vocabularies import ELIGIBILITY_GROUPS, REFERRAL_SERVICES, terms

from . import geo
from .services import MAX_PLACES

# The voivodeship of a powiat: the first two digits of its TERYT code (GUS
# TERC). Two powiats may share a name (grodziski, średzki...): the
# voivodeship tells them apart in the list.
VOIVODESHIPS = {
    "02": "dolnośląskie", "04": "kujawsko-pomorskie", "06": "lubelskie", "08": "lubuskie", "10": "łódzkie",
    "12": "małopolskie", "14": "mazowieckie", "16": "opolskie", "18": "podkarpackie", "20": "podlaskie",
    "22": "pomorskie", "24": "śląskie", "26": "świętokrzyskie", "28": "warmińsko-mazurskie",
    "30": "wielkopolskie", "32": "zachodniopomorskie",
}
_CODE_FIRST = re.compile(r"\s*(\d{7}|\d{4})(?!\d)")
# Languages offered in the search even before any service lists them.
BASE_LANGUAGES = ("pl", "uk", "ru", "en")


@cache
def powiats() -> dict[str, str]:
    """Powiat TERYT code -> its name as people say it: "powiat wrocławski"
    for a county, "Wrocław" for a city with powiat rights (a capitalised
    name in the register), with its voivodeship. From the file geo.py reads
    its centroids from, so every powiat listed has a distance."""
    with geo.DATA.open(encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        named = {row["teryt"]: row["name"] for row in rows}
    return {
        code: f"{name if name[:1].isupper() else f'powiat {name}'} ({VOIVODESHIPS.get(code[:2], code[:2])})"
        for code, name in sorted(named.items())
    }


def place_label(teryt: str) -> str | None:
    """The powiat a gmina (7 digits) or powiat (4) code lies in, by name; None if unknown."""
    return powiats().get(teryt[:4]) if teryt else None


def place_text(teryt: str) -> str:
    """How the search form shows a place: its code, then its name."""
    label = place_label(teryt)
    return f"{teryt} {label}" if label else teryt


def place_options() -> list[str]:
    """The suggestions of the place field: "0264 Wrocław (dolnośląskie)"..."""
    return [f"{code} {label}" for code, label in sorted(powiats().items(), key=lambda item: item[1].casefold())]


def resolve_place(text: str) -> str:
    """The TERYT code a typed place stands for ("" for none): a code first
    (as the suggestions start), else a powiat's name, with or without
    "powiat" and the voivodeship. Raises ValidationError with what to do."""
    text = " ".join(text.split())
    if not text:
        return ""
    found = _CODE_FIRST.match(text)
    if found:
        code = found.group(1)
        if place_label(code) is None:
            raise forms.ValidationError(
                _("No powiat has the code %(code)s: check the code, or type the place's name and choose it from the list"),
                params={"code": code[:4]},
            )
        return code
    wanted = text.casefold().removeprefix("powiat ")
    matches = [
        code for code, label in powiats().items()
        if wanted in (label.casefold().removeprefix("powiat "), label.casefold().removeprefix("powiat ").split(" (")[0])
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise forms.ValidationError(_("Several powiats have this name: choose the one you mean from the list"))
    raise forms.ValidationError(_("Enter a TERYT code or a powiat's name, for example 0264011 or Wrocław"))


def language_name(code: str) -> str:
    """A language's name in the page's language (Django's own list), else its code."""
    try:
        return str(get_language_info(code)["name_translated"])
    except KeyError:
        return code


class SearchForm(forms.Form):
    """The directory's filters, as directory_search takes them. Field names
    are the API's query parameters (DESIGN.md 6.2: service, teryt,
    has_capacity, language), and eligibility."""

    service = forms.ChoiceField(label=_("Service"), required=False, error_messages={
        "invalid_choice": _("Choose a service from the list")})
    teryt = forms.CharField(label=_("Search near (gmina or powiat)"), required=False, max_length=120)
    has_capacity = forms.BooleanField(label=_("Only services with a free place now"), required=False)
    language = forms.ChoiceField(label=_("Language"), required=False, error_messages={
        "invalid_choice": _("Choose a language from the list")})
    eligibility = forms.ChoiceField(label=_("Who it is for"), required=False, error_messages={
        "invalid_choice": _("Choose a group from the list")})

    FIELDS = ("service", "teryt", "has_capacity", "language", "eligibility")

    def __init__(self, data, *, language: str, languages: set[str]):
        super().__init__(data, auto_id="search-%s")
        self.fields["service"].choices = [("", _("Any service")), *[
            (t.code, t.label(language)) for t in terms(REFERRAL_SERVICES)]]
        self.fields["eligibility"].choices = [("", _("Anyone")), *[
            (t.code, t.label(language)) for t in terms(ELIGIBILITY_GROUPS)]]
        named = sorted(((language_name(code), code) for code in set(languages) | set(BASE_LANGUAGES)),
                       key=lambda pair: pair[0].casefold())
        self.fields["language"].choices = [("", _("Any language")), *[(code, name) for name, code in named]]

    def clean_teryt(self):
        return resolve_place(self.cleaned_data.get("teryt") or "")

    def search_arguments(self) -> dict:
        """directory_search's filters; None for a filter not set."""
        data = self.cleaned_data
        return {
            "service": data.get("service") or None, "teryt": data.get("teryt") or None,
            "has_capacity": True if data.get("has_capacity") else None,
            "language": data.get("language") or None, "eligibility": data.get("eligibility") or None,
        }

    def query(self) -> dict:
        """The search as URL parameters (the place as its code): what the
        next and previous links carry."""
        data = self.cleaned_data
        query = {name: data.get(name) for name in ("service", "teryt", "language", "eligibility") if data.get(name)}
        if data.get("has_capacity"):
            query["has_capacity"] = "true"
        return query


def error_items(form: forms.Form) -> list[dict]:
    """The form's errors for the GOV.UK error summary, each linking to its field."""
    items = [{"href": "", "text": error} for error in form.non_field_errors()]
    for name in form.fields:
        items += [{"href": f"#{form[name].auto_id}", "text": error} for error in form.errors.get(name, [])]
    return items


class CapacityForm(forms.Form):
    """The free places of one of the agency's own services, now. Its field's
    id names the service, so that the error summary of a page with one form
    per service links to the right one."""

    free = forms.IntegerField(min_value=0, error_messages={
        "required": _("Enter the number of free places, for example 2"),
        "invalid": _("Enter the number of free places as a whole number, for example 2"),
        "min_value": _("The number of free places cannot be below 0"),
    })

    def __init__(self, data=None, *, service, **kwargs):
        super().__init__(data, auto_id=f"%s-{service.pk}", **kwargs)
        self.service = service

    def add_service_error(self, exc: ApplicationError) -> None:
        """capacity_set's refusal on the field: more free places than there are."""
        if isinstance(exc, Conflict):
            self.add_error(None, _("This service does not count its places, so there is nothing to update here."))
            return
        self.add_error("free", _("Enter a number from 0 to %(total)s, the places the service has in all")
                       % {"total": self.service.capacity_total})


class PlacesForm(forms.Form):
    """How many places one of the agency's own services has in all, with how
    many are free now: starts counting for a service that counted none, or
    changes the number (a room opened or closed). Its ids name the service."""

    total = forms.IntegerField(min_value=0, max_value=MAX_PLACES, error_messages={
        "required": _("Enter the number of places in all, for example 8"),
        "invalid": _("Enter the number of places in all as a whole number, for example 8"),
        "min_value": _("The number of places in all cannot be below 0"),
        "max_value": _("The number of places in all must be %(limit_value)s or fewer"),
    })
    free = forms.IntegerField(min_value=0, error_messages=CapacityForm.base_fields["free"].error_messages)

    def __init__(self, data=None, *, service, **kwargs):
        super().__init__(data, auto_id=f"places-%s-{service.pk}", **kwargs)
        self.service = service

    def clean(self):
        cleaned = super().clean()
        total, free = cleaned.get("total"), cleaned.get("free")
        if total is not None and free is not None and free > total:
            self.add_error("free", _("Enter a number from 0 to %(total)s, the places in all you entered")
                           % {"total": total})
        return cleaned
