"""Background work. Tenant tasks take `organisation_id` and run inside that organisation."""

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django.utils import timezone

from organisations.models import Invitation, Organisation
from organisations.tenancy import TenantScopeError, platform_transaction, tenant_transaction


class TenantTask(DjangoTask):
    """Base for tasks on one organisation's data.

    The task must be called with `organisation_id=` (a keyword, so it is visible in the broker
    message and the logs); the body runs in `tenant_transaction(organisation)`, so the scoped
    managers and row-level security both see that organisation only. Enqueue with
    `delay_on_commit` so the worker never runs before the rows it needs are committed.
    """

    abstract = True

    def __call__(self, *args, **kwargs):
        organisation_id = kwargs.get("organisation_id")
        if organisation_id is None:
            raise TenantScopeError(f"{self.name} needs organisation_id=")
        organisation = Organisation.objects.get(pk=organisation_id)
        with tenant_transaction(organisation):
            return super().__call__(*args, **kwargs)


def tenant_task(*args, **options):
    """`@tenant_task(...)`: a shared task whose body runs inside its organisation."""
    return shared_task(*args, base=TenantTask, **options)


@shared_task
def expire_invitations() -> int:
    """Periodic: mark pending invitations past their expiry as expired."""
    with platform_transaction():
        return Invitation.all_organisations.filter(
            status=Invitation.Status.PENDING, expires_at__lte=timezone.now()
        ).update(status=Invitation.Status.EXPIRED)
