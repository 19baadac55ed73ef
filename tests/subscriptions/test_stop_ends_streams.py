"""A stopped server (SIGTERM) ends its open subscription streams and exits, instead of waiting its
whole drain period (60 s here) for streams that never end by themselves; and the signal hook
(``mobius.draining.on_stop_signal``) that makes it so: run first, then the handler in place."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import aiohttp
import pytest
from canary import CANARY_CALLER_TOKEN
from harness import GatewayServer, free_port, gateway_settings
from subscription_support import BEARER, INVOICE_EVENTS, SandboxServerInfo, until_listening
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from mobius.demo import DEMO_CALLER_SCOPES, DEMO_CALLER_TOKEN, sandbox_upstreams
from mobius.draining import on_stop_signal

STOPPED_WITHIN_S = 30.0
"""Half the drain period: a server that waits for its streams takes 60 s."""
QUIET = {
    "MOBIUS_SERVER__DRAIN_S": "60",
    "MOBIUS_SUBSCRIPTIONS__HEARTBEAT_S": "3600",  # no heartbeat keeps a reader waiting past the deadline
}


def started(argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603  # our own CLI, under this interpreter
        [sys.executable, "-m", "mobius.cli", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, **QUIET},
    )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes started by a test, each with its session, killed (all of it) whatever happens."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def until_serving(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/health/live")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()
    raise AssertionError(f"the server on port {port} did not start (exit status {process.poll()})")


def open_event_stream(port: int, authorization: str) -> http.client.HTTPResponse:
    """An SSE subscription to org-1's invoice events, its response started."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=STOPPED_WITHIN_S)
    body = json.dumps({"query": INVOICE_EVENTS, "variables": {"org": "org-1"}})
    headers = {"content-type": "application/json", "accept": "text/event-stream", "authorization": authorization}
    connection.request("POST", "/graphql", body=body, headers=headers)
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("content-type", "").startswith("text/event-stream")
    return response


def subscribe_over_websocket(websocket: ClientConnection, authorization: str) -> None:
    """A graphql-transport-ws subscription to org-2's invoice events (another topic than the SSE
    stream's, so that the two are two subscribers, not one shared execution), acknowledged."""
    websocket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": authorization}}))
    assert json.loads(websocket.recv(timeout=10))["type"] == "connection_ack"
    subscribe = {"query": INVOICE_EVENTS, "variables": {"org": "org-2"}}
    websocket.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))


def until_subscribed(port: int, subscribers: int) -> None:
    """Wait until the server's ``mobius_subscription_subscribers`` gauge (summed over its workers)
    counts ``subscribers``: the subscriptions (one per topic; identical ones share an execution) are
    then listening, not merely requested."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/metrics")
            text = connection.getresponse().read().decode()
        finally:
            connection.close()
        counted = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("mobius_subscription_subscribers")
        )
        if counted >= subscribers:
            return
        time.sleep(0.05)
    raise AssertionError(f"{subscribers} subscriptions did not start listening on port {port}")


def read_to_close(websocket: ClientConnection) -> None:
    while True:
        websocket.recv(timeout=STOPPED_WITHIN_S)


def stop_with_open_streams(process: subprocess.Popen[bytes], port: int, authorization: str) -> None:
    """SIGTERM with an SSE stream and a WebSocket open: the stream ends without ``complete``, the
    WebSocket is closed (1012, service restart), the process exits, all well within the drain."""
    until_serving(process, port)
    stream = open_event_stream(port, authorization)
    url = f"ws://127.0.0.1:{port}/graphql"
    with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=10) as websocket:
        subscribe_over_websocket(websocket, authorization)
        until_subscribed(port, 2)
        stopped = time.monotonic()
        process.send_signal(signal.SIGTERM)

        rest = stream.read()  # to the end of the chunked body; a socket timeout if it never ends
        with pytest.raises(ConnectionClosed) as closed:
            read_to_close(websocket)
    status = process.wait(timeout=STOPPED_WITHIN_S)

    assert time.monotonic() - stopped < STOPPED_WITHIN_S
    assert b"event: complete" not in rest
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1012
    assert status in (0, -signal.SIGTERM)


def test_a_stopped_demo_ends_its_streams_and_exits(processes: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    processes.append(started(["demo", "--port", str(port)]))
    stop_with_open_streams(processes[0], port, f"Bearer {DEMO_CALLER_TOKEN}")


def test_stopped_workers_end_their_streams_and_exit(
    sandbox_server: SandboxServerInfo, processes: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    urls, credentials = sandbox_server
    callers = [{"name": "tester", "token": CANARY_CALLER_TOKEN, "scopes": list(DEMO_CALLER_SCOPES)}]
    config = tmp_path / "mobius.yaml"
    config.write_text(json.dumps({"upstreams": sandbox_upstreams(urls, credentials), "callers": callers}))
    port = free_port()
    processes.append(started(["serve", "--config", str(config), "--port", str(port), "--workers", "2"]))
    stop_with_open_streams(processes[0], port, BEARER)


async def test_streams_open_when_closed_and_opened_after_end_without_complete(
    sandbox_server: SandboxServerInfo,
) -> None:
    body = {"query": INVOICE_EVENTS, "variables": {"org": "org-1"}}
    headers = {"accept": "text/event-stream", "authorization": BEARER}
    with GatewayServer(gateway_settings(sandbox_server)) as server:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=STOPPED_WITHIN_S)) as http:
            async with http.post(f"{server.url}/graphql", json=body, headers=headers) as open_before:
                assert open_before.status == 200
                await until_listening(server, "invoice:org-1")
                server.loop.call_soon_threadsafe(server.app.state.streams.close)
                before = await open_before.read()
            async with http.post(f"{server.url}/graphql", json=body, headers=headers) as opened_after:
                assert opened_after.status == 200
                after = await opened_after.read()

    assert (before, after) == (b"", b"")


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in before.items():
        signal.signal(signum, handler)


def test_the_hook_runs_before_the_handler_in_place_and_is_removed_on_exit(restored_handlers: None) -> None:
    calls: list[str] = []

    def previous(signum: int, _: FrameType | None) -> None:
        calls.append(f"previous {signal.Signals(signum).name}")

    signal.signal(signal.SIGTERM, previous)
    signal.signal(signal.SIGINT, previous)
    with on_stop_signal(lambda: calls.append("hook")):
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)
    signal.raise_signal(signal.SIGTERM)

    assert calls == ["hook", "previous SIGTERM", "hook", "previous SIGINT", "previous SIGTERM"]
    assert signal.getsignal(signal.SIGTERM) is previous
    assert signal.getsignal(signal.SIGINT) is previous


def test_under_the_default_action_the_hook_runs_and_the_process_still_dies() -> None:
    program = (
        "import signal\n"
        "from mobius.draining import on_stop_signal\n"
        "signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
        "with on_stop_signal(lambda: print('hook', flush=True)):\n"
        "    signal.raise_signal(signal.SIGTERM)\n"
        "print('survived', flush=True)\n"
    )
    ran = subprocess.run(  # noqa: S603  # this interpreter, a fixed program
        [sys.executable, "-c", program], capture_output=True, timeout=30, check=False
    )
    assert (ran.returncode, ran.stdout) == (-signal.SIGTERM, b"hook\n")


def test_an_ignored_signal_stays_ignored(restored_handlers: None) -> None:
    calls: list[str] = []
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with on_stop_signal(lambda: calls.append("hook")):
        signal.raise_signal(signal.SIGTERM)
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    assert calls == []


def test_outside_the_main_thread_the_hook_changes_nothing() -> None:
    before = signal.getsignal(signal.SIGTERM)
    seen: list[object] = []

    def enter() -> None:
        with on_stop_signal(lambda: None):
            seen.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=enter)
    thread.start()
    thread.join(timeout=10)
    assert seen == [before]
