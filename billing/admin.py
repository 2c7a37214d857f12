from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from billing import webhooks
from billing.models import Invoice, Plan, StripeEvent, Subscription, UsageRecord
from billing.tasks import report_usage_to_stripe
from organisations.admin_base import TenantAdmin


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name", "code", "monthly_price", "currency", "included_minutes", "seats",
        "phone_numbers", "locations", "trial_days", "is_public", "is_archived",
    ]  # fmt: skip
    list_filter = ["is_public", "is_archived"]
    search_fields = ["name", "code", "stripe_price_id", "stripe_metered_price_id"]


@admin.register(Subscription)
class SubscriptionAdmin(TenantAdmin):
    list_display = [
        "organisation", "plan", "status", "current_period_end", "past_due_since",
        "restricted_at", "cancel_at_period_end",
    ]  # fmt: skip
    list_filter = ["status", "plan", "cancel_at_period_end"]
    search_fields = ["stripe_customer_id", "stripe_subscription_id"]
    readonly_fields = ["stripe_synced_at", "created_at", "updated_at"]


@admin.register(Invoice)
class InvoiceAdmin(TenantAdmin):
    list_display = ["number", "organisation", "status", "amount_due", "currency", "issued_at"]
    list_filter = ["status"]
    search_fields = ["number", "stripe_invoice_id"]
    date_hierarchy = "issued_at"

    def has_change_permission(self, request, obj=None):
        return False  # Stripe's copy is the truth; fix it there and the webhook updates ours.


@admin.register(UsageRecord)
class UsageRecordAdmin(TenantAdmin):
    list_display = ["call_id", "organisation", "minutes", "ended_at", "status", "attempts"]
    list_filter = ["status"]
    search_fields = ["call_id"]
    date_hierarchy = "ended_at"
    readonly_fields = ["reported_at", "created_at"]
    actions = ["report_again"]

    @admin.action(description=_("Report again to Stripe"))
    def report_again(self, request, queryset):
        records = list(queryset.exclude(status=UsageRecord.Status.REPORTED))
        for record in records:
            UsageRecord.all_organisations.filter(pk=record.pk).update(
                status=UsageRecord.Status.PENDING, attempts=0, next_attempt_at=None, last_error=""
            )
            report_usage_to_stripe.delay_on_commit(
                organisation_id=str(record.organisation_id), usage_record_id=str(record.pk)
            )
        self.message_user(request, _("%(n)d reports queued.") % {"n": len(records)})


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "type", "organisation", "received_at", "processed_at", "attempts"]
    list_filter = ["type", "livemode", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["event_id", "type", "organisation__name"]
    date_hierarchy = "received_at"
    list_select_related = ["organisation"]
    actions = ["replay"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Replay (process again)"))
    def replay(self, request, queryset):
        failed = 0
        for record in queryset:
            outcome = webhooks.process(record.pk, replay=True)
            failed += not outcome.processed
        level = messages.WARNING if failed else messages.SUCCESS
        self.message_user(
            request,
            _("%(n)d replayed, %(failed)d failed.") % {"n": queryset.count(), "failed": failed},
            level,
        )
