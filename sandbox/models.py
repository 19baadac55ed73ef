"""The sandbox's records, one mutable dataclass per upstream entity, and their wire shapes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


def numeric_id(entity_id: str) -> int:
    """The number after the last separator (`user-17` -> 17, `cus_3` -> 3); orders ids naturally."""
    return int(entity_id.replace("_", "-").rsplit("-", 1)[-1])


@dataclass(slots=True)
class User:
    id: str
    org_id: str
    name: str
    email: str
    phone: str
    updated_at: str
    version: int = 1

    @property
    def etag(self) -> str:
        content = f"{self.id}|{self.version}|{self.name}|{self.phone}|{self.updated_at}"
        return hashlib.sha1(content.encode(), usedforsecurity=False).hexdigest()[:20]

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "org_id": self.org_id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "updated_at": self.updated_at,
            "etag": self.etag,
        }


@dataclass(slots=True)
class Org:
    id: str
    name: str
    slug: str
    created_at: str
    member_ids: list[str] = field(default_factory=list)

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "name": self.name,
            "slug": self.slug,
            "member_count": len(self.member_ids),
            "created_at": self.created_at,
        }


@dataclass(slots=True)
class IdentityData:
    orgs: dict[str, Org]
    users: dict[str, User]


@dataclass(slots=True)
class Customer:
    id: str
    org_id: str
    name: str
    email: str
    created: int

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "object": "customer",
            "org_id": self.org_id,
            "name": self.name,
            "email": self.email,
            "created": self.created,
        }


@dataclass(slots=True)
class Subscription:
    id: str
    customer: str
    plan: str
    status: str
    seats: int
    current_period_end: int

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "object": "subscription",
            "customer": self.customer,
            "plan": self.plan,
            "status": self.status,
            "seats": self.seats,
            "current_period_end": self.current_period_end,
        }


@dataclass(slots=True)
class Invoice:
    id: str
    number: str
    customer: str
    amount_due: int
    currency: str
    status: str
    due_date: int | None
    created: int

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "object": "invoice",
            "number": self.number,
            "customer": self.customer,
            "amount_due": self.amount_due,
            "currency": self.currency,
            "status": self.status,
            "due_date": self.due_date,
            "created": self.created,
        }


@dataclass(slots=True)
class BillingData:
    customers: dict[str, Customer]
    customer_by_org: dict[str, str]
    subscriptions: dict[str, Subscription]
    invoices: dict[str, Invoice]
    invoices_by_customer: dict[str, list[str]]
    """Invoice ids per customer, newest first."""


@dataclass(slots=True)
class Project:
    id: str
    name: str
    org_id: str
    owner_id: str
    state: str

    def to_graphql(self) -> JSON:
        return {
            "__typename": "Project",
            "id": self.id,
            "name": self.name,
            "orgId": self.org_id,
            "ownerId": self.owner_id,
            "state": self.state,
        }


@dataclass(slots=True)
class Issue:
    id: str
    title: str
    state: str
    assignee_id: str | None
    project_id: str

    def to_graphql(self) -> JSON:
        return {
            "__typename": "Issue",
            "id": self.id,
            "title": self.title,
            "state": self.state,
            "assigneeId": self.assignee_id,
            "projectId": self.project_id,
        }


@dataclass(slots=True)
class ProjectsData:
    projects: dict[str, Project]
    issues: dict[str, Issue]
    projects_by_org: dict[str, list[str]]
    issues_by_project: dict[str, list[str]]
    next_issue_number: int


@dataclass(slots=True)
class Seed:
    identity: IdentityData
    billing: BillingData
    projects: ProjectsData
