from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from organisations.rls import grant_app_role


class Command(BaseCommand):
    help = (
        "PostgreSQL: create the application role the web and worker processes connect as "
        "(LOGIN, not superuser, not owner, no BYPASSRLS) and grant it data rights. Run as the "
        "owner/admin role, after migrate."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", default="", help="Password for the role (LOGIN).")
        parser.add_argument("--role", default=settings.DATABASE_APP_ROLE)

    def handle(self, *args, role, password, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Row-level security and the app role exist on PostgreSQL only.")
        quoted = connection.ops.quote_name(role)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                cursor.execute(
                    f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
                )
                self.stdout.write(f"Created role {role}.")
            else:
                cursor.execute(f"ALTER ROLE {quoted} NOSUPERUSER NOBYPASSRLS")
            if password:
                cursor.execute(f"ALTER ROLE {quoted} PASSWORD %s", [password])
        grant_app_role(role)
        self.stdout.write(self.style.SUCCESS(f"{role} can read and write data; RLS applies to it."))
