"""The plan-content document (schemas/json/plan-content.json): the text of a
plan's goals, actions and reviews, grouped by the data category of each item.

Each top-level member is a data category carrying that `x-category`, so the
choke point releases or withholds a category's items whole, and the
categories present are exactly the categories the plan's items were given.
The lead agency supplied all of it (the originator of the disclosure)."""

from schemas.registry import get_registry

PLAN_SCHEMA = "plan-content/1"
GOALS, ACTIONS, REVIEWS = "goals", "actions", "reviews"


def _present(**members) -> dict:
    return {name: value for name, value in members.items() if value not in (None, "")}


def goal_content(goal) -> dict:
    return _present(id=str(goal.id), title=goal.title, indicator=goal.indicator, baseline=goal.baseline)


def action_content(action) -> dict:
    return _present(id=str(action.id), title=action.title)


def review_content(review) -> dict:
    return _present(id=str(review.id), summary=review.summary, measures=review.measures)


_CONTENT = {GOALS: goal_content, ACTIONS: action_content, REVIEWS: review_content}


def plan_document(*, goals, actions, reviews) -> dict:
    """{category: {goals: [...], actions: [...], reviews: [...]}} for the items given."""
    document: dict = {}
    for key, items in ((GOALS, goals), (ACTIONS, actions), (REVIEWS, reviews)):
        for item in items:
            document.setdefault(item.category, {}).setdefault(key, []).append(_CONTENT[key](item))
    return document


def released_texts(document: dict, key: str) -> dict[str, dict]:
    """The released items of one kind, by id, from a (pruned) plan document."""
    return {item["id"]: item for group in document.values() for item in group.get(key, [])}


def content_errors(key: str, item) -> list[dict]:
    """The problems of one new item's text against the plan-content schema, as
    {pointer, detail} with pointers into the request body (e.g. "/title")."""
    prefix = f"/{item.category}/{key}/0"
    problems = get_registry().validate(PLAN_SCHEMA, {item.category: {key: [_CONTENT[key](item)]}})
    return [
        {"pointer": p.pointer[len(prefix):] if p.pointer.startswith(prefix) else "", "detail": p.detail}
        for p in problems
    ]
