"""Schema extensions: parse, validate and cost each document once with payql's limits; mask
unexpected errors (with a request id, logged in full)."""

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, get_operation_ast, validate
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionContext

from schema.cost import CostAnalysis, too_costly
from schema.documents import CachedDocument, DocumentCache, Rules
from schema.limits import fragments_in

logger = logging.getLogger("payql.graphql")

# The rules Strawberry's own validation adds to graphql-core's.
STRAWBERRY_RULES: Rules = (MaybeNullValidationRule, OneOfInputValidationRule)


class CachedDocuments(SchemaExtension):
    """Strawberry's ParserCache, ValidationCache, MaxTokensLimiter, the depth/alias rules and
    a cost limit in one extension: each distinct query text is parsed (within the length and
    token limits), validated (with ``rules`` added) and costed once per process, in
    ``documents``, a cache bounded in bytes.

    One extension instead of four is cheaper per operation (bench/README.md); and the
    rule classes are fixed when the schema is built, so the validation cache always hits
    (per-operation limiters build new rule classes, which missed it every time). Every
    operation that passes validation reports its cost in ``extensions.cost``.
    """

    def __init__(
        self,
        *,
        documents: DocumentCache,
        rules: Rules,
        max_cost: int,
        list_size: int,
        hide_suggestions: bool,
    ) -> None:
        self.documents = documents
        self.rules = rules
        self.max_cost = max_cost
        self.list_size = list_size
        self.hide_suggestions = hide_suggestions
        self.entry: CachedDocument | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options.update(self.documents.parse_options)  # type: ignore[typeddict-item]
        # A document that does not parse (or is too long) is left to Strawberry's own parse
        # (same limits, via parse_options, and refused as fast), which turns the error into a
        # proper answer over HTTP and websockets alike (raised here, it ended a subscription
        # with a bare `complete`).
        try:
            self.entry = self.documents.get(context.query or "")
            context.graphql_document = self.entry.document
        except GraphQLError:
            self.entry = None
        yield

    def on_validate(self) -> Iterator[None]:
        context, entry = self.execution_context, self.entry
        if entry is not None:  # always, once the document parsed
            rules = tuple(context.validation_rules) + self.rules
            if entry.rules != rules:
                entry.errors = validate(
                    context.schema._schema,
                    entry.document,
                    rules + STRAWBERRY_RULES,
                    hide_suggestions=self.hide_suggestions,
                )
                entry.rules = rules
            context.pre_execution_errors = entry.errors or self._cost_errors(context, entry)
        yield

    def _cost_errors(self, context: ExecutionContext, entry: CachedDocument) -> list[GraphQLError]:
        name = context.operation_name
        cost = entry.costs.get(name)
        if cost is None:
            operation = get_operation_ast(entry.document, name)
            if operation is None:
                return []  # Strawberry refuses it (no such operation)
            analysis = CostAnalysis(
                context.schema._schema,
                fragments_in(entry.document),
                variables=context.variables,
                list_size=self.list_size,
            )
            cost = analysis.operation(operation)
            if not analysis.uses_variables:
                entry.costs[name] = cost
        context.extensions_results["cost"] = cost
        return [too_costly(cost, self.max_cost)] if cost > self.max_cost else []


class NoSuggestionsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Execution without "Did you mean" hints in variable and enum coercion errors."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        kwargs["hide_suggestions"] = True
        return super().build(*args, **kwargs)


class MaskUnexpectedErrors(MaskErrors):
    """Hide exceptions that escaped a field function; keep GraphQL and permission errors.

    Errors without a path (syntax, validation, variable coercion) and errors raised as
    GraphQLError on purpose (permissions, bad arguments) pass through unchanged.
    """

    def __init__(self) -> None:
        super().__init__(should_mask_error=self._should_mask)

    def _process_result(self, result: object) -> None:
        # MaskErrors asks isinstance(result, <runtime_checkable Protocol>), which walks the
        # protocol's attributes on every operation (a measurable share of ``order(id)``)
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
