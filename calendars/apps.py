from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from organisations.navigation import NavItem
from organisations.roles import Role


class CalendarsConfig(AppConfig):
    name = "calendars"
    verbose_name = _("Calendars")
    default_auto_field = "django.db.models.BigAutoField"
    dashboard_nav = [
        NavItem(
            _("Appointments"), "calendars:appointments", Role.VIEWER, order=30, icon="calendar"
        ),
        NavItem(_("Services"), "calendars:services", Role.VIEWER, "settings", 40, "list"),
        NavItem(_("Opening hours"), "calendars:hours", Role.VIEWER, "settings", 45, "clock"),
        NavItem(_("Integrations"), "calendars:integrations", Role.ADMIN, "settings", 50, "plug"),
    ]
