from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse


def public_url(path: str) -> str:
    return settings.PUBLIC_BASE_URL + path


def send_invitation_email(invitation, token: str, inviter) -> None:
    context = {
        "invitation": invitation,
        "organisation": invitation.organisation,
        "inviter": inviter,
        "accept_url": public_url(reverse("organisations:invitation", args=[token])),
        "valid_days": settings.INVITATION_VALID_DAYS,
    }
    send_mail(
        subject=render_to_string("organisations/email/invitation_subject.txt", context).strip(),
        message=render_to_string("organisations/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )
