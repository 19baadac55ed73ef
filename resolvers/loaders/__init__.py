"""Per-request loaders, built by the context getter and kept on the context."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from clients.upstreams import Upstreams
from resolvers.cache import CacheType, RequestCache
from resolvers.loaders.billing import (
    CUSTOMERS,
    INVOICES,
    SUBSCRIPTIONS,
    CustomerByOrgLoader,
    InvoicesByCustomerLoader,
    SubscriptionByCustomerLoader,
)
from resolvers.loaders.identity import MEMBERS, ORGS, USERS, MembersByOrgLoader, OrgByIdLoader, UserByIdLoader
from resolvers.loaders.projects import (
    ISSUES,
    PROJECT_PAGES,
    PROJECTS,
    IssuesByProjectLoader,
    ProjectByIdLoader,
    ProjectsByOrgLoader,
)

CACHE_TYPES: tuple[CacheType[Any, Any], ...] = (
    USERS,
    ORGS,
    MEMBERS,
    CUSTOMERS,
    SUBSCRIPTIONS,
    INVOICES,
    PROJECTS,
    PROJECT_PAGES,
    ISSUES,
)


@dataclass(frozen=True, slots=True)
class Loaders:
    users: UserByIdLoader
    orgs: OrgByIdLoader
    members: MembersByOrgLoader
    customers: CustomerByOrgLoader
    subscriptions: SubscriptionByCustomerLoader
    invoices: InvoicesByCustomerLoader
    projects: ProjectByIdLoader
    projects_by_org: ProjectsByOrgLoader
    issues: IssuesByProjectLoader
    cache: RequestCache | None = None

    def release(self) -> None:
        """Forget every loaded value, once the request is answered (``schema.context``)."""
        for name in _LOADER_FIELDS:
            getattr(self, name).clear_all()

    @classmethod
    def build(cls, upstreams: Upstreams, cache: RequestCache | None = None) -> Loaders:
        """Per request; ``cache`` is ``engine.request()`` of the gateway's ``CacheEngine``, or ``None``."""
        users = UserByIdLoader(upstreams.identity, cache)
        projects = ProjectByIdLoader(upstreams.projects, cache)
        issues = IssuesByProjectLoader(upstreams.projects, cache)
        return cls(
            users=users,
            orgs=OrgByIdLoader(upstreams.identity, cache),
            members=MembersByOrgLoader(upstreams.identity, users, cache),
            customers=CustomerByOrgLoader(upstreams.billing, cache),
            subscriptions=SubscriptionByCustomerLoader(upstreams.billing, cache),
            invoices=InvoicesByCustomerLoader(upstreams.billing, cache),
            projects=projects,
            projects_by_org=ProjectsByOrgLoader(upstreams.projects, projects, issues, cache),
            issues=issues,
            cache=cache,
        )


_LOADER_FIELDS = tuple(field.name for field in fields(Loaders) if field.name != "cache")
