"""Employment placements (DESIGN.md 4.6, 6.2; issue 9): the Wrocław "Model
Wsparcia" (seed 003) for any partnership. A coordinating agency (CIS, OPS,
NGO, labour office) records agreements with employers, proposes placements,
the employer confirms them, both record monthly check-ins, and the outcome
and a 90-day follow-up feed the conversion statistics (stats.py) — without
the employer ever learning that the person experienced violence (the
allow-list in consent_ledger/decisions.py).

models.py (imported by referrals/models.py), lifecycle.py (the state
machine: who takes which step), documents.py (the person data as documents
for the choke point, and their validation), selectors.py (every read),
services.py (every write), stats.py (the statistics), checks.py (settings)."""
