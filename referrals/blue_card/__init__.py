"""The Blue Card procedure (procedura „Niebieskie Karty”, art. 9a-9e of the Act
on Counteracting Domestic Violence; DESIGN.md 4.6, 6.2; issue 8 items 2-3).

models.py (imported by referrals/models.py), rules.py (codes, who may record
which step, the legal basis's categories), deadlines.py (working-day
deadlines), selectors.py (every read), services.py (every write)."""
