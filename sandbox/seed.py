"""Deterministic seed data for the three upstreams.

Built once from a fixed `random.Random` seed, so every run (and every machine) sees the same orgs,
users, invoices and issues; upstreams take private copies and restore them on reset. A copy is
unpickled from bytes pickled once: about ten times faster than `copy.deepcopy` of the same objects,
and every test's `/_sandbox/reset` takes one of each upstream's. `org-1` has a
fixed shape that the gateway's reference "dashboard" query and its tests rely on.
"""

from __future__ import annotations

import functools
import itertools
import pickle
import random
from datetime import UTC, datetime

from sandbox.models import (
    BillingData,
    Customer,
    IdentityData,
    Invoice,
    Issue,
    Org,
    Project,
    ProjectsData,
    Seed,
    Subscription,
    User,
)

SEED = 20240601
ORG_COUNT = 240
USER_COUNT = 6000
ORG1_MEMBERS = 80
ORG1_PROJECTS = 30
ORG1_ISSUES_PER_PROJECT = 15
FIRST_PAGE = 50
"""Members ranked beyond this are outside the first members page; org-1 owners/assignees use them."""

SEED_NOW = 1_735_689_600  # 2025-01-01T00:00:00Z: the seed's fixed "now"
DAY = 86_400


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


_COMPANIES = _words(
    "Acme Globex Initech Umbrella Hooli Vandelay Wonka Aperture Cyberdyne Soylent Tyrell Gringotts "
    "Monarch Stark Wayne Oscorp Nakatomi Virtucon Sirius Zorg Oceanic Contoso Fabrikam"
)
_INDUSTRIES = _words(
    "Robotics Analytics Logistics Labs Systems Foods Energy Media Health Capital Dynamics Networks "
    "Studios Aerospace Biotech Retail Security Software Textiles Ventures"
)
_FIRST = _words(
    "Ada Alan Grace Linus Barbara Edsger Margaret Donald Frances Ken Radia Dennis Hedy John Katherine "
    "Tim Sophie Guido Anita Niklaus Joan Bjarne Adele Claude Lynn Leslie Shafi Mary Jean Yukihiro"
)
_LAST = _words(
    "Lovelace Turing Hopper Torvalds Liskov Dijkstra Hamilton Knuth Allen Thompson Perlman Ritchie "
    "Lamarr McCarthy Johnson Berners-Lee Wilson Rossum Borg Wirth Clarke Stroustrup Goldberg Shannon "
    "Conway Lamport Goldwasser Shaw Sammet Matsumoto"
)
_PROJECT_WORDS = _words(
    "Apollo Borealis Cascade Delta Ember Falcon Gemini Harbor Ion Juniper Kestrel Lumen Meridian "
    "Nimbus Orion Pioneer Quartz Redwood Summit Tundra"
)
_PROJECT_KINDS = _words("Migration Rewrite Launch Platform Pipeline Portal Revamp Integration Audit")
_ISSUE_VERBS = _words("Fix|Add|Remove|Refactor|Document|Investigate|Speed up|Harden|Test|Upgrade", sep="|")
_ISSUE_OBJECTS = _words(
    "login flow|billing export|search index|CSV import|webhook retries|audit log|SSO settings|"
    "rate limiter|dashboard charts|invoice PDFs|mobile layout|API pagination|cache warmup",
    sep="|",
)
_PLANS = ("starter", "team", "business", "enterprise")
_SUB_STATUSES = ("active", "active", "active", "trialing", "past_due", "canceled")
_INVOICE_STATUSES = ("paid", "paid", "paid", "open", "open", "draft", "void", "uncollectible")
_ORG1_INVOICE_STATUSES = (  # oldest first; listed newest first
    "paid", "paid", "paid", "uncollectible", "paid", "void",
    "paid", "open", "paid", "open", "open", "draft",
)  # fmt: skip


def iso(unix: int) -> str:
    """ISO 8601 UTC with a `Z` suffix, as the identity API writes timestamps."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.cache
def _pristine() -> Seed:
    rng = random.Random(SEED)
    identity = _identity(rng)
    return Seed(identity=identity, billing=_billing(rng, identity), projects=_projects(rng, identity))


@functools.cache
def _pickled(part: str) -> bytes:
    """One part of the pristine seed (`identity`, `billing` or `projects`), pickled once."""
    return pickle.dumps(getattr(_pristine(), part), pickle.HIGHEST_PROTOCOL)


def fresh_seed() -> Seed:
    """A private copy of the seed that the caller may mutate."""
    return Seed(identity=fresh_identity(), billing=fresh_billing(), projects=fresh_projects())


def fresh_identity() -> IdentityData:
    identity: IdentityData = pickle.loads(_pickled("identity"))  # noqa: S301  # bytes of our own
    return identity


def fresh_billing() -> BillingData:
    billing: BillingData = pickle.loads(_pickled("billing"))  # noqa: S301  # bytes of our own
    return billing


def fresh_projects() -> ProjectsData:
    projects: ProjectsData = pickle.loads(_pickled("projects"))  # noqa: S301  # bytes of our own
    return projects


def _identity(rng: random.Random) -> IdentityData:
    companies = list(itertools.product(_COMPANIES, _INDUSTRIES))
    companies.remove(("Acme", "Robotics"))
    names = [("Acme", "Robotics"), *rng.sample(companies, ORG_COUNT - 1)]
    orgs: dict[str, Org] = {}
    for n, (company, industry) in enumerate(names, start=1):
        created = SEED_NOW - rng.randint(400, 2000) * DAY
        slug = f"{company}-{industry}".lower().replace(" ", "-")
        org = Org(id=f"org-{n}", name=f"{company} {industry}", slug=slug, created_at=iso(created))
        orgs[org.id] = org

    org1_numbers = set(rng.sample(range(1, USER_COUNT + 1), ORG1_MEMBERS))
    others = [n for n in range(1, USER_COUNT + 1) if n not in org1_numbers]
    rng.shuffle(others)
    org_of = dict.fromkeys(org1_numbers, 1)
    for i, n in enumerate(others):  # every other org gets at least one member
        org_of[n] = 2 + i if i < ORG_COUNT - 1 else rng.randint(2, ORG_COUNT)

    users: dict[str, User] = {}
    for n in range(1, USER_COUNT + 1):
        org = orgs[f"org-{org_of[n]}"]
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        user = User(
            id=f"user-{n}",
            org_id=org.id,
            name=f"{first} {last}",
            email=f"{first}.{last}.{n}@{org.slug}.example".lower(),
            phone=f"+1-555-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}",
            updated_at=iso(SEED_NOW - rng.randint(0, 300 * DAY)),
        )
        users[user.id] = user
        org.member_ids.append(user.id)  # ascending numeric id by construction
    return IdentityData(orgs=orgs, users=users)


def _billing(rng: random.Random, identity: IdentityData) -> BillingData:
    data = BillingData(customers={}, customer_by_org={}, subscriptions={}, invoices={}, invoices_by_customer={})
    for org in identity.orgs.values():
        n = int(org.id.removeprefix("org-"))
        created = int(datetime.fromisoformat(org.created_at).timestamp())
        customer = Customer(
            id=f"cus_{n}", org_id=org.id, name=org.name, email=f"billing@{org.slug}.example",
            created=created,
        )  # fmt: skip
        data.customers[customer.id] = customer
        data.customer_by_org[org.id] = customer.id
        first = n == 1
        data.subscriptions[f"sub_{n}"] = Subscription(
            id=f"sub_{n}",
            customer=customer.id,
            plan="business" if first else rng.choice(_PLANS),
            status="active" if first else rng.choice(_SUB_STATUSES),
            seats=len(org.member_ids) if first else rng.randint(1, 200),
            current_period_end=SEED_NOW + rng.randint(1, 30) * DAY,
        )
        currency = "usd" if first or rng.random() < 0.7 else "eur"
        statuses = _ORG1_INVOICE_STATUSES if first else _random_statuses(rng)
        ids: list[str] = []
        for k, status in enumerate(statuses, start=1):
            issued = SEED_NOW - (len(statuses) - k) * 30 * DAY - rng.randint(1, 20) * DAY
            invoice = Invoice(
                id=f"in_{n}_{k}",
                number=f"MOB-{n:04d}-{k:04d}",
                customer=customer.id,
                amount_due=rng.randint(10, 5000) * 100 + rng.choice((0, 50, 99)),
                currency=currency,
                status=status,
                due_date=None if status == "draft" else issued + 30 * DAY,
                created=issued,
            )
            data.invoices[invoice.id] = invoice
            ids.append(invoice.id)
        data.invoices_by_customer[customer.id] = ids[::-1]
    return data


def _random_statuses(rng: random.Random) -> list[str]:
    return [rng.choice(_INVOICE_STATUSES) for _ in range(rng.randint(0, 6))]


def _projects(rng: random.Random, identity: IdentityData) -> ProjectsData:
    data = ProjectsData(projects={}, issues={}, projects_by_org={}, issues_by_project={}, next_issue_number=1)
    project_number = 0
    for org in identity.orgs.values():
        members = org.member_ids
        first = org.id == "org-1"
        data.projects_by_org[org.id] = []
        for i in range(1, (ORG1_PROJECTS if first else rng.randint(0, 6)) + 1):
            project_number += 1
            # A third of org-1's owners and assignees rank beyond the first members page.
            owner = _pick_member(rng, members, beyond=i % 3 == 0) if first else rng.choice(members)
            project = Project(
                id=f"proj-{project_number}",
                name=f"{rng.choice(_PROJECT_WORDS)} {rng.choice(_PROJECT_KINDS)}",
                org_id=org.id,
                owner_id=owner,
                state="ARCHIVED" if rng.random() < 0.15 else "ACTIVE",
            )
            data.projects[project.id] = project
            data.projects_by_org[org.id].append(project.id)
            data.issues_by_project[project.id] = []
            for _ in range(ORG1_ISSUES_PER_PROJECT if first else rng.randint(0, 8)):
                number = data.next_issue_number
                data.next_issue_number += 1
                if first:
                    assignee: str | None = _pick_member(rng, members, beyond=number % 3 == 0)
                else:
                    assignee = rng.choice(members) if rng.random() < 0.7 else None
                issue = Issue(
                    id=f"issue-{number}",
                    title=f"{rng.choice(_ISSUE_VERBS)} {rng.choice(_ISSUE_OBJECTS)}",
                    state="OPEN" if rng.random() < 0.6 else "CLOSED",
                    assignee_id=assignee,
                    project_id=project.id,
                )
                data.issues[issue.id] = issue
                data.issues_by_project[project.id].append(issue.id)
    return data


def _pick_member(rng: random.Random, members: list[str], *, beyond: bool) -> str:
    return rng.choice(members[FIRST_PAGE:] if beyond else members[:FIRST_PAGE])
