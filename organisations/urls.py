from django.contrib.auth import views as auth_views
from django.urls import path

from organisations import views
from organisations.forms import EmailLoginForm

app_name = "organisations"

urlpatterns = [
    path("", views.home, name="home"),
    path("organisations/new/", views.create_organisation, name="create"),
    path("organisations/<uuid:organisation_id>/switch/", views.switch_organisation, name="switch"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("profile/", views.profile, name="profile"),
    path("team/", views.team, name="team"),
    path("team/invite/", views.invite, name="invite"),
    path(
        "team/invitations/<uuid:invitation_id>/resend/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "team/invitations/<uuid:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("team/<uuid:membership_id>/role/", views.member_role, name="member_role"),
    path("team/<uuid:membership_id>/remove/", views.member_remove, name="member_remove"),
    path(
        "team/<uuid:membership_id>/make-owner/", views.transfer_ownership, name="transfer_ownership"
    ),
    path("settings/organisation/", views.organisation_settings, name="settings"),
    path("settings/locations/", views.locations, name="locations"),
    path("settings/locations/new/", views.location_edit, name="location_create"),
    path("settings/locations/<uuid:location_id>/", views.location_edit, name="location_edit"),
    path(
        "settings/locations/<uuid:location_id>/default/",
        views.location_make_default,
        name="location_make_default",
    ),
    path(
        "settings/locations/<uuid:location_id>/delete/",
        views.location_delete,
        name="location_delete",
    ),
    path("customers/", views.customers, name="customers"),
    path("customers/new/", views.customer_edit, name="customer_create"),
    path("customers/export.csv", views.customers_csv, name="customers_csv"),
    path("customers/<uuid:customer_id>/", views.customer_detail, name="customer"),
    path("customers/<uuid:customer_id>/edit/", views.customer_edit, name="customer_edit"),
    path("customers/<uuid:customer_id>/export/", views.customer_export, name="customer_export"),
    path("customers/<uuid:customer_id>/erase/", views.customer_erase, name="customer_erase"),
    path("settings/api-keys/", views.api_keys, name="api_keys"),
    path("settings/api-keys/<uuid:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("audit/", views.audit_log, name="audit_log"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path(
        "notifications/<uuid:notification_id>/read/",
        views.notification_read,
        name="notification_read",
    ),
]

account_urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=EmailLoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("password-change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password-change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]
