"""The ``answered_now`` functions of the schema's fields (``schema.plans``).

The planned executor calls them per object (the owner of every project, the assignee of every
issue, every project's issues page, a billing account's subscription fields). They live here,
compiled with the executor (pyproject ``[tool.mobius.mypyc]``), so those calls stay native; the
fields declare them in their types' modules (``schema.projects``, ``schema.billing``). The billing
account's projections of its subscription (``plan_of`` and the others) are here too: each field's
resolver in ``schema.billing`` and its ``*_now`` answer with the same one.
"""

from __future__ import annotations

from asyncio import CancelledError, Future
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import resolvers.billing
import resolvers.identity
import resolvers.projects
from clients.billing import BillingSubscription
from clients.projects import IssueNode, IssuePage, PageInfo, ProjectNode
from resolvers.loaders import UNANSWERED
from schema.plans import LATER


def user_now(context: Any, user_id: str | None) -> Any:
    """What ``schema.identity.user_now_or_later`` answers where that needs no resolve info (the
    planned executor asks once the response's memo has missed): ``None`` for no id or a user not
    found, the user when the loader holds it, fresh (kept in the response's memo as the resolver
    keeps it); ``LATER`` while it is pending, when it failed or was served stale (the field's
    resolver then reports or marks it at its own path)."""
    if user_id is None:
        return None
    loaders = context.loaders
    model: Any = fresh_value(loaders, resolvers.identity.user_answered(loaders, user_id))  # LATER too
    if model is not None and model is not LATER:
        context.users[model.id] = model
    return model


def fresh(loaders: Any, found: Future[Any]) -> Any:
    """What ``found`` was answered with (``None`` included) when it is answered and not served
    stale; else ``LATER`` (pending, failed, or stale: the field's resolver reports or marks it).
    ``result()`` raises for a cancelled or failed future: two calls where asking ``cancelled()``
    and ``exception()`` first took four."""
    if not found.done():
        return LATER
    try:
        value = found.result()
    except (Exception, CancelledError):
        return LATER
    cache = loaders.cache
    if value is not None and cache is not None and cache.stale.lookup(value) is not None:
        return LATER
    return value


def fresh_value(loaders: Any, value: Any) -> Any:
    """``fresh`` of what ``ReadLoader.answered`` answered: the value (``None`` included) unless it
    is ``UNANSWERED`` (pending or failed) or was served stale; else ``LATER``."""
    if value is UNANSWERED:
        return LATER
    cache = loaders.cache
    if value is not None and cache is not None and cache.stale.lookup(value) is not None:
        return LATER
    return value


def assignee_now(issue: IssueNode, context: Any, _args: Mapping[str, Any]) -> Any:
    """``Issue.assignee`` where it is ready (``user_now``)."""
    return user_now(context, issue.assignee_id)


def owner_now(project: ProjectNode, context: Any, _args: Mapping[str, Any]) -> Any:
    """``Project.owner`` where it is ready (``user_now``)."""
    return user_now(context, project.owner_id)


def issue_state(args: Mapping[str, Any]) -> str | None:
    """The upstream's value of an issues field's ``state`` argument (graphql-core coerces it to a
    member of the Python enum behind ``IssueState``), or None."""
    state = args.get("state")
    return None if state is None or not isinstance(state, Enum) else state.value


def issue_page(page: IssuePage | None) -> IssuePage:
    """An ``IssueConnection``: the page itself, or an empty one."""
    return IssuePage(total_count=0, page_info=PageInfo(has_next_page=False), nodes=[]) if page is None else page


def issues_now(project: ProjectNode, context: Any, args: Mapping[str, Any]) -> Any:
    """``Project.issues`` where the loader holds the page, fresh; else ``LATER``."""
    loaders = context.loaders
    found = resolvers.projects.issues_answered(loaders, project.id, args["first"], args.get("after"), issue_state(args))
    page: Any = fresh_value(loaders, found)  # LATER too: an annotation would be checked, compiled
    return page if page is LATER else issue_page(page)


def _subscription_now(account: Any, context: Any) -> Any:
    """A billing account's subscription where the loader holds it, fresh (``None`` for none); else ``LATER``."""
    loaders = context.loaders
    return fresh_value(loaders, resolvers.billing.subscription_answered(loaders, account.customer_id))


def plan_of(subscription: BillingSubscription | None) -> str | None:
    """``BillingAccount.plan`` of the account's subscription (its resolver and ``plan_now`` answer this)."""
    return None if subscription is None else subscription.plan


def status_of(subscription: BillingSubscription | None) -> str | None:
    """``BillingAccount.status`` of the account's subscription."""
    return None if subscription is None else subscription.status.upper()


def seats_of(subscription: BillingSubscription | None) -> int | None:
    """``BillingAccount.seats`` of the account's subscription."""
    return None if subscription is None else subscription.seats


def period_end_of(subscription: BillingSubscription | None) -> datetime | None:
    """``BillingAccount.currentPeriodEnd`` of the account's subscription."""
    return None if subscription is None else datetime.fromtimestamp(subscription.current_period_end, UTC)


def plan_now(account: Any, context: Any, _args: Mapping[str, Any]) -> Any:
    """``BillingAccount.plan`` where the subscription is ready (``_subscription_now``)."""
    subscription = _subscription_now(account, context)
    return subscription if subscription is LATER else plan_of(subscription)


def status_now(account: Any, context: Any, _args: Mapping[str, Any]) -> Any:
    """``BillingAccount.status`` where the subscription is ready."""
    subscription = _subscription_now(account, context)
    return subscription if subscription is LATER else status_of(subscription)


def seats_now(account: Any, context: Any, _args: Mapping[str, Any]) -> Any:
    """``BillingAccount.seats`` where the subscription is ready."""
    subscription = _subscription_now(account, context)
    return subscription if subscription is LATER else seats_of(subscription)


def period_end_now(account: Any, context: Any, _args: Mapping[str, Any]) -> Any:
    """``BillingAccount.currentPeriodEnd`` where the subscription is ready."""
    subscription = _subscription_now(account, context)
    return subscription if subscription is LATER else period_end_of(subscription)
