from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from organisations.navigation import NavItem
from organisations.roles import Role


class TelephonyConfig(AppConfig):
    name = "telephony"
    verbose_name = _("Telephony")
    default_auto_field = "django.db.models.BigAutoField"
    dashboard_nav = [
        NavItem(_("Calls"), "telephony:calls", Role.VIEWER, order=20, icon="phone"),
        NavItem(_("Phone numbers"), "telephony:phone_numbers", Role.VIEWER, "settings", 40),
        NavItem(_("Assistant"), "telephony:assistant", Role.VIEWER, "settings", 41),
        NavItem(_("Intents"), "telephony:intents", Role.VIEWER, "settings", 42),
        NavItem(_("Emergency rota"), "telephony:emergency_contacts", Role.VIEWER, "settings", 43),
    ]
    customer_panels = ["telephony.panels.customer"]

    def ready(self):
        from billing.entitlements import register_counter
        from organisations import customer_data
        from telephony import privacy, signals
        from telephony.models import PhoneNumber

        # Released numbers stay as inactive rows for history; only active ones use the plan.
        register_counter(
            "phone_number", lambda org: PhoneNumber.objects.filter(active=True).count()
        )
        signals.connect()
        customer_data.register("calls", export=privacy.export_calls, erase=privacy.erase_calls)
        customer_data.register("texts", export=privacy.export_texts, erase=privacy.erase_texts)
