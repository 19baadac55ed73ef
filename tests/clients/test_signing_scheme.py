"""HMAC signing per attempt and the configurable scheme; the sandbox verifies strictly."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any, Literal

import pytest
from harness import upstream_requests
from yarl import URL

from clients.auth import HeaderAuth, HmacSignedAuth, set_query_param
from clients.messages import OutgoingRequest, RawResponse
from clients.secrets import StaticSecret
from clients.signing import SignatureScheme
from sandbox.signing import parse_signature_header, verify
from tests.clock import FakeClock

PATH = "/v1/customers?org_id=org-1"


def signer(sandbox: Any, clock: FakeClock, *, placement: Literal["header", "query"] = "header") -> HmacSignedAuth:
    credentials = sandbox.credentials
    key = HeaderAuth(StaticSecret(credentials.billing.api_key), placement=placement)
    return HmacSignedAuth(key, StaticSecret(credentials.billing.signing_secret), clock=clock)


async def send(sandbox: Any, request: OutgoingRequest) -> int:
    url = URL(sandbox.urls.billing + request.path_qs, encoded=True)
    async with sandbox.http.request(request.method, url, data=request.body, headers=request.headers) as response:
        await response.read()
        return response.status


async def signed(auth: HmacSignedAuth, request: OutgoingRequest) -> OutgoingRequest:
    """One application of the auth: the request as the transport would send it."""
    auth.apply(request)
    return request


async def test_a_second_pass_through_the_flow_signs_the_same_request_with_a_fresh_timestamp(sandbox: Any) -> None:
    clock = FakeClock(start=time.time())
    auth = signer(sandbox, clock)
    request = OutgoingRequest(method="GET", path_qs=PATH)

    first = (await signed(auth, request)).headers["Mobius-Signature"]
    assert await send(sandbox, request) == 200
    clock.advance(61)
    second = (await signed(auth, request)).headers["Mobius-Signature"]
    assert await send(sandbox, request) == 200

    first_parsed, second_parsed = parse_signature_header(first), parse_signature_header(second)
    assert first_parsed is not None
    assert second_parsed is not None
    assert second_parsed[0] == first_parsed[0] + 61
    assert second_parsed[1] != first_parsed[1]
    secret = sandbox.credentials.billing.signing_secret
    assert verify(secret, second, "GET", PATH, b"", now=clock()) is None


@pytest.mark.parametrize("tamper", ["signature", "body", "path", "query"])
async def test_the_sandbox_refuses_a_tampered_request(sandbox: Any, tamper: str) -> None:
    auth = signer(sandbox, FakeClock(start=time.time()))
    request = await signed(auth, OutgoingRequest(method="POST", path_qs="/v1/invoices/in_1/pay", body=b"{}"))
    if tamper == "signature":
        header = request.headers["Mobius-Signature"]
        request.headers["Mobius-Signature"] = header[:-1] + ("0" if header[-1] != "0" else "1")
    elif tamper == "body":
        request.body = b'{"amount": 1}'
    elif tamper == "path":
        request.path_qs = "/v1/invoices/in_2/pay"
    else:
        request.path_qs += "?amount=1"

    assert await send(sandbox, request) == 401
    assert (await sandbox.key_stats("billing", "signing_secret"))["rejected"] == 1
    assert await sandbox.api_requests() == upstream_requests(billing=1)


async def test_the_sandbox_refuses_a_wrong_secret_and_a_stale_timestamp(sandbox: Any) -> None:
    credentials = sandbox.credentials
    wrong = HmacSignedAuth(
        HeaderAuth(StaticSecret(credentials.billing.api_key)), StaticSecret("not-the-signing-secret"), clock=time.time
    )
    assert await send(sandbox, await signed(wrong, OutgoingRequest(method="GET", path_qs=PATH))) == 401
    stale = signer(sandbox, FakeClock(start=time.time() - 301))
    assert await send(sandbox, await signed(stale, OutgoingRequest(method="GET", path_qs=PATH))) == 401
    fresh = signer(sandbox, FakeClock(start=time.time()))
    assert await send(sandbox, await signed(fresh, OutgoingRequest(method="GET", path_qs=PATH))) == 200


async def test_a_key_in_the_query_is_signed_with_it_and_never_repeated_on_a_second_pass(sandbox: Any) -> None:
    clock = FakeClock(start=time.time())
    auth = signer(sandbox, clock, placement="query")
    request = OutgoingRequest(method="GET", path_qs=PATH)

    await signed(auth, request)
    clock.advance(5)
    await signed(auth, request)

    assert request.path_qs.count("api_key=") == 1
    assert "Authorization" not in request.headers
    assert await send(sandbox, request) == 200
    assert (await sandbox.key_stats("billing", "api_key"))["accepted"] == {"k1": 1}


def test_set_query_param_replaces_only_its_own_pair() -> None:
    assert set_query_param("/v1/x", "api_key", "k") == "/v1/x?api_key=k"
    assert set_query_param("/v1/x?a=1&api_key=old&b=2", "api_key", "n w") == "/v1/x?a=1&b=2&api_key=n%20w"
    assert set_query_param("/v1/x?api_key_id=3", "api_key", "k") == "/v1/x?api_key_id=3&api_key=k"


def test_a_custom_scheme_signs_the_configured_parts_with_the_configured_algorithm_and_format() -> None:
    scheme = SignatureScheme(
        algorithm="sha512",
        header="X-Signature",
        header_format="hmac-sha512 ts={timestamp} sig={signature}",
        parts=("method", "path", "timestamp", "content_type", "body_sha256"),
        separator="\n",
    )
    request = OutgoingRequest(method="post", path_qs="/v1/a?b=1", body=b"{}", headers={"content-type": "text/x"})
    message = "\n".join(["POST", "/v1/a?b=1", "1700000000", "text/x", hashlib.sha256(b"{}").hexdigest()])
    expected = hmac.new(b"k", message.encode(), hashlib.sha512).hexdigest()

    assert scheme.header_value("k", 1_700_000_000, request) == f"hmac-sha512 ts=1700000000 sig={expected}"


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
@pytest.mark.parametrize("secret", ["", "k", "s" * 200, "clé"])
@pytest.mark.parametrize("body", [b"", b'{"a":1}'])
def test_a_signer_keyed_once_signs_as_hmac_does_with_its_secret(
    algorithm: Literal["sha256", "sha512"], secret: str, body: bytes
) -> None:
    request = OutgoingRequest(method="post", path_qs="/v1/a?b=1", body=body, headers={"Content-Type": "text/x"})
    for scheme in (
        SignatureScheme(algorithm=algorithm),
        SignatureScheme(algorithm=algorithm, parts=("content_type", "body_sha256", "method"), separator="|"),
    ):
        signer = scheme.signer(secret)
        for timestamp in (1_700_000_000, 1_700_000_001):
            expected = hmac.digest(secret.encode(), scheme.canonical(timestamp, request), algorithm).hex()
            assert signer.signature(timestamp, request) == expected
            assert signer.header_value(timestamp, request) == scheme.header_format.format(
                timestamp=timestamp, signature=expected
            )


class _Rotated:
    """A secret source whose value the test replaces."""

    def __init__(self, value: str) -> None:
        self.value = value

    def reveal(self) -> str:
        return self.value

    async def refresh(self) -> None:
        return None


def test_the_flow_signs_with_the_signing_secret_it_reads_now() -> None:
    signing_secret = _Rotated("first")
    auth = HmacSignedAuth(HeaderAuth(StaticSecret("key")), signing_secret, clock=lambda: 1_700_000_000)
    request = OutgoingRequest(method="GET", path_qs=PATH)
    auth.apply(request)
    signing_secret.value = "second"
    again = OutgoingRequest(method="GET", path_qs=PATH)
    auth.apply(again)

    scheme = SignatureScheme()
    assert request.headers["Mobius-Signature"] == scheme.header_value("first", 1_700_000_000, request)
    assert again.headers["Mobius-Signature"] == scheme.header_value("second", 1_700_000_000, again)


async def test_a_refusal_dated_within_the_resync_threshold_does_not_move_the_clock(sandbox: Any) -> None:
    clock = FakeClock(start=1_700_000_000)
    auth = signer(sandbox, clock)
    request = OutgoingRequest(method="GET", path_qs=PATH)
    used = auth.apply(request)
    near = RawResponse(status=401, headers={"Date": "Tue, 14 Nov 2023 22:13:40 GMT"}, body=b"")  # 1_700_000_020

    assert not await auth.refused(request, near, used)
    assert auth.clock_offset_s == 0.0


async def test_a_refusal_dated_far_off_resyncs_and_resigns_once(sandbox: Any) -> None:
    clock = FakeClock(start=1_700_000_000)
    auth = signer(sandbox, clock)
    request = OutgoingRequest(method="GET", path_qs=PATH)
    used = auth.apply(request)
    far = RawResponse(status=401, headers={"Date": "Tue, 14 Nov 2023 23:13:20 GMT"}, body=b"")  # +3600

    assert await auth.refused(request, far, used)
    parsed = parse_signature_header(request.headers["Mobius-Signature"])
    assert parsed is not None
    assert parsed[0] == 1_700_003_600
