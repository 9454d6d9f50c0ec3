"""The GraphQL API: per-domain Query/Mutation classes composed into the roots.

Thin by design: field functions convert input, call one use case from ``resolvers/`` and
convert the result. ``build_schema`` applies the safety limits from settings.
"""

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.catalog import CatalogMutation, CatalogQuery
from schema.documents import DocumentCache
from schema.extensions import CachedDocuments, MaskUnexpectedErrors, NoSuggestionsExecutionContext
from schema.limits import alias_limit, depth_limit
from schema.orders import OrderMutation, OrderQuery
from schema.payments import PaymentMutation, PaymentQuery
from schema.scalars import SCALAR_MAP, Long
from schema.subscriptions import Subscription
from schema.webhook_events import WebhookEventMutation, WebhookEventQuery

__all__ = ["Long", "Mutation", "PayqlSchema", "Query", "build_schema", "schema"]


@strawberry.type(description="Read the catalog, your orders and their payments.")
class Query(CatalogQuery, OrderQuery, PaymentQuery, WebhookEventQuery):
    pass


@strawberry.type(description="Create and change orders, payments and the catalog.")
class Mutation(CatalogMutation, OrderMutation, PaymentMutation, WebhookEventMutation):
    pass


class PayqlSchema(strawberry.Schema):
    """payql's schema; ``documents`` is its cache of parsed, validated documents."""

    documents: DocumentCache

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors are not logged; unexpected ones were logged when masked."""


def build_schema(
    *,
    max_depth: int = 12,
    max_aliases: int = 30,
    max_tokens: int = 3000,
    max_query_bytes: int = 100_000,
    cache_bytes: int = 64_000_000,
    max_cost: int = 100_000,
    list_size: int = 10,
    introspection: bool = True,
    field_suggestions: bool = True,
) -> PayqlSchema:
    """The schema with its safety extensions (limits, caches, masking); without
    ``field_suggestions`` no error carries a "Did you mean" hint."""
    documents = DocumentCache(
        max_length=max_query_bytes, max_tokens=max_tokens, max_bytes=cache_bytes
    )
    # Factories, not instances: Strawberry builds fresh extensions for every operation
    # (the document cache is the schema's, so it persists). The limit rules are built
    # once, here: the validation cache is keyed by them.
    rules = (depth_limit(max_depth), alias_limit(max_aliases))
    extensions: list[Any] = [
        lambda: CachedDocuments(
            documents=documents,
            rules=rules,
            max_cost=max_cost,
            list_size=list_size,
            hide_suggestions=not field_suggestions,
        ),
        MaskUnexpectedErrors,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    config = StrawberryConfig(
        disable_field_suggestions=not field_suggestions,
        scalar_map=SCALAR_MAP,  # type: ignore[arg-type]
    )
    built = PayqlSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=config,
        execution_context_class=None if field_suggestions else NoSuggestionsExecutionContext,
    )
    built.documents = documents
    return built


schema = build_schema()
