from organisations.models import Notification
from organisations.navigation import nav_for


def dashboard(request):
    """Layout data for dashboard pages: menu, organisation switcher, unread count."""
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    return {
        "nav": nav_for(request),
        "current_organisation": request.organisation,
        "current_membership": membership,
        "switchable_memberships": [m for m in request.memberships if m.pk != membership.pk],
        "unread_notifications": Notification.for_user(request.user)
        .filter(read_at__isnull=True)
        .count,
    }
