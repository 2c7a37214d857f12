"""Sections other apps add to organisation pages they can't import into (imports go one way).

An app lists dotted paths in its AppConfig, e.g. `customer_panels = ["calendars.panels.customer"]`;
each is a function `(request, customer) -> str` returning rendered HTML (or "" to show nothing).
"""

from django.apps import apps
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe


def render_panels(attribute: str, request, obj) -> list[str]:
    rendered = []
    for config in apps.get_app_configs():
        for path in getattr(config, attribute, []):
            html = import_string(path)(request, obj)
            if html:
                rendered.append(mark_safe(html))  # noqa: S308 - rendered by our own templates
    return rendered
