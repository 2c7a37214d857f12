from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from organisations.navigation import NavItem
from organisations.roles import Role

VIEWER, STAFF, ADMIN, OWNER = Role.VIEWER, Role.STAFF, Role.ADMIN, Role.OWNER


class OrganisationsConfig(AppConfig):
    name = "organisations"
    verbose_name = _("Organisations")
    default_auto_field = "django.db.models.BigAutoField"
    dashboard_nav = [
        NavItem(_("Overview"), "organisations:home", VIEWER, order=10, icon="home"),
        NavItem(_("Customers"), "organisations:customers", VIEWER, order=40, icon="users"),
        NavItem(_("Notifications"), "organisations:notifications", VIEWER, order=90, icon="bell"),
        NavItem(_("Organisation"), "organisations:settings", ADMIN, "settings", 10, "building"),
        NavItem(_("Locations"), "organisations:locations", VIEWER, "settings", 20, "pin"),
        NavItem(_("Team"), "organisations:team", VIEWER, "settings", 30, "team"),
        NavItem(_("API keys"), "organisations:api_keys", ADMIN, "settings", 80, "key"),
        NavItem(_("Audit log"), "organisations:audit_log", ADMIN, "settings", 90, "list"),
    ]

    def ready(self):
        from organisations import signals  # noqa: F401
