from django.conf import settings
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from organisations.rls import grant_app_role


@receiver(post_migrate, dispatch_uid="organisations.grant_app_role")
def grant_app_role_after_migrate(sender, **kwargs):
    if sender.name == "organisations":
        grant_app_role(settings.DATABASE_APP_ROLE)
