"""GraphiQL in a real headless Chromium against payql served by uvicorn.

Debian's ``chromium`` at ``/usr/bin/chromium``, driven by Python's playwright (its own browser
download is not used). Without the browser the tests skip, unless ``PAYQL_REQUIRE_BROWSER=1``
(as in ``.ci/run``), which makes them fail. One browser serves the module; each test has a
fresh context, so nothing a page stores (GraphiQL keeps its headers) leaks between tests.
"""

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.helpers import CREATE_ORDER, LiveServer, make_product, make_workspace, order_input

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BUYER = "ann@example.com"
# Anything the page's Content-Security-Policy blocks becomes a console error the test sees.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) =>
  console.error(`CSP blocked ${event.blockedURI} (${event.violatedDirective})`));
"""

CATALOG = """{
  workspace(slug: "demo") {
    name
    products { name price { formatted } }
  }
}"""
PAY = """
mutation Pay($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) {
    payment { id status } nextAction { redirectUrl } errors { code }
  }
}
"""


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("PAYQL_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=FLAGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


class Recorded:
    """Everything one page asked the network for, and what it complained about."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.websockets: list[str] = []
        self.problems: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("websocket", lambda ws: self.websockets.append(ws.url))
        page.on("pageerror", lambda error: self.problems.append(str(error)))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(message.text)

    def elsewhere(self, base_url: str) -> list[str]:
        """URLs that went to another origin than ``base_url`` (data: URLs stay in the page)."""
        origin = urlsplit(base_url).netloc
        return [
            url
            for url in self.requests + self.websockets
            if not url.startswith("data:") and urlsplit(url).netloc != origin
        ]


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context()
    try:
        yield context
    finally:
        await context.close()


async def _open_graphiql(context: BrowserContext, live: LiveServer) -> tuple[Page, Recorded]:
    page = await context.new_page()
    recorded = Recorded()
    recorded.watch(page)
    await page.add_init_script(REPORT_CSP_VIOLATIONS)
    await page.goto(f"{live.base_url}/graphql")
    try:
        await page.locator(".graphiql-query-editor .CodeMirror").wait_for(timeout=15_000)
    except PlaywrightTimeout:
        elsewhere = recorded.elsewhere(live.base_url)
        raise AssertionError(f"GraphiQL never started; asked elsewhere: {elsewhere}") from None
    return page, recorded


async def _set_query(page: Page, text: str) -> None:
    """Paste ``text`` into the query editor, then wait until GraphiQL has parsed it (it does
    so a moment after the last edit, and decides from the parsed document whether to use
    the websocket)."""
    await _replace_text(page, ".graphiql-query-editor", text)
    await page.wait_for_function(
        "text => new URLSearchParams(window.location.search).get('q') === text", arg=text
    )


async def _replace_text(page: Page, editor: str, text: str) -> None:
    """Put ``text`` into one of GraphiQL's editors as a user pasting it would."""
    await page.locator(f"{editor} .CodeMirror").first.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.insert_text(text)


async def _response_shows(page: Page, text: str) -> None:
    try:
        await page.wait_for_function(
            """text => {
                const editor = document.querySelector('.graphiql-response .CodeMirror');
                return editor !== null && editor.CodeMirror.getValue().includes(text);
            }""",
            arg=text,
            timeout=15_000,  # a safety net for a hung page, not a measure of speed
        )
    except PlaywrightTimeout:
        raise AssertionError(f"the response never showed {text}: {await _response(page)}") from None


async def _response(page: Page) -> str:
    value = await page.evaluate(
        "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
    )
    assert isinstance(value, str)
    return value


async def test_a_query_runs_and_the_explorer_opens_with_nothing_from_another_origin(
    live: LiveServer, context: BrowserContext
) -> None:
    shop = await make_workspace("demo")
    await make_product(shop, name="General Admission", price=2500)

    page, recorded = await _open_graphiql(context, live)
    await _set_query(page, CATALOG)
    await page.locator(".graphiql-execute-button").click()
    await _response_shows(page, "General Admission")

    assert '"formatted": "$25.00"' in await _response(page)
    await page.get_by_label("Show GraphiQL Explorer").click()
    await page.locator(".graphiql-explorer-root").get_by_text("workspace").first.wait_for()
    await page.get_by_label("Show Documentation Explorer").click()
    await page.locator(".graphiql-doc-explorer").get_by_text("Query").first.wait_for()
    await page.get_by_label("Open settings dialog").click()
    await page.get_by_role("dialog").wait_for()
    assert recorded.elsewhere(live.base_url) == []
    assert recorded.problems == []


async def test_a_subscription_with_the_headers_tab_token_sees_the_payment_succeed(
    live: LiveServer, context: BrowserContext
) -> None:
    client = live.client
    shop = await make_workspace()
    product = await make_product(shop, price=1200)
    created = await client(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
    order_id = created.data["createOrder"]["order"]["id"]
    paid = await client(PAY, {"input": {"orderId": order_id, "gateway": "SANDBOX"}}, as_user=BUYER)
    payment = paid.data["initiatePayment"]
    assert payment["errors"] == []

    page, recorded = await _open_graphiql(context, live)
    await page.locator("button[data-name='headers']").click()
    token = client.token(BUYER)
    await _replace_text(
        page,
        ".graphiql-editor-tool .graphiql-editor:not(.hidden)",
        f'{{"Authorization": "Bearer {token}"}}',
    )
    subscription = (
        f'subscription {{ paymentStatus(paymentId: "{payment["payment"]["id"]}") {{ status }} }}'
    )
    await _set_query(page, subscription)
    await page.locator(".graphiql-execute-button").click()
    await _response_shows(page, "REQUIRES_ACTION")

    checkout = await context.new_page()
    await checkout.goto(payment["nextAction"]["redirectUrl"])
    await checkout.get_by_role("button", name="Pay").click()
    await _response_shows(page, "SUCCEEDED")

    assert recorded.websockets == [live.ws_url]
    assert recorded.elsewhere(live.base_url) == []
    assert recorded.problems == []
