"""Reads of an organization's support tickets."""

from __future__ import annotations

import asyncio

from clients.support import TICKET_PAGES, TicketsKey, TicketsPage
from resolvers.errors import check_page_size
from resolvers.loaders import Loaders


def tickets(loaders: Loaders, org_id: str, first: int, after: str | None) -> asyncio.Future[TicketsPage | None]:
    """A page of the organization's tickets (read ahead with the organization's own read)."""
    check_page_size(first)
    return loaders[TICKET_PAGES].load(TicketsKey(org_id, first, after))
