"""What every settings section shares: strict, frozen models, and references to secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class Strict(BaseModel):
    """A settings section: unknown keys are errors, values are frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(Strict):
    """Where a secret comes from: exactly one of ``value`` (dev only), ``env`` or ``file``.

    ``value`` is a ``SecretStr``: masked in ``repr``, ``str`` and JSON dumps.
    """

    value: SecretStr | None = Field(default=None, repr=False)
    env: str | None = None
    file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, data: Any) -> Any:
        return {"value": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if sum(source is not None for source in (self.value, self.env, self.file)) != 1:
            raise ValueError("give exactly one of `value`, `env` or `file`")
        return self
