"""Telling an organisation's owners about billing: an in-app notification each, and an email."""

from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from organisations.emails import public_url
from organisations.models import Membership, Notification
from organisations.roles import Role


def notify_owners(organisation, *, title: str, body: str, level=Notification.Level.WARNING) -> None:
    """Inside the organisation's tenant: notify every owner, and email them after commit."""
    link = reverse("billing:overview")
    owners = [m.user for m in Membership.objects.filter(role=Role.OWNER).select_related("user")]
    for owner in owners:
        Notification.notify(title, body=body, level=level, link=link, recipient=owner)
    context = {
        "organisation": organisation,
        "title": title,
        "body": body,
        "billing_url": public_url(link),
    }
    message = render_to_string("billing/email/notice.txt", context)
    recipients = [owner.email for owner in owners]
    if recipients:
        transaction.on_commit(
            lambda: send_mail(
                subject=f"{organisation.name}: {title}",
                message=message,
                from_email=None,
                recipient_list=recipients,
            ),
            robust=True,
        )
