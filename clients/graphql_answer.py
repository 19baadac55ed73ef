"""The type of a GraphQL result whose ``data`` has a known type (``Answer``), decoded in one pass
from the response bytes by its codec (``AnswerCodec``). A msgspec Struct, so it lives outside the
compiled ``clients.graphql``."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from clients.codec import StructCodec

D = TypeVar("D")


class Answer(msgspec.Struct, Generic[D], frozen=True):
    """A GraphQL result whose ``data`` has a known type."""

    data: D | None = None
    errors: list[dict[str, Any]] | msgspec.UnsetType = msgspec.UNSET
    extensions: dict[str, Any] | None = None


AnswerCodec = StructCodec[Answer[Any]]
