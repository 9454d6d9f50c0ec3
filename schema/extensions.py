"""Schema extensions: parse and validate each document once with payql's limits; mask
unexpected errors (with a request id, logged in full)."""

import logging
from collections.abc import Iterator
from contextlib import suppress
from functools import lru_cache

from graphql import ASTValidationRule, DocumentNode, GraphQLSchema, parse
from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.schema.schema import validate_document

logger = logging.getLogger("payql.graphql")


DOCUMENT_CACHE_SIZE = 1024


@lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def parsed_document(query: str, max_tokens: int) -> DocumentNode:
    """``query`` parsed (at most ``max_tokens`` tokens), once per process per query text."""
    return parse(query, max_tokens=max_tokens)


@lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def validation_errors(
    schema: GraphQLSchema, query: str, max_tokens: int, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    """The errors validating ``query`` gives, once per process per query text.

    Keyed by the text, not the parsed document: graphql-core's AST nodes hash field by
    field through the whole tree, which cost ~2 % of an ``order(id)`` request.
    """
    return validate_document(schema, parsed_document(query, max_tokens), rules)


class CachedDocuments(SchemaExtension):
    """Strawberry's ParserCache, ValidationCache, MaxTokensLimiter and the depth/alias rules
    in one extension: each distinct query text is parsed (at most ``max_tokens`` tokens) and
    validated (with ``rules`` added) once per process, in bounded LRU caches.

    One extension instead of four saves ~0.15 ms per operation (bench/README.md); and the
    rule classes are fixed when the schema is built, so the validation cache always hits
    (per-operation limiters build new rule classes, which missed it every time).
    """

    def __init__(self, *, max_tokens: int, rules: tuple[type[ASTValidationRule], ...]) -> None:
        self.max_tokens = max_tokens
        self.rules = rules

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        # A document that does not parse is left to Strawberry's own parse (same limit, via
        # parse_options), which turns the error into a proper answer over HTTP and
        # websockets alike (raised here, it ended a subscription with a bare `complete`).
        with suppress(GraphQLError):
            context.graphql_document = parsed_document(context.query or "", self.max_tokens)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:  # always, after on_parse
            context.pre_execution_errors = validation_errors(
                context.schema._schema,
                context.query or "",
                self.max_tokens,
                tuple(context.validation_rules) + self.rules,
            )
        yield


class MaskUnexpectedErrors(MaskErrors):
    """Hide exceptions that escaped a field function; keep GraphQL and permission errors.

    Errors without a path (syntax, validation, variable coercion) and errors raised as
    GraphQLError on purpose (permissions, bad arguments) pass through unchanged.
    """

    def __init__(self) -> None:
        super().__init__(should_mask_error=self._should_mask)

    def _process_result(self, result: object) -> None:
        # MaskErrors asks isinstance(result, <runtime_checkable Protocol>), which walks the
        # protocol's attributes on every operation (~1 % of an ``order(id)`` request)
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]

    @staticmethod
    def _should_mask(error: GraphQLError) -> bool:
        original = error.original_error
        return (
            error.path is not None
            and original is not None
            and not isinstance(original, GraphQLError)
        )

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = self.execution_context.context
        request_id = getattr(context, "request_id", "-")
        logger.error(
            "unexpected error in %s (request id %s)",
            ".".join(str(p) for p in error.path or []),
            request_id,
            exc_info=error.original_error,
            extra={"request_id": request_id},
        )
        return GraphQLError(
            message=f"Unexpected error. Quote request id {request_id} when reporting it.",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )
