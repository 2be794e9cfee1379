"""The controlled vocabularies of DESIGN.md 4.1 and 5, loaded from the JSON files
beside this module: the one source of truth for codes used in models, OAuth2
scopes, validation and the published schemas."""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_DIR = Path(__file__).resolve().parent

AGENCY_KINDS = "agency_kinds"
SECTORS = "sectors"
ROLES = "roles"
SCOPES = "scopes"
DATA_CATEGORIES = "data_categories"
PURPOSES = "purposes"
LEGAL_BASES = "legal_bases"
REFERRAL_SERVICES = "referral_services"
EVENT_TYPES = "event_types"
ELIGIBILITY_GROUPS = "eligibility_groups"


@dataclass(frozen=True)
class Term:
    code: str
    label_pl: str
    label_en: str
    extra: dict

    def label(self, language: str = "pl") -> str:
        return self.label_en if language.startswith("en") else self.label_pl


@cache
def terms(name: str) -> tuple[Term, ...]:
    """Every term of vocabulary `name`, in file order."""
    document = json.loads((_DIR / f"{name}.json").read_text(encoding="utf-8"))
    result = []
    for entry in document["codes"]:
        extra = {k: v for k, v in entry.items() if k not in ("code", "label")}
        result.append(Term(entry["code"], entry["label"]["pl"], entry["label"]["en"], extra))
    return tuple(result)


def codes(name: str) -> tuple[str, ...]:
    return tuple(term.code for term in terms(name))


def term(name: str, code: str) -> Term:
    for candidate in terms(name):
        if candidate.code == code:
            return candidate
    raise KeyError(f"{code!r} is not a code of vocabulary {name!r}")


def choices(name: str) -> list[tuple[str, str]]:
    """Django model/serializer choices: (code, Polish label)."""
    return [(t.code, t.label_pl) for t in terms(name)]


def names() -> list[str]:
    return sorted(path.stem for path in _DIR.glob("*.json"))
