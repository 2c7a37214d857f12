from importlib import import_module

from django.apps import apps
from django.core.management.base import BaseCommand

from organisations.models import User
from organisations.seed import CLINICS, DEMO_PASSWORD, demo_organisation, seed_team_and_customers
from organisations.tenancy import tenant_transaction

PLATFORM_ADMIN_EMAIL = "admin@frontdesk.example"


def app_seeders():
    """Each app's `seed.seed_organisation(organisation)`, in INSTALLED_APPS order."""
    for config in apps.get_app_configs():
        try:
            module = import_module(f"{config.name}.seed")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.seed":
                raise
            continue
        if hasattr(module, "seed_organisation"):
            yield module.seed_organisation


class Command(BaseCommand):
    help = "Load the demo clinics, their teams and data. Safe to run again: it changes nothing."

    def handle(self, *args, **options):
        seeders = list(app_seeders())
        logins = []
        for spec in CLINICS:
            organisation = demo_organisation(spec)
            with tenant_transaction(organisation):
                clinic_logins = seed_team_and_customers(spec)
                for seed in seeders:
                    seed(organisation)
            logins.append((organisation, clinic_logins))

        if not User.objects.filter(email=PLATFORM_ADMIN_EMAIL).exists():
            User.objects.create_superuser(
                PLATFORM_ADMIN_EMAIL, DEMO_PASSWORD, full_name="Platform admin"
            )

        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in at http://127.0.0.1:8000/"))
        for organisation, clinic_logins in logins:
            self.stdout.write(f"  {organisation.name}")
            for role, email in clinic_logins:
                self.stdout.write(f"    {role:<7} {email:<34} password: {DEMO_PASSWORD}")
        self.stdout.write(
            f"  Platform admin (/admin/): {PLATFORM_ADMIN_EMAIL}  password: {DEMO_PASSWORD}"
        )
