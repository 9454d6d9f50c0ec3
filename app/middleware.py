"""Pure ASGI middleware: request ids, and a request body's size and JSON nesting limits.

Every refusal here is a 4xx JSON answer in GraphQL's error shape, with the request id::

    {"errors": [{"message": "…", "extensions": {"code": "…", "requestId": "…"}}]}
"""

import itertools
import os
import re
from array import array
from contextvars import ContextVar

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
# A client's id goes into every log line and back into a header: printable, short, and
# starting with a letter or digit (no option-like or dot-only ids).
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
# payql's own ids (see ``new_request_id``): a client's id of that shape could pass for one
# payql gave another request, so it is replaced.
_OWN_ID = re.compile(r"[0-9a-f]{32}")
DEFAULT_MAX_JSON_DEPTH = 32


# A request id only has to be unique: a random prefix per process (each uvicorn worker
# imports this afresh) and a counter, 32 hex characters. uuid4 asks the kernel for random
# bytes on every request, a measurable share of an ``order(id)`` request (bench/README.md).
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count(1)


def new_request_id() -> str:
    """A fresh id: 32 lowercase hex characters, unique across workers."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


def accepted_request_id(incoming: str) -> str | None:
    """``incoming`` when it is safe to log and echo and not shaped like payql's own ids."""
    if _SAFE_ID.fullmatch(incoming) and not _OWN_ID.fullmatch(incoming):
        return incoming
    return None


def refusal(status: int, code: str, message: str) -> JSONResponse:
    """A middleware's 4xx answer, with the current request id."""
    request_id = request_id_var.get()
    error = {"message": message, "extensions": {"code": code, "requestId": request_id}}
    return JSONResponse({"errors": [error]}, status_code=status)


_DEPTH_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # +1 / -1 as signed bytes
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_QUOTED = re.compile(rb'"[^"]*"')  # once escapes are gone: no backtracking, linear


def json_too_deep(body: bytes, limit: int) -> bool:
    """Whether ``body``, read as JSON, nests arrays and objects deeper than ``limit``.

    Linear, and in C: a body with at most ``limit`` brackets passes at once (a normal
    query). Otherwise escaped backslashes and quotes, then strings, are dropped, and the
    depth is the highest running sum of the brackets left (``[`` and ``{`` +1, ``]`` and
    ``}`` -1)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    steps = _QUOTED.sub(b"", unescaped).translate(_DEPTH_STEPS, _NOT_BRACKETS)
    if b"\x01" * (limit + 1) in steps:
        return True  # the usual shape of a deep body, found without summing
    return max(itertools.accumulate(array("b", steps)), default=0) > limit


class RequestIdMiddleware:
    """Give every request an id (or keep a sane incoming X-Request-ID) and echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = (incoming and accepted_request_id(incoming)) or new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class BodySizeLimitMiddleware:
    """Refuse HTTP request bodies over ``max_bytes`` with 413 before the app reads them,
    and JSON nested deeper than ``max_json_depth`` with 400 before the app parses it (a
    recursive parser would fail on it with an unhandled ``RecursionError``)."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if json_too_deep(body, self.max_json_depth):
            deep = f"JSON nested deeper than {self.max_json_depth} levels."
            await refusal(400, "JSON_TOO_DEEP", deep)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await _refusing_recursion(self.app, scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"Request body too large (limit {self.max_bytes} bytes)."
        await refusal(413, "REQUEST_TOO_LARGE", message)(scope, receive, send)


async def _refusing_recursion(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run ``app``; input nested past Python's recursion limit (in a parser this
    middleware does not know of) is a 400, not a 500, if no answer was started."""
    started = False

    async def watching(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, receive, watching)
    except RecursionError:
        if started:
            raise
        message = "The request is nested too deeply to process."
        await refusal(400, "INPUT_TOO_DEEP", message)(scope, receive, send)
