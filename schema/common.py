"""Types shared by several domains."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from schema.context import GatewayContext

GatewayInfo = Info[GatewayContext, None]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
