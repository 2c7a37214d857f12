from django.apps import apps
from django.core.management.base import BaseCommand

from organisations.encryption import encrypted_fields
from organisations.tenancy import platform_transaction


def reencrypt(model) -> int:
    """Rewrite every stored secret of `model` under the newest key; returns rows rewritten."""
    fields = encrypted_fields(model)
    if not fields:
        return 0
    count = 0
    manager = getattr(model, "all_organisations", model._default_manager)
    names = [field.name for field in fields]
    for pk, *values in manager.values_list("pk", *names).iterator():
        if not any(values):
            continue
        # Values come back decrypted (with whichever key works); saving encrypts with the first.
        manager.filter(pk=pk).update(**dict(zip(names, values, strict=True)))
        count += 1
    return count


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the newest FIELD_ENCRYPTION_KEYS key. Put the new "
        "key first, run this, then remove the old key."
    )

    def handle(self, *args, **options):
        total = 0
        with platform_transaction():
            for model in apps.get_models():
                rows = reencrypt(model)
                if rows:
                    self.stdout.write(f"{model._meta.label}: {rows} rows")
                total += rows
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} rows."))
