"""Conventions of the hub's own pages (DESIGN.md 7), as hub/api holds the API's:
the second factor on every staff page, the language and time zone of pages,
staff sessions, pagination and the context every page template gets."""
