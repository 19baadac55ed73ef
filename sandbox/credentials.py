"""The secrets the sandbox upstreams accept, by upstream name; defaults match the gateway's example configuration.

Each upstream module declares its own frozen credentials dataclass (`IdentityCredentials`,
`BillingCredentials`, ...) with its defaults; `SandboxCredentials` holds the ones a caller replaces
and answers every other upstream with its declared defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sandbox.registry import SandboxRegistry, SandboxUpstream, default_registry

C = TypeVar("C")


class SandboxCredentials:
    """What each sandbox upstream accepts: `SandboxCredentials(billing=BillingCredentials(api_key=...))`.

    `credentials.identity.client_id` reads an upstream of the default registry by name; the
    server asks `credentials.of(upstream)`, which works for any registry.
    """

    __slots__ = ("_given",)

    def __init__(self, **by_name: object) -> None:
        self._given: Mapping[str, object] = dict(by_name)

    def of(self, upstream: SandboxUpstream[C]) -> C:
        """The credentials for `upstream`: the ones given under its name, else its defaults."""
        given = self._given.get(upstream.name)
        if given is None:
            return upstream.credentials
        expected = type(upstream.credentials)
        if not isinstance(given, expected):
            raise TypeError(
                f"credentials for {upstream.name!r} must be {expected.__name__}, not {type(given).__name__}"
            )
        return given

    def check(self, registry: SandboxRegistry) -> None:
        """Refuse credentials for an upstream the registry does not run (a typo would go unnoticed)."""
        unknown = sorted(set(self._given) - set(registry.names()))
        if unknown:
            raise ValueError(f"credentials for unknown sandbox upstreams {unknown}; there are: {registry.names()}")
        for upstream in registry:
            self.of(upstream)

    def replace(self, **by_name: object) -> SandboxCredentials:
        """A copy with the credentials of the named upstreams replaced."""
        return SandboxCredentials(**{**self._given, **by_name})

    def __getattr__(self, name: str) -> Any:
        registry = default_registry()
        if name.startswith("_") or name not in registry:
            raise AttributeError(name)
        return self.of(registry[name])

    def __repr__(self) -> str:
        return f"SandboxCredentials({', '.join(f'{name}=...' for name in sorted(self._given))})"
