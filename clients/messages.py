"""The request and response shapes that auth flows and transports exchange.

Plain classes, not dataclasses: compiled, a class's own ``__init__`` is native, where a dataclass
keeps the generated Python ``__init__`` (a frozen one sets each field through
``object.__setattr__``), and every upstream call makes two or three of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final


class OutgoingRequest:
    """One request as it will be sent. ``path_qs`` is the exact path and query on the wire."""

    def __init__(self, method: str, path_qs: str, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.method = method
        self.path_qs = path_qs
        self.body = body
        self.headers: dict[str, str] = {} if headers is None else headers


class RawResponse:
    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status: Final = status
        self.headers: Final = headers
        self.body: Final = body
