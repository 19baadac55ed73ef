"""Seeded helpdesk tickets for the support upstream: a handful per seeded organization.

Drawn from a random stream of their own, so the other upstreams' seed is untouched. Every
requester is a member of the ticket's organization; ids follow creation time. `org-1` has
`ORG1_TICKETS` tickets, a third of them requested by members beyond the first members page.
"""

from __future__ import annotations

import copy
import functools
import random
from dataclasses import dataclass
from datetime import datetime

from sandbox.models import JSON, IdentityData
from sandbox.seed import DAY, FIRST_PAGE, SEED, SEED_NOW, fresh_identity, iso

STATUSES = ("new", "open", "pending", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
ORG1_TICKETS = 25
OTHER_ORG_TICKETS = (2, 8)
"""Fewest and most tickets of every other organization."""

_STATUS_WEIGHTS = (10, 30, 15, 30, 15)
_PRIORITY_WEIGHTS = (25, 50, 18, 7)
_PROBLEMS = ("Cannot open", "Error in", "Slow", "Question about", "Please change", "Missing data in", "Broken")
_AREAS = (
    "the dashboard", "SSO login", "invoice PDFs", "CSV export", "API tokens", "webhooks", "the mobile app",
    "our seat count", "the billing address", "user invitations", "project permissions", "audit log",
)  # fmt: skip
_DETAILS = (
    "Started this morning for several of us.",
    "Screenshot attached.",
    "This blocks our month-end close.",
    "Not urgent, but please advise.",
    "We tried another browser; same result.",
)


@dataclass(slots=True)
class Ticket:
    id: int
    subject: str
    description: str
    status: str
    priority: str
    requester_id: str
    organization_id: str
    created_at: str
    updated_at: str

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "subject": self.subject,
            "description": self.description,
            "status": self.status,
            "priority": self.priority,
            "requester_id": self.requester_id,
            "organization_id": self.organization_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(slots=True)
class SupportData:
    tickets: dict[int, Ticket]
    by_org: dict[str, tuple[int, ...]]
    """Ticket ids per organization, ascending (oldest first); every seeded organization is a key.
    Nothing creates or moves tickets, so copies of the seed share it."""


@functools.cache
def _pristine() -> SupportData:
    return _tickets(random.Random(f"{SEED}:support"), fresh_identity())


def fresh_support() -> SupportData:
    """A private copy of the seeded tickets whose tickets the caller may change (a copy per reset:
    each ticket's fields are immutable values, so a shallow copy of each is a deep copy)."""
    seed = _pristine()
    return SupportData(tickets={i: copy.copy(t) for i, t in seed.tickets.items()}, by_org=seed.by_org)


def _tickets(rng: random.Random, identity: IdentityData) -> SupportData:
    drafts: list[tuple[int, Ticket]] = []
    for org in identity.orgs.values():
        first = org.id == "org-1"
        opened_since = max(int(datetime.fromisoformat(org.created_at).timestamp()), SEED_NOW - 365 * DAY)
        for k in range(ORG1_TICKETS if first else rng.randint(*OTHER_ORG_TICKETS)):
            members = org.member_ids
            if first:
                members = members[FIRST_PAGE:] if k % 3 == 0 else members[:FIRST_PAGE]
            created = rng.randint(opened_since, SEED_NOW - DAY)
            subject = f"{rng.choice(_PROBLEMS)} {rng.choice(_AREAS)}"
            ticket = Ticket(
                id=0,
                subject=subject,
                description=f"{subject}. {rng.choice(_DETAILS)}",
                status=rng.choices(STATUSES, _STATUS_WEIGHTS)[0],
                priority=rng.choices(PRIORITIES, _PRIORITY_WEIGHTS)[0],
                requester_id=rng.choice(members),
                organization_id=org.id,
                created_at=iso(created),
                updated_at=iso(min(SEED_NOW, created + rng.randint(0, 30 * DAY))),
            )
            drafts.append((created, ticket))
    tickets: dict[int, Ticket] = {}
    by_org: dict[str, list[int]] = {org_id: [] for org_id in identity.orgs}
    for number, (_, ticket) in enumerate(sorted(drafts, key=lambda draft: draft[0]), start=1):
        ticket.id = number
        tickets[number] = ticket
        by_org[ticket.organization_id].append(number)
    return SupportData(tickets=tickets, by_org={org_id: tuple(ids) for org_id, ids in by_org.items()})
