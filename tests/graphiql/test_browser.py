"""GraphiQL in a real headless Chromium, under the strict CSP, fully offline.

Skipped when /usr/bin/chromium is absent (Debian: ``apt-get install -y chromium``).
CSP violations are caught two ways: the test server adds a ``report-uri`` to
the policy (Chromium POSTs every violation there) and Chromium's console log
(``--enable-logging=stderr``) is scanned for "Content Security Policy".
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphiql_app import LiveServer
from harness import free_port
from websockets.asyncio.client import ClientConnection, connect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1400,900",
    "--enable-logging=stderr",
    "--v=0",
]
CSP_MARKER = "Content Security Policy"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} not found: real-browser GraphiQL test needs Debian's chromium (apt-get install -y chromium)",
)


def run_chromium(user_data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed binary, our own arguments
        [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def csp_console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if CSP_MARKER in line]


def wait_for_reports(live_server: LiveServer, seconds: float = 1.0) -> list[object]:
    """Reports are POSTed asynchronously; give them a moment to land."""
    time.sleep(seconds)
    with live_server.recorder.lock:
        return list(live_server.recorder.csp_reports)


def test_graphiql_renders_under_strict_csp(live_server: LiveServer, tmp_path: Path) -> None:
    live_server.recorder.clear()
    url = f"{live_server.base_url}/graphql"

    dom_run = run_chromium(tmp_path / "profile-dom", "--virtual-time-budget=15000", "--dump-dom", url)
    assert dom_run.returncode == 0, dom_run.stderr[-2000:]
    dom = dom_run.stdout

    screenshot = tmp_path / "graphiql.png"
    shot_run = run_chromium(
        tmp_path / "profile-shot",
        "--virtual-time-budget=15000",
        f"--screenshot={screenshot}",
        url,
    )
    assert shot_run.returncode == 0, shot_run.stderr[-2000:]

    # GraphiQL itself rendered (our page has no .graphiql-container of its own),
    # with CodeMirror editors showing the default query, and the loader is gone.
    assert 'class="graphiql-container' in dom
    assert "graphiql-session" in dom
    assert "CodeMirror" in dom
    assert "upstreams" in dom
    assert "Loading..." not in dom

    # The page's JS really ran: the fetcher sent the introspection query.
    with live_server.recorder.lock:
        requests = list(live_server.recorder.requests)
        bodies = list(live_server.recorder.graphql_bodies)
    assert ("POST", "/graphql") in requests
    assert any("IntrospectionQuery" in body for body in bodies)
    # Nothing but our own origin was asked for anything.
    static = [path for _method, path in requests if path.startswith("/graphiql/static/")]
    assert any(path.endswith("mobius-graphiql.js") for path in static)

    # No CSP violation, by either channel.
    assert csp_console_lines(dom_run.stderr + shot_run.stderr) == []
    assert wait_for_reports(live_server) == []

    # A real picture, not a blank page (look at it: pytest --basetemp=... keeps it).
    png = screenshot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 10_000


# --- Interactive check over the DevTools protocol --------------------------------


class DevTools:
    """Just enough of the Chrome DevTools Protocol to drive one page."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        call_id = self.next_id
        await self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message: dict[str, Any] = json.loads(await self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message)

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, within: float = 15.0) -> Any:
        deadline = time.monotonic() + within
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {expression}")
            await asyncio.sleep(0.1)

    def websocket_urls(self) -> list[str]:
        return [str(event["params"]["url"]) for event in self.events if event["method"] == "Network.webSocketCreated"]

    def security_messages(self) -> list[str]:
        found = []
        for event in self.events:
            if event["method"] == "Log.entryAdded":
                entry = event["params"]["entry"]
                if entry.get("source") == "security" or CSP_MARKER in entry.get("text", ""):
                    found.append(entry.get("text", ""))
        return found


@pytest.fixture
def devtools_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - fixed binary, our own arguments
        [
            str(CHROMIUM),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile-cdp'}",
            f"--remote-debugging-port={port}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=2) as r:
                    targets = json.load(r)
                pages = [t for t in targets if t.get("type") == "page"]
                if pages:
                    yield str(pages[0]["webSocketDebuggerUrl"])
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("chromium DevTools endpoint did not come up")
            time.sleep(0.1)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


SET_QUERY = "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue({query})"
RESULT_TEXT = "(document.querySelector('.result-window') || {}).innerText || ''"


SECRET_HEADERS = '{"x-mobius-test": "secret-value"}'
EDITOR_SETTLE = 1.0  # GraphiQL re-parses the edited document on a short debounce


def result_json(text: str) -> Any:
    return json.loads(text.replace("\xa0", " "))  # CodeMirror indents with nbsp


async def test_query_subscription_and_explorer_work(live_server: LiveServer, devtools_url: str, tmp_path: Path) -> None:
    live_server.recorder.clear()
    async with connect(devtools_url, max_size=None) as ws:
        tools = DevTools(ws)
        await tools.call("Runtime.enable")
        await tools.call("Log.enable")
        await tools.call("Page.enable")
        await tools.call("Network.enable")
        await tools.call("Page.navigate", url=f"{live_server.base_url}/graphql")
        await tools.wait_for("!!document.querySelector('.graphiql-execute-button')")
        # Schema loaded: the editor flags the example's `upstreams` as unknown here.
        await tools.wait_for("!!document.querySelector('.CodeMirror-lint-mark-error')")

        # A query over HTTP.
        await tools.evaluate(SET_QUERY.format(query=json.dumps("{ hello }")))
        await asyncio.sleep(EDITOR_SETTLE)
        await tools.evaluate("document.querySelector('.graphiql-execute-button').click()")
        text = await tools.wait_for(f"(({RESULT_TEXT}).includes('world')) && {RESULT_TEXT}")
        assert result_json(text) == {"data": {"hello": "world"}}

        # A subscription over graphql-transport-ws on the same path.
        subscription = "subscription { ticks(count: 3) }"
        await tools.evaluate(SET_QUERY.format(query=json.dumps(subscription)))
        await asyncio.sleep(EDITOR_SETTLE)
        await tools.evaluate("document.querySelector('.graphiql-execute-button').click()")
        text = await tools.wait_for(f"(({RESULT_TEXT}).includes('ticks')) && {RESULT_TEXT}")
        assert result_json(text) == {"data": {"ticks": 2}}
        ws_url = live_server.base_url.replace("http://", "ws://") + "/graphql"
        assert ws_url in tools.websocket_urls()

        # Headers editor is there; the explorer plugin opens and lists the schema.
        assert await tools.evaluate("[...document.querySelectorAll('button')].some(b => b.innerText === 'Headers')")
        await tools.evaluate("document.querySelector('[aria-label=\"Show GraphiQL Explorer\"]').click()")
        explorer = await tools.wait_for("(document.querySelector('.graphiql-explorer-root') || {}).innerText")
        assert "ticks" in explorer  # it shows the current operation, from the schema

        shot = await tools.call("Page.captureScreenshot")
        (tmp_path / "graphiql-explorer.png").write_bytes(base64.b64decode(shot["data"]))

        # Headers typed in the editor work but are not written to localStorage.
        await tools.evaluate("[...document.querySelectorAll('button')].find(b => b.innerText === 'Headers').click()")
        headers_editor = (
            'document.querySelector(\'.graphiql-editor-tool[aria-label="Headers"] '
            ".graphiql-editor:not(.hidden) .CodeMirror')"
        )
        await tools.wait_for(f"!!{headers_editor}")
        await tools.evaluate(f"{headers_editor}.CodeMirror.setValue({json.dumps(SECRET_HEADERS)})")
        await asyncio.sleep(EDITOR_SETTLE)
        await tools.evaluate(SET_QUERY.format(query=json.dumps("{ hello }")))
        await asyncio.sleep(EDITOR_SETTLE)
        await tools.evaluate("document.querySelector('.graphiql-execute-button').click()")
        await tools.wait_for(f"(({RESULT_TEXT}).includes('world'))")
        with live_server.recorder.lock:
            sent = list(live_server.recorder.graphql_headers)
        assert any(h.get("x-mobius-test") == "secret-value" for h in sent)
        stored = await tools.evaluate("JSON.stringify(Object.assign({}, localStorage))")
        assert "graphiql:queries" in stored  # GraphiQL does persist its history ...
        assert "secret-value" not in stored  # ... but not the headers, even there

        assert tools.security_messages() == []
    assert wait_for_reports(live_server) == []
