"""Filled in by issue 14's work."""

urlpatterns = []
