from django.contrib import admin
from django.urls import include, path

from organisations.urls import account_urlpatterns
from organisations.views import healthz

admin.site.site_header = "Frontdesk platform admin"
admin.site.site_title = "Frontdesk admin"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include(account_urlpatterns)),
    path("", include("config.api")),
    path("", include("billing.urls")),
    path("", include("calendars.urls")),
    path("", include("telephony.urls")),
    path("", include("organisations.urls")),
]
