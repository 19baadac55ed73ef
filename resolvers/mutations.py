"""Writes. Never retried blindly: a write goes upstream once unless it carries an idempotency key."""

from __future__ import annotations

import structlog

from clients.billing import BILLING, BillingInvoice
from clients.identity import IDENTITY, USERS, IdentityUser
from clients.projects import PROJECTS_SLOT, IssueNode
from clients.upstreams import Upstreams
from resolvers.cache import CacheUnavailable
from resolvers.errors import InvalidArgument
from resolvers.loaders import Loaders

log = structlog.get_logger("mobius.cache")

MAX_TITLE_CHARS = 256
MAX_IDEMPOTENCY_KEY_CHARS = 255


async def update_user(upstreams: Upstreams, user_id: str, changes: dict[str, str], if_match: str) -> IdentityUser:
    if not changes:
        raise InvalidArgument("`input` must change at least one field")
    if not if_match:
        raise InvalidArgument("`ifMatch` must be the etag of the user as last read")
    return await upstreams[IDENTITY].update_user(user_id, changes=changes, if_match=if_match)


async def pay_invoice(upstreams: Upstreams, invoice_id: str, idempotency_key: str) -> BillingInvoice:
    if not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidArgument(f"`idempotencyKey` must have 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters")
    return await upstreams[BILLING].pay_invoice(invoice_id, idempotency_key=idempotency_key)


async def create_issue(upstreams: Upstreams, project_id: str, title: str) -> IssueNode:
    title = title.strip()
    if not 0 < len(title) <= MAX_TITLE_CHARS:
        raise InvalidArgument(f"`title` must have 1 to {MAX_TITLE_CHARS} characters")
    return await upstreams[PROJECTS_SLOT].create_issue(project_id, title)


async def close_issue(upstreams: Upstreams, issue_id: str) -> IssueNode:
    return await upstreams[PROJECTS_SLOT].close_issue(issue_id)


async def forget(loaders: Loaders, *, entities: tuple[str, ...] = (), tags: tuple[str, ...] = ()) -> None:
    """After a write, drop what the cache holds about it here and in every replica. The write has
    happened: if the store is down this is logged, and the entries age out by their TTL."""
    if loaders.cache is None:
        return
    try:
        await loaders.cache.engine.invalidate(entities=entities, tags=tags)
    except CacheUnavailable:
        log.warning("cache_invalidation_failed", entities=list(entities), tags=list(tags))


async def remember_user(loaders: Loaders, user: IdentityUser) -> None:
    """A user as the upstream answered a write: this request and the cache read it from now on."""
    loaders[USERS].clear(user.id).prime(user.id, user)
    await forget(loaders, entities=(f"User:{user.id}",))
    if loaders.cache is not None:
        await loaders.cache.put(loaders.reads.source(USERS).ctype, [(user.id, user)])
