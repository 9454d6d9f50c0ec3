"""GraphQL over HTTP's answers (graphql.github.io/graphql-over-http): media type, status and
error codes.

======================================  ==============================  ====================
request                                  ``application/json``             ``…graphql-response+json``
======================================  ==============================  ====================
executed (even with field errors)        200, ``data``                    200, ``data``
document does not parse or validate,     200, ``"data": null``            400, no ``data``
variables do not coerce, too costly
refused outright (bad JSON, no query,    4xx, ``errors`` only             4xx, ``errors`` only
unknown operation, content type, GET
mutation, subscription without stream)
======================================  ==============================  ====================

The second column is the spec's rule for legacy clients; a client gets the third by putting
``application/graphql-response+json`` first (or alone) in its ``Accept``. Every error raised
before execution carries ``extensions.code``; a refusal also carries ``extensions.requestId``.
"""

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError, GraphQLSyntaxError
from starlette.responses import JSONResponse
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from app.middleware import refusal

__all__ = [
    "APPLICATION_JSON",
    "GRAPHQL_RESPONSE_JSON",
    "RequestRefused",
    "failed_before_execution",
    "graphql_response",
    "refused",
    "response_media_type",
    "status_code_name",
]

APPLICATION_JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"

_STATUS_CODE_NAMES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "REQUEST_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    500: "INTERNAL_SERVER_ERROR",
}
# Strawberry's refusals that have a more precise status than its 400.
_UNSUPPORTED_CONTENT_TYPE = "Unsupported content type"


def status_code_name(status: int) -> str:
    """The ``extensions.code`` of a refusal with this HTTP status."""
    return _STATUS_CODE_NAMES.get(status, "BAD_REQUEST" if status < 500 else "SERVER_ERROR")


class RequestRefused(HTTPException):
    """A request payql refuses before executing it: status, message, error code, headers."""

    def __init__(
        self,
        status_code: int,
        reason: str,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, reason)
        self.code = code or status_code_name(status_code)
        self.headers = dict(headers or {})


def refused(exc: HTTPException, media_type: str) -> JSONResponse:
    """The JSON answer to a refused request (``RequestRefused`` or Strawberry's own)."""
    status, code, headers = exc.status_code, status_code_name(exc.status_code), {}
    if isinstance(exc, RequestRefused):
        code, headers = exc.code, exc.headers
    elif exc.reason == _UNSUPPORTED_CONTENT_TYPE:
        status, code = 415, status_code_name(415)
    response = refusal(status, code, exc.reason)
    response.headers.update(headers)
    response.headers["content-type"] = media_type
    return response


@lru_cache(maxsize=256)
def response_media_type(accept: str) -> str:
    """The media type to answer with for this ``Accept`` header: graphql-response+json
    when the client weighs it at least as high as ``application/json``, else JSON."""
    if GRAPHQL_RESPONSE_JSON not in accept:  # the usual request: no parsing at all
        return APPLICATION_JSON
    weights = dict(_weighted(part) for part in accept.split(","))
    preferred = weights.get(GRAPHQL_RESPONSE_JSON, 0.0)
    json_weight = max(weights.get(t, 0.0) for t in (APPLICATION_JSON, "application/*", "*/*"))
    return GRAPHQL_RESPONSE_JSON if preferred > 0 and preferred >= json_weight else APPLICATION_JSON


def _weighted(part: str) -> tuple[str, float]:
    media_type, *parameters = (piece.strip() for piece in part.split(";"))
    weight = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                weight = 0.0
    return media_type.lower(), weight


def failed_before_execution(result: ExecutionResult) -> bool:
    """Whether ``result`` is a request error: nothing ran (parse, validation, cost, or
    variable coercion failed), as opposed to a field error that nulled ``data``."""
    if result.data is not None or not result.errors:
        return False
    return isinstance(result, PreExecutionError) or all(e.path is None for e in result.errors)


def graphql_response(result: ExecutionResult, media_type: str) -> GraphQLHTTPResponse:
    """The response body for ``result``: document-level errors get a code, and a request
    error answered as graphql-response+json has no ``data`` entry."""
    response = process_result(result)
    if not result.errors:
        return response
    response["errors"] = [_coded(error, result) for error in result.errors]
    if media_type == GRAPHQL_RESPONSE_JSON and failed_before_execution(result):
        del response["data"]
    return response


def _coded(error: GraphQLError, result: ExecutionResult) -> Any:
    formatted = error.formatted
    extensions = formatted.get("extensions") or {}
    if error.path is not None or "code" in extensions:
        return formatted
    if isinstance(error, GraphQLSyntaxError):
        code = PARSE_FAILED
    elif isinstance(result, PreExecutionError):
        code = VALIDATION_FAILED
    else:
        code = BAD_USER_INPUT
    return {**formatted, "extensions": {**extensions, "code": code}}
