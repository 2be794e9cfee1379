"""Staff page URLs (DESIGN.md 7); filled in by the pages of this area."""

urlpatterns: list = []
