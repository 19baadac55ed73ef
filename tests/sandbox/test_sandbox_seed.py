"""Seed invariants the gateway's tests and benchmarks rely on."""

from __future__ import annotations

from collections import Counter

from sandbox.models import numeric_id
from sandbox.seed import FIRST_PAGE, fresh_seed


def test_seed_is_identical_on_every_build() -> None:
    first, second = fresh_seed(), fresh_seed()
    assert first == second
    assert first is not second


def test_seed_has_240_orgs_and_6000_users_each_in_exactly_one_org() -> None:
    identity = fresh_seed().identity
    assert list(identity.orgs) == [f"org-{n}" for n in range(1, 241)]
    assert len(identity.users) == 6000
    memberships = Counter(uid for org in identity.orgs.values() for uid in org.member_ids)
    assert set(memberships) == set(identity.users)
    assert set(memberships.values()) == {1}
    for org in identity.orgs.values():
        assert all(identity.users[uid].org_id == org.id for uid in org.member_ids)
        assert org.member_ids == sorted(org.member_ids, key=numeric_id)


def test_org1_has_80_members_30_projects_with_15_issues_each() -> None:
    seed = fresh_seed()
    org1 = seed.identity.orgs["org-1"]
    assert len(org1.member_ids) == 80
    projects = seed.projects.projects_by_org["org-1"]
    assert projects == [f"proj-{n}" for n in range(1, 31)]
    for project_id in projects:
        issues = seed.projects.issues_by_project[project_id]
        assert len(issues) == 15
        assert issues == sorted(issues, key=numeric_id)


def test_org1_owners_and_assignees_reach_beyond_the_first_members_page() -> None:
    seed = fresh_seed()
    members = seed.identity.orgs["org-1"].member_ids
    beyond = set(members[FIRST_PAGE:])
    projects = [seed.projects.projects[p] for p in seed.projects.projects_by_org["org-1"]]
    issues = [seed.projects.issues[i] for p in projects for i in seed.projects.issues_by_project[p.id]]
    assert all(p.owner_id in members for p in projects)
    assert all(i.assignee_id in members for i in issues)
    assert sum(p.owner_id in beyond for p in projects) >= len(projects) / 4
    assert sum(i.assignee_id in beyond for i in issues) >= len(issues) / 4


def test_other_orgs_project_ids_continue_after_org1() -> None:
    projects = fresh_seed().projects
    others = [p for org, ids in projects.projects_by_org.items() if org != "org-1" for p in ids]
    assert others
    assert min(numeric_id(p) for p in others) == 31
    assert all(len(ids) <= 6 for org, ids in projects.projects_by_org.items() if org != "org-1")


def test_every_org_has_one_customer_and_org1_bills_as_specified() -> None:
    billing = fresh_seed().billing
    assert len(billing.customers) == 240
    assert billing.customer_by_org["org-1"] == "cus_1"
    subscription = billing.subscriptions["sub_1"]
    assert (subscription.status, subscription.plan, subscription.customer) == ("active", "business", "cus_1")
    invoices = [billing.invoices[i] for i in billing.invoices_by_customer["cus_1"]]
    assert len(invoices) == 12
    statuses = Counter(i.status for i in invoices)
    assert statuses["open"] >= 3
    assert statuses["paid"] >= 3
    assert [i.created for i in invoices] == sorted((i.created for i in invoices), reverse=True)
    assert all(len(ids) <= 6 for cus, ids in billing.invoices_by_customer.items() if cus != "cus_1")


def test_user_etag_changes_with_every_version() -> None:
    user = fresh_seed().identity.users["user-1"]
    before = user.etag
    user.version += 1
    assert user.etag != before
