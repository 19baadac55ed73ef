"""Per-request loaders, built by the context getter and kept on the context."""

from __future__ import annotations

from dataclasses import dataclass

from clients.upstreams import Upstreams
from resolvers.loaders.billing import CustomerByOrgLoader, InvoicesByCustomerLoader, SubscriptionByCustomerLoader
from resolvers.loaders.identity import MembersByOrgLoader, OrgByIdLoader, UserByIdLoader
from resolvers.loaders.projects import IssuesByProjectLoader, ProjectByIdLoader, ProjectsByOrgLoader


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

    @classmethod
    def build(cls, upstreams: Upstreams) -> Loaders:
        users = UserByIdLoader(upstreams.identity)
        projects = ProjectByIdLoader(upstreams.projects)
        return cls(
            users=users,
            orgs=OrgByIdLoader(upstreams.identity),
            members=MembersByOrgLoader(upstreams.identity, users),
            customers=CustomerByOrgLoader(upstreams.billing),
            subscriptions=SubscriptionByCustomerLoader(upstreams.billing),
            invoices=InvoicesByCustomerLoader(upstreams.billing),
            projects=projects,
            projects_by_org=ProjectsByOrgLoader(upstreams.projects, projects),
            issues=IssuesByProjectLoader(upstreams.projects),
        )
