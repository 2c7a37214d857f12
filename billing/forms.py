from django import forms
from django.utils.translation import gettext_lazy as _

from billing.models import Plan, Subscription
from organisations.forms import TenantModelForm


class CheckoutForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.for_sale(), label=_("Plan"))


class MinutesCapForm(TenantModelForm):
    class Meta:
        model = Subscription
        fields = ["minutes_hard_cap"]
