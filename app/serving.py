"""What ``payql serve`` needs around uvicorn: this server's own address, a check that the
port is free before anything is printed, and a probe that warns when ``PAYQL_PUBLIC_URL``
leads somewhere else.

The probe: ``payql serve`` draws a random nonce and hands it to its workers in
``PAYQL_PROBE_NONCE``. Once this server answers on its own address, the probe asks
``{PAYQL_PUBLIC_URL}/healthz`` with the nonce in ``X-Payql-Probe``; only this server's
workers echo it back. No echo (another server, nothing listening, a proxy pointing
elsewhere) means buyers' redirects would not reach this server: a warning says so.
"""

import hmac
import logging
import os
import socket
import time

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

PROBE_HEADER = "x-payql-probe"
PROBE_NONCE_ENV = "PAYQL_PROBE_NONCE"
LISTEN_URL_ENV = "PAYQL_LISTEN_URL"
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}  # noqa: S104 (read, not bound)

logger = logging.getLogger("payql.serve")


def own_url(host: str, port: int) -> str:
    """The URL this server answers on when listening on ``host:port``; a wildcard host
    (``0.0.0.0``, ``::``) is reached through the loopback address."""
    reachable = _WILDCARDS.get(host, host)
    if ":" in reachable:
        reachable = f"[{reachable}]"
    return f"http://{reachable}:{port}"


def bind_refusal(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (e.g. another server holds it), or None."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as trial:
            # As uvicorn binds: a port left in TIME_WAIT by a previous run is free.
            trial.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            trial.bind(address)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


class ProbeEcho:
    """ASGI wrapper: answers ``GET /healthz`` carrying this server's probe nonce with the
    nonce echoed in the same header; every other request goes to ``app`` untouched."""

    def __init__(self, app: ASGIApp, nonce: str) -> None:
        self.app = app
        self.nonce = nonce.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.nonce and scope["type"] == "http" and scope["path"] == "/healthz":
            for name, value in scope["headers"]:
                if name == PROBE_HEADER.encode() and hmac.compare_digest(value, self.nonce):
                    await _answer_probe(send, value)
                    return
        await self.app(scope, receive, send)


async def _answer_probe(send: Send, nonce: bytes) -> None:
    body = b'{"status":"ok"}'
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (PROBE_HEADER.encode(), nonce),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_served_app() -> ASGIApp:
    """The app each ``payql serve`` worker runs: :func:`app.main.create_served_app`, which
    answers this server's probe."""
    from app.main import create_served_app as served

    return ProbeEcho(served(), os.environ.get(PROBE_NONCE_ENV, ""))


def reaches_this_server(public_url: str, nonce: str, *, timeout: float = 3.0) -> bool:
    """True when ``{public_url}/healthz`` is answered by the server holding ``nonce``."""
    try:
        response = httpx.get(
            f"{public_url.rstrip('/')}/healthz", headers={PROBE_HEADER: nonce}, timeout=timeout
        )
    except httpx.HTTPError:
        return False
    return hmac.compare_digest(response.headers.get(PROBE_HEADER, ""), nonce)


def wait_until_up(url: str, *, attempts: int = 120, pause: float = 0.5) -> bool:
    """Poll ``{url}/healthz`` until it answers (at most ``attempts`` times)."""
    with httpx.Client(timeout=2.0, trust_env=False) as local:  # no proxy for our own address
        for _ in range(attempts):
            try:
                if local.get(f"{url}/healthz").status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(pause)
    return False


def probe_public_url(public_url: str, listen_url: str, nonce: str) -> None:
    """Once this server is up, warn when ``public_url`` does not reach it."""
    if not wait_until_up(listen_url):
        return
    if reaches_this_server(public_url, nonce):
        logger.info("PAYQL_PUBLIC_URL=%s reaches this server", public_url)
        return
    logger.warning(
        "PAYQL_PUBLIC_URL=%s does not reach this server (listening on %s): buyers' "
        "redirect URLs name it. Point it at this server, or unset it to use %s.",
        public_url,
        listen_url,
        listen_url,
    )
