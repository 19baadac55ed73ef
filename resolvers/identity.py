"""Reads of users and organizations."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, cast

from clients.identity import MEMBERS, ORGS, USERS, IdentityOrg, IdentityUser, MembersKey, MembersPage
from resolvers.errors import InvalidArgument, check_page_size
from resolvers.loaders import Loaders

MAX_IDS = 500


async def user(loaders: Loaders, user_id: str) -> IdentityUser | None:
    return await loaders[USERS].load(user_id)


def user_future(loaders: Loaders, user_id: str) -> asyncio.Future[IdentityUser | None]:
    """The loader's future for a user: already done when the user was primed or loaded earlier."""
    return loaders[USERS].load(user_id)


def user_answered(loaders: Loaders, user_id: str) -> Any:
    """The user where the loader has it at hand (``None`` for one not found), without a future
    for a primed one; else ``UNANSWERED`` (``ReadLoader.answered``)."""
    return loaders[USERS].answered(user_id)


def users_ahead(loaders: Loaders, user_ids: Iterable[str | None]) -> None:
    """Load the users a query will ask for by id (owners, assignees) ahead of its fields, once the
    members pages this request reads have primed theirs. Each id once, in the order first met,
    ``None`` (no owner, no assignee) left out: taken in one call of C, not through a generator."""
    wanted: dict[str | None, None] = dict.fromkeys(user_ids)
    wanted.pop(None, None)
    loaders.load_ahead(USERS, cast(dict[str, None], wanted))


async def users(loaders: Loaders, user_ids: list[str]) -> list[IdentityUser | None]:
    if len(user_ids) > MAX_IDS:
        raise InvalidArgument(f"`ids` may hold at most {MAX_IDS} ids, got {len(user_ids)}")
    return list(await loaders[USERS].load_many(user_ids))


async def organization(loaders: Loaders, org_id: str) -> IdentityOrg | None:
    return await loaders[ORGS].load(org_id)


def members(loaders: Loaders, org_id: str, first: int, after: str | None) -> asyncio.Future[MembersPage | None]:
    """A page of the organization's members (read ahead with the organization's own read)."""
    check_page_size(first)
    return loaders[MEMBERS].load(MembersKey(org_id, first, after))
