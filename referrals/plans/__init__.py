"""Shared support plans (DESIGN.md 4.6, 6.2; issue 8 item 4): a plan per
person led by one agency, optionally tied to a team (ZI or GDP), with goals,
actions assigned to agencies and reviews. Their text reaches a reader only
through the disclosure choke point (documents.py).

models.py (imported by referrals/models.py), lifecycle.py (stages and the
action state machine), documents.py (the plan-content document and its
validation), selectors.py (every read), services.py (every write)."""
