"""Roles and the one helper every dashboard view uses to check them."""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db import models
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    # Ordered from most to least powerful; each role can do everything the ones below it can.
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    STAFF = "staff", _("Staff")
    VIEWER = "viewer", _("Viewer")

    @classmethod
    def rank(cls, role: str) -> int:
        order = [cls.VIEWER, cls.STAFF, cls.ADMIN, cls.OWNER]
        return order.index(role)


ROLE_HELP = {
    Role.OWNER: _("Everything, including billing and ownership."),
    Role.ADMIN: _("Settings, team and integrations."),
    Role.STAFF: _("Calls, appointments and customers."),
    Role.VIEWER: _("Read only."),
}


def role_required(role: str = Role.VIEWER):
    """Require a signed-in member of the current organisation with at least `role`.

    Anonymous users go to the login page, users without an organisation to the page that creates
    one, members below `role` get 403 (they know the page exists; objects of other organisations
    are 404 because the scoped manager never finds them).
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            membership = getattr(request, "membership", None)
            if membership is None:
                return redirect("organisations:create")
            if not membership.allows(role):
                raise PermissionDenied(_("Your role does not allow this."))
            return view(request, *args, **kwargs)

        wrapper.required_role = role
        return wrapper

    return decorator
