"""Schema extensions: mask unexpected errors (with a request id, logged in full)."""

import logging

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

logger = logging.getLogger("payql.graphql")


class MaskUnexpectedErrors(MaskErrors):
    """Hide exceptions that escaped a field function; keep GraphQL and permission errors.

    Errors without a path (syntax, validation, variable coercion) and errors raised as
    GraphQLError on purpose (permissions, bad arguments) pass through unchanged.
    """

    def __init__(self) -> None:
        super().__init__(should_mask_error=self._should_mask)

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
