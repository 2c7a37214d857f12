"""The dashboard's navigation. Each app lists its own pages in its AppConfig as `dashboard_nav`,
so a new app adds its menu entries without touching the shared layout."""

from dataclasses import dataclass

from django.apps import apps
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    role: str
    section: str = "main"  # "main" or "settings"
    order: int = 100
    icon: str = "dot"


def nav_for(request) -> dict[str, list[dict]]:
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    current = request.path_info
    items = sorted(
        (
            item
            for config in apps.get_app_configs()
            for item in getattr(config, "dashboard_nav", [])
        ),
        key=lambda item: item.order,
    )
    sections: dict[str, list[dict]] = {"main": [], "settings": []}
    for item in items:
        if not membership.allows(item.role):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        active = current == url if url == "/" else current.startswith(url)
        sections[item.section].append(
            {"label": item.label, "url": url, "active": active, "icon": item.icon}
        )
    return sections
