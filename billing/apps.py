from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from organisations.navigation import NavItem
from organisations.roles import Role


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")
    default_auto_field = "django.db.models.BigAutoField"
    dashboard_nav = [
        NavItem(_("Billing"), "billing:overview", Role.OWNER, "settings", 80, "card"),
    ]

    def ready(self):
        from billing import entitlements
        from organisations import limits

        limits.register("member", entitlements.refusal_for_new_member)
        limits.register("location", entitlements.refusal_for_new_location)
        limits.register("phone_number", entitlements.refusal_for_new_phone_number)
