"""Cross-tenant cases for every calendars URL (see organisations/isolation.py)."""

OBJECT_URLS = {}
LIST_URLS = {}
EXEMPT_URLS = {}
