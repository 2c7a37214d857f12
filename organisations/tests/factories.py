import factory
from factory.django import DjangoModelFactory

from organisations.models import (
    ApiKey,
    AuditEvent,
    Customer,
    Invitation,
    Location,
    Membership,
    Notification,
    Organisation,
    User,
)
from organisations.roles import Role
from organisations.tenancy import platform_access

PASSWORD = "correct-horse-battery-staple"


class TenantFactory(DjangoModelFactory):
    """Factories for tenant rows create them with platform access, like seeding does."""

    class Meta:
        abstract = True

    @classmethod
    def _get_manager(cls, model_class):
        return model_class.all_organisations

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with platform_access():
            return super()._create(model_class, *args, **kwargs)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@clinic.example")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Clinic {n}")
    slug = factory.Sequence(lambda n: f"clinic-{n}")
    industry = Organisation.Industry.DENTAL
    country = "US"


class LocationFactory(TenantFactory):
    class Meta:
        model = Location

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Site {n}")
    timezone = "America/New_York"


class MembershipFactory(TenantFactory):
    class Meta:
        model = Membership

    organisation = factory.SubFactory(OrganisationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.STAFF


class InvitationFactory(TenantFactory):
    class Meta:
        model = Invitation

    organisation = factory.SubFactory(OrganisationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@clinic.example")
    role = Role.STAFF
    token_hash = factory.Sequence(lambda n: f"{n:064d}")
    expires_at = factory.Faker("future_datetime", end_date="+5d", tzinfo=__import__("datetime").UTC)


class CustomerFactory(TenantFactory):
    class Meta:
        model = Customer

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Faker("name")
    phone = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")


class AuditEventFactory(TenantFactory):
    class Meta:
        model = AuditEvent

    organisation = factory.SubFactory(OrganisationFactory)
    action = "organisation.updated"
    target_repr = "settings"


class NotificationFactory(TenantFactory):
    class Meta:
        model = Notification

    organisation = factory.SubFactory(OrganisationFactory)
    title = factory.Sequence(lambda n: f"Notice {n}")


class ApiKeyFactory(TenantFactory):
    class Meta:
        model = ApiKey

    name = factory.Sequence(lambda n: f"Key {n}")
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.STAFF
    prefix = factory.Sequence(lambda n: f"{n:08x}")
    key_hash = factory.Sequence(lambda n: f"{n:064x}")
