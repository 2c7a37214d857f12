from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("settings/billing/", views.overview, name="overview"),
    path("settings/billing/checkout/", views.checkout, name="checkout"),
    path("settings/billing/portal/", views.portal, name="portal"),
    path("settings/billing/minutes-cap/", views.minutes_cap, name="minutes_cap"),
    path("webhooks/stripe/", views.stripe_webhook, name="stripe_webhook"),
]
