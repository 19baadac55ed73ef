"""Credential settings: masked secrets, placement and signing options built into auth objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from canary import CANARY, CANARY_CREDENTIALS

from clients.auth import HmacSignedAuth
from clients.messages import OutgoingRequest
from mobius.settings import ConfigError, HeaderAuthSettings, HmacAuthSettings, load_settings
from mobius.upstreams import build_auth, build_upstreams
from tests.clients.support import settings_with


def rendered(value: object) -> str:
    return repr(value) + str(value)


def test_inline_secrets_are_masked_in_reprs_and_dumps(sandbox: Any) -> None:
    settings = settings_with(sandbox.urls, sandbox.credentials)

    assert CANARY not in rendered(settings)
    assert CANARY not in settings.model_dump_json()
    assert CANARY not in str(settings.model_dump(mode="json"))
    assert CANARY not in rendered(settings.upstreams["billing"].auth)


def test_built_auth_objects_and_sources_show_no_secret(sandbox: Any) -> None:
    upstreams = build_upstreams(settings_with(sandbox.urls, sandbox.credentials))
    auths = [transport._auth for transport in upstreams.transports]

    assert all(CANARY not in rendered(auth) for auth in auths)
    assert all(CANARY not in repr(vars(auth)) for auth in auths)


def test_a_bad_secret_setting_is_reported_without_its_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            upstreams={
                "identity": {"base_url": "http://i"},
                "billing": {
                    "base_url": "http://b",
                    "auth": {
                        "type": "api_key_hmac",
                        "api_key": {"value": CANARY_CREDENTIALS.billing.api_key, "env": "ALSO"},
                        "signing_secret": CANARY_CREDENTIALS.billing.signing_secret,
                    },
                },
                "projects": {"base_url": "http://p"},
            }
        )

    assert "upstreams.billing.auth.api_key_hmac.api_key" in str(caught.value)
    assert CANARY not in str(caught.value)


def hmac_settings(**options: Any) -> HmacAuthSettings:
    return HmacAuthSettings.model_validate(
        {"type": "api_key_hmac", "api_key": "k" * 8, "signing_secret": "s" * 8, **options}
    )


async def test_query_placement_and_signing_options_are_built_from_settings() -> None:
    settings = hmac_settings(
        placement="query",
        query_param="key",
        signature_header="X-Sig",
        algorithm="sha512",
        signature_format="v={signature}",
        canonical_parts=["method", "path"],
        canonical_separator="|",
    )
    auth = build_auth("billing", "http://billing", settings)
    assert isinstance(auth, HmacSignedAuth)
    request = OutgoingRequest(method="GET", path_qs="/v1/x")
    auth.apply(request)

    assert request.path_qs == "/v1/x?key=kkkkkkkk"
    assert "Authorization" not in request.headers
    assert request.headers["X-Sig"].startswith("v=")
    assert len(request.headers["X-Sig"]) == len("v=") + 128  # sha512 hex


async def test_a_bare_header_key_has_no_scheme_and_a_query_key_no_header() -> None:
    bare = build_auth(
        "projects",
        "http://p",
        HeaderAuthSettings(type="api_key", token="k" * 8, header="X-Api-Key", scheme=""),
    )
    in_query = build_auth(
        "projects",
        "http://p",
        HeaderAuthSettings(type="api_key", token="k" * 8, placement="query", query_param="key"),
    )

    bare_request = OutgoingRequest(method="GET", path_qs="/graphql")
    query_request = OutgoingRequest(method="GET", path_qs="/graphql")
    assert bare.apply(bare_request) is not None
    assert in_query.apply(query_request) is not None

    assert bare_request.headers == {"X-Api-Key": "k" * 8}
    assert (query_request.path_qs, query_request.headers) == ("/graphql?key=kkkkkkkk", {})


@pytest.mark.parametrize("template", ["t={timestamp}", "{signature}-{nonce}", "{signature", "{0}"])
def test_a_signature_format_must_use_known_placeholders(template: str) -> None:
    with pytest.raises(ValueError, match="signature_format"):
        hmac_settings(signature_format=template)


def test_an_unknown_canonical_part_is_refused() -> None:
    with pytest.raises(ValueError, match="canonical_parts"):
        hmac_settings(canonical_parts=["timestamp", "host"])
