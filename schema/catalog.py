"""Workspaces and their catalog: public reads, staff-only writes."""

from typing import Annotated, Any

import strawberry
from graphql import GraphQLError

import models
from resolvers import catalog as catalog_cases
from resolvers.errors import InvalidInput
from resolvers.ids import try_parse_id
from schema.context import Info
from schema.errors import UserError, attempt
from schema.inputs import (
    CreateProductInput,
    CreateVoucherInput,
    UpdateProductInput,
    check_argument,
    input_errors,
)
from schema.permissions import IsAuthenticated
from schema.types import Me, Membership, Product, Voucher, Workspace

SLUG_LENGTH = 64  # the column


@strawberry.type(description="Result of a product mutation.")
class ProductPayload:
    product: Product | None = strawberry.field(description="The product, unless errors.")
    errors: list[UserError] = strawberry.field(description="Why it failed; empty on success.")


@strawberry.type(description="Result of a voucher mutation.")
class VoucherPayload:
    voucher: Voucher | None = strawberry.field(description="The voucher, unless errors.")
    errors: list[UserError] = strawberry.field(description="Why it failed; empty on success.")


@strawberry.type
class CatalogQuery:
    @strawberry.field(
        description="The caller: email, admin flag and workspace roles.",
        permission_classes=[IsAuthenticated],
    )
    async def me(self, info: Info) -> Me:
        actor = await info.context.actor()
        workspaces = {w.id: w for w in await models.Workspace.filter(id__in=list(actor.roles))}
        return Me(
            user_id=strawberry.ID(str(actor.user_id)),
            email=actor.email,
            is_admin=actor.is_admin,
            memberships=[
                Membership(workspace=Workspace(row=workspaces[ws]), role=role)
                for ws, role in actor.roles.items()
                if ws in workspaces
            ],
        )

    @strawberry.field(description="A workspace by id or slug, with its public catalog.")
    async def workspace(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Workspace id.")
        ] = None,
        slug: Annotated[str | None, strawberry.argument(description="Workspace slug.")] = None,
    ) -> Workspace | None:
        check_argument(slug, field=["slug"], max_length=SLUG_LENGTH)
        if id is not None:
            workspace_id = try_parse_id(id)
            row = await models.Workspace.get_or_none(id=workspace_id) if workspace_id else None
        elif slug is not None:
            row = await models.Workspace.get_or_none(slug=slug)
        else:
            raise GraphQLError("give id or slug", extensions={"code": "BAD_USER_INPUT"})
        return Workspace(row=row) if row is not None else None

    @strawberry.field(description="A workspace's products on sale (staff also see inactive).")
    async def products(
        self,
        info: Info,
        workspace_id: Annotated[strawberry.ID, strawberry.argument(description="Workspace id.")],
    ) -> list[Product]:
        parsed = try_parse_id(workspace_id)
        row = await models.Workspace.get_or_none(id=parsed) if parsed else None
        return [] if row is None else await Workspace(row=row).products(info)


def _changes(
    input: Annotated[
        UpdateProductInput, strawberry.argument(description="What to do; see the input type.")
    ],
) -> dict[str, Any]:
    names = ("name", "price", "capacity", "starts_at", "active", "description")
    changes = {n: getattr(input, n) for n in names if getattr(input, n) is not strawberry.UNSET}
    for required in ("name", "price", "active", "description"):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"{required} cannot be null", field=["input", required])
    return changes


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(description="Add a product (staff).", permission_classes=[IsAuthenticated])
    async def create_product(
        self,
        info: Info,
        input: Annotated[
            CreateProductInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> ProductPayload:
        if errors := input_errors(input):
            return ProductPayload(product=None, errors=errors)
        draft = catalog_cases.ProductDraft(
            name=input.name,
            price=input.price,
            currency=input.currency,
            capacity=input.capacity,
            starts_at=input.starts_at,
            active=input.active,
            description=input.description,
        )
        row, errors = await attempt(
            catalog_cases.create_product(
                actor=await info.context.actor(), workspace_id=input.workspace_id, draft=draft
            )
        )
        return ProductPayload(product=Product(row=row) if row else None, errors=errors)

    @strawberry.mutation(
        description="Change a product (staff).", permission_classes=[IsAuthenticated]
    )
    async def update_product(
        self,
        info: Info,
        input: Annotated[
            UpdateProductInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> ProductPayload:
        if errors := input_errors(input):
            return ProductPayload(product=None, errors=errors)

        async def run() -> models.Product:
            return await catalog_cases.update_product(
                actor=await info.context.actor(),
                product_id=input.product_id,
                changes=_changes(input),
            )

        row, errors = await attempt(run())
        return ProductPayload(product=Product(row=row) if row else None, errors=errors)

    @strawberry.mutation(
        description="Create a voucher (staff).", permission_classes=[IsAuthenticated]
    )
    async def create_voucher(
        self,
        info: Info,
        input: Annotated[
            CreateVoucherInput, strawberry.argument(description="What to do; see the input type.")
        ],
    ) -> VoucherPayload:
        if errors := input_errors(input):
            return VoucherPayload(voucher=None, errors=errors)
        draft = catalog_cases.VoucherDraft(
            code=input.code,
            percent_off=input.percent_off,
            amount_off=input.amount_off,
            currency=input.currency,
            max_uses=input.max_uses,
            valid_from=input.valid_from,
            valid_until=input.valid_until,
        )
        row, errors = await attempt(
            catalog_cases.create_voucher(
                actor=await info.context.actor(), workspace_id=input.workspace_id, draft=draft
            )
        )
        return VoucherPayload(voucher=Voucher(row=row) if row else None, errors=errors)
