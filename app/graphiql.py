"""payql's GraphiQL page, served with its scripts from the package itself.

The page at ``GET /graphql`` (when GraphiQL is on) loads ``graphiql.js`` and ``graphiql.css``
from ``ASSETS_PATH``, files built from npm's ``graphiql`` by ``web/graphiql/build.mjs`` and
committed under ``app/static/graphiql/``: it works with no network, and its CSP lets it
load nothing from another origin. Each asset is referenced with its Subresource Integrity
hash and, in its URL, its content's hash (a browser's cached copy of an older build is
never used with a newer page), both computed once per process.
"""

import base64
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parent / "static" / "graphiql"
ASSETS_PATH = "/graphiql/assets"

# Scripts only from this origin and never inline; GraphiQL's fonts are data: URLs in its CSS;
# its editors and popovers set inline styles; the fetcher talks to this origin over HTTP and
# websockets. Nothing may frame the page: it holds a token in its Headers tab.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self' data:",
        "img-src 'self' data:",
        "connect-src 'self' ws: wss:",
        "worker-src 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # a shared query lives in the page's URL
    "X-Content-Type-Options": "nosniff",
}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>payql · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{css_url}" integrity="{css_integrity}">
</head>
<body>
<div id="graphiql">Loading…</div>
<noscript>GraphiQL needs JavaScript. Any GraphQL client can POST to this URL.</noscript>
<script src="{js_url}" integrity="{js_integrity}"></script>
</body>
</html>
"""


@dataclass(frozen=True)
class Asset:
    """One built file as the page references it."""

    url: str  # with the content's hash in the query, so an upgrade is never served stale
    integrity: str  # its Subresource Integrity value, ``sha384-…``


def asset(prefix: str, name: str) -> Asset:
    """The reference to one built file under ``prefix``."""
    digest = hashlib.sha384((ASSETS / name).read_bytes()).digest()
    return Asset(
        url=f"{prefix}/{name}?v={digest.hex()[:16]}",
        integrity="sha384-" + base64.b64encode(digest).decode(),
    )


@cache
def page_html(root_path: str) -> str:
    """The page's HTML for an app mounted at ``root_path`` (``""`` at the root)."""
    prefix = root_path + ASSETS_PATH
    css, js = asset(prefix, "graphiql.css"), asset(prefix, "graphiql.js")
    return PAGE.format(
        css_url=css.url, css_integrity=css.integrity, js_url=js.url, js_integrity=js.integrity
    )


def graphiql_page(root_path: str = "") -> HTMLResponse:
    """The GraphiQL page as an HTML response with its security headers."""
    return HTMLResponse(page_html(root_path), headers=HEADERS)


def assets_routes(enabled: bool) -> list[Mount]:
    """The route serving the page's built scripts and styles at ``ASSETS_PATH``, or none
    when GraphiQL is off (production serves no page, so no assets either)."""
    if not enabled:
        return []
    return [Mount(ASSETS_PATH, app=StaticFiles(directory=ASSETS), name="graphiql-assets")]
