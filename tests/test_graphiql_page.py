"""The GraphiQL page without a browser: it references only its own origin's assets, each is
served, and what is committed is what ``web/graphiql`` pins.

The browser itself is driven in ``test_graphiql_browser.py``.
"""

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import pytest

from app.graphiql import graphiql_page
from app.main import create_app
from app.settings import Settings
from tests.conftest import ROOT, SECRET
from tests.helpers import GraphQLClient

BUILD = ROOT / "web" / "graphiql"
ASSETS = ROOT / "app" / "static" / "graphiql"


class References(HTMLParser):
    """Every URL the page makes the browser load: scripts, styles, icons, images, frames."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str | None]] = []  # (tag, url, integrity)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href", "data", "srcset", "poster"):
            url = found.get(name)
            if url is not None:
                self.urls.append((tag, url, found.get("integrity")))


def _references(html: str) -> list[tuple[str, str, str | None]]:
    parser = References()
    parser.feed(html)
    return parser.urls


def _is_same_origin(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and url.startswith("/")


async def _page(api: GraphQLClient) -> httpx.Response:
    page = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    return page


async def test_the_page_loads_only_same_origin_assets_and_each_is_served(
    api: GraphQLClient,
) -> None:
    page = await _page(api)
    references = _references(page.text)
    loaded = [(tag, url, sri) for tag, url, sri in references if not url.startswith("data:")]

    assert sorted(tag for tag, _, _ in loaded) == ["link", "script"]
    assert [url for _, url, _ in loaded if not _is_same_origin(url)] == []
    for tag, url, sri in loaded:
        asset = await api.http.get(url)
        assert asset.status_code == 200, url
        expected_type = "text/javascript" if tag == "script" else "text/css"
        assert asset.headers["content-type"].startswith(expected_type), url
        digest = hashlib.sha384(asset.content).digest()
        assert sri == f"sha384-{base64.b64encode(digest).decode()}", url
        assert urlsplit(url).query == f"v={digest.hex()[:16]}", url  # a new build, a new URL


async def test_the_page_has_a_strict_content_security_policy(api: GraphQLClient) -> None:
    page = await _page(api)
    directives = page.headers["content-security-policy"].split("; ")
    policy = {name: value for name, _, value in (d.partition(" ") for d in directives)}

    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no inline script, no eval, no CDN
    assert policy["connect-src"] == "'self' ws: wss:"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert page.headers["x-frame-options"] == "DENY"


async def test_the_page_says_what_it_is_and_keeps_the_graphiql_mount_point(
    api: GraphQLClient,
) -> None:
    page = await _page(api)

    assert "<title>payql · GraphiQL</title>" in page.text
    assert '<div id="graphiql">' in page.text
    assert "unpkg" not in page.text
    assert "cdn" not in page.text.lower()


def test_behind_a_path_prefix_the_page_names_its_assets_under_it() -> None:
    page = bytes(graphiql_page("/payql").body).decode()

    urls = [url for _, url, _ in _references(page) if not url.startswith("data:")]
    assert [urlsplit(url).path for url in urls] == [
        "/payql/graphiql/assets/graphiql.css",
        "/payql/graphiql/assets/graphiql.js",
    ]


async def test_an_unknown_asset_or_one_outside_the_folder_is_a_404(api: GraphQLClient) -> None:
    missing = await api.http.get("/graphiql/assets/nothing-here.js")
    # Encoded, so the client sends the dots and the server decodes them into the path.
    escaping = await api.http.get("/graphiql/assets/%2e%2e/%2e%2e/settings.py")

    assert missing.status_code == 404
    assert escaping.status_code == 404
    assert "BaseSettings" not in escaping.text


async def test_production_serves_neither_the_page_nor_its_assets(db: str) -> None:
    production = Settings(PAYQL_ENV="production", PAYQL_JWT_SECRET=SECRET)
    app = create_app(production, manage_database=False, run_jobs=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payql.test") as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        script = await http.get("/graphiql/assets/graphiql.js")

    assert page.status_code == 404
    assert script.status_code == 404


def test_the_committed_build_is_what_web_graphiql_pins() -> None:
    manifest = json.loads((BUILD / "package.json").read_text())
    built = json.loads((ASSETS / "versions.json").read_text())
    pinned = manifest["dependencies"]

    assert set(built) == set(pinned)
    assert built == pinned  # exact versions, and the files were built from them
    assert all(version[0].isdigit() for version in pinned.values())


def test_the_lockfile_pins_every_package_without_registry_urls() -> None:
    lock = json.loads((BUILD / "package-lock.json").read_text())
    packages = {path: entry for path, entry in lock["packages"].items() if path}

    assert (BUILD / ".npmrc").read_text() == (ROOT / ".npmrc").read_text()
    assert [path for path, entry in packages.items() if "resolved" in entry] == []
    assert [path for path, entry in packages.items() if not entry.get("integrity")] == []
    for name, version in json.loads((BUILD / "package.json").read_text())["dependencies"].items():
        assert packages[f"node_modules/{name}"]["version"] == version


CDNS = ("unpkg.com", "cdn.jsdelivr.net", "fonts.googleapis.com", "fonts.gstatic.com", "esm.sh")


@pytest.mark.parametrize("name", ["graphiql.js", "graphiql.css"])
def test_the_built_assets_name_no_cdn_and_the_styles_load_nothing(name: str) -> None:
    text = (ASSETS / name).read_text(encoding="utf-8")
    hosts = set(re.findall(r"(?:https?:)?//([a-z0-9.-]+\.[a-z]{2,})", text))

    assert sorted(hosts & set(CDNS)) == []
    if name.endswith(".css"):
        assert "@import" not in text
        urls = [part.split(")", 1)[0].strip("'\"") for part in text.split("url(")[1:]]
        assert [url for url in urls if not url.startswith(("data:", "#"))] == []
