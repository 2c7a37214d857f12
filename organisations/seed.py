"""Demo data: two clinics in different time zones, each with a full team and some customers.

`manage.py seed_demo` calls `seed_platform()` once and then, for every demo organisation,
the `seed_organisation(organisation)` function of each app's `seed` module (in app order), inside
that organisation's transaction. Every step is idempotent: running it again changes nothing.
"""

from organisations.models import Customer, Location, Membership, Organisation, User
from organisations.roles import Role

DEMO_PASSWORD = "frontdesk-demo-2026"

CLINICS = [
    {
        "slug": "bright-smile-dental",
        "name": "Bright Smile Dental",
        "industry": Organisation.Industry.DENTAL,
        "country": "GB",
        "language": "en",
        "domain": "brightsmile.example",
        "locations": [
            ("Camden", "Europe/London", "12 Parkway, London NW1 7AA", "+442079460000"),
            ("Islington", "Europe/London", "210 Upper Street, London N1 1RL", "+442079460001"),
        ],
        "customers": [
            ("Olivia Bennett", "+442079460101", "olivia.bennett@mail.example", "en"),
            ("Harry Clarke", "+442079460102", "", "en"),
            ("Amelia Patel", "+442079460103", "amelia.p@mail.example", "en"),
            ("Jack Wilson", "+442079460104", "", "en"),
            ("Lucía Fernández", "+442079460105", "lucia.f@mail.example", "es"),
            ("George Evans", "+442079460106", "", "en"),
        ],
    },
    {
        "slug": "pacific-physio",
        "name": "Pacific Physiotherapy",
        "industry": Organisation.Industry.PHYSIOTHERAPY,
        "country": "US",
        "language": "en",
        "domain": "pacificphysio.example",
        "locations": [
            (
                "Santa Monica",
                "America/Los_Angeles",
                "1450 Ocean Ave, Santa Monica, CA 90401",
                "+13105550140",
            ),
        ],
        "customers": [
            ("Emily Johnson", "+13105550171", "emily.j@mail.example", "en"),
            ("Carlos Ramírez", "+13105550172", "carlos.r@mail.example", "es"),
            ("Sophia Nguyen", "+13105550173", "", "en"),
            ("Michael Brown", "+13105550174", "", "en"),
            ("Valentina Ortiz", "+13105550175", "vortiz@mail.example", "es"),
        ],
    },
]

ROLES = [Role.OWNER, Role.ADMIN, Role.STAFF, Role.VIEWER]


def demo_user(email: str, full_name: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, DEMO_PASSWORD, full_name=full_name)
    return user


def demo_organisation(spec: dict) -> Organisation:
    organisation, _ = Organisation.objects.get_or_create(
        slug=spec["slug"],
        defaults={
            "name": spec["name"],
            "industry": spec["industry"],
            "country": spec["country"],
            "default_language": spec["language"],
        },
    )
    return organisation


def seed_team_and_customers(spec: dict) -> list[tuple[str, str]]:
    """Inside the clinic's tenant: its four users, locations and customers; returns the
    (role, email) logins."""
    logins = []
    for role in ROLES:
        email = f"{role}@{spec['domain']}"
        user = demo_user(email, f"{spec['name'].split()[0]} {role.label}")
        Membership.objects.get_or_create(user=user, defaults={"role": role})
        logins.append((role.label, email))
    for index, (name, tz, address, phone) in enumerate(spec["locations"]):
        Location.objects.get_or_create(
            name=name,
            defaults={"timezone": tz, "address": address, "phone": phone, "is_default": index == 0},
        )
    for name, phone, email, language in spec["customers"]:
        Customer.objects.get_or_create(
            phone=phone, defaults={"name": name, "email": email, "preferred_language": language}
        )
    return logins
