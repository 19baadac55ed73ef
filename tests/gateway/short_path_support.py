"""Types the short-path tests share: the planned executor is held to Strawberry's and
graphql-core's answers on small schemas built from them."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Person:
    id: strawberry.ID
    name: str | None
