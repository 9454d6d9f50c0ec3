"""The GraphQL API: per-domain Query/Mutation classes composed into the roots.

Thin by design: field functions convert input, call one use case from ``resolvers/`` and
convert the result. ``build_schema`` applies the safety limits from settings.
"""

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection, MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.catalog import CatalogMutation, CatalogQuery
from schema.extensions import CachedDocuments, MaskUnexpectedErrors
from schema.orders import OrderMutation, OrderQuery
from schema.payments import PaymentMutation, PaymentQuery
from schema.scalars import SCALAR_MAP, Long
from schema.subscriptions import Subscription

__all__ = ["Long", "Mutation", "Query", "build_schema", "schema"]


@strawberry.type(description="Read the catalog, your orders and their payments.")
class Query(CatalogQuery, OrderQuery, PaymentQuery):
    pass


@strawberry.type(description="Create and change orders, payments and the catalog.")
class Mutation(CatalogMutation, OrderMutation, PaymentMutation):
    pass


class PayqlSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors are not logged; unexpected ones were logged when masked."""


def build_schema(
    *,
    max_depth: int = 12,
    max_aliases: int = 30,
    max_tokens: int = 3000,
    introspection: bool = True,
    field_suggestions: bool = True,
) -> strawberry.Schema:
    """The schema with its safety extensions (limits, caches, masking)."""
    # Factories, not instances: Strawberry builds fresh extensions for every operation
    # (the document caches are module-level, so they persist). The limit rules are built
    # once, here: the validation cache is keyed by them.
    limits = (
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    )
    extensions: list[Any] = [
        lambda: CachedDocuments(max_tokens=max_tokens, rules=limits),
        MaskUnexpectedErrors,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    config = StrawberryConfig(
        disable_field_suggestions=not field_suggestions,
        scalar_map=SCALAR_MAP,  # type: ignore[arg-type]
    )
    return PayqlSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=config,
    )


schema = build_schema()
