"""The static cost of an operation: about how many fields its answer can hold.

Every field costs 1. A field with a ``first`` argument returns a page: what is selected
inside it counts ``first`` times (capped at the largest page payql serves; a variable's value
is read from the request). Other list fields count their selection ``list_size`` times, except
the ``edges``/``nodes`` of a connection, which are the page already counted. Introspection
fields cost 1 each (introspection is off in production; the IDE's own query must pass).

``cost(selection set) = Σ fields (1 + size(field) × cost(field's selection set))``

Each fragment is costed once per request and reused at every spread, so the walk is linear in
the document even when the cost it finds is exponential.
"""

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

from resolvers.visibility import MAX_PAGE_SIZE
from schema.limits import dependency_order

__all__ = ["CostAnalysis", "too_costly"]

PAGE_ARGUMENT = "first"
PAGE_ITEMS = frozenset({"edges", "nodes"})


def too_costly(cost: int, limit: int) -> GraphQLError:
    """The refusal of an operation costing more than ``limit``."""
    return GraphQLError(
        f"Query cost {cost} exceeds the maximum of {limit}: ask for smaller pages or fewer fields.",
        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "maxCost": limit},
    )


class CostAnalysis:
    """The cost of one operation of a valid document, with the request's variables.

    ``uses_variables`` tells whether a variable set a page size (then the cost holds for these
    variables only; otherwise for every request of this document and operation).
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        *,
        variables: Mapping[str, Any] | None,
        list_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables if isinstance(variables, Mapping) else {}
        self.list_size = list_size
        self.uses_variables = False
        self._costed: dict[str, int] = {}

    def operation(self, operation: OperationDefinitionNode) -> int:
        """The operation's cost (0 when the schema has no root type for it)."""
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return 0
        self._cost_fragments(operation.selection_set)
        return self.selections(root, operation.selection_set)

    def selections(self, parent: GraphQLNamedType, selection_set: SelectionSetNode) -> int:
        """The cost of ``selection_set`` selected on ``parent``."""
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(parent, selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                on = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(on or parent, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.spread(selection.name.value)
        return total

    def spread(self, name: str) -> int:
        """A named fragment's cost (computed before the selections that spread it)."""
        return self._costed.get(name, 0)

    def _cost_fragments(self, root: SelectionSetNode) -> None:
        # In dependency order, so that no spread recurses into its fragment: a long chain of
        # fragments then costs no stack (and each fragment is costed once).
        for name in dependency_order(self.fragments, root, self._costed):
            fragment = self.fragments[name]
            on = self.schema.get_type(fragment.type_condition.name.value)
            self._costed[name] = 0 if on is None else self.selections(on, fragment.selection_set)

    def field(self, parent: GraphQLNamedType, node: FieldNode) -> int:
        """1 for the field, plus its selection times its page or list size."""
        name = node.name.value
        if node.selection_set is None or name.startswith("__"):
            return 1
        fields = parent.fields if isinstance(parent, GraphQLObjectType) else {}
        definition = fields.get(name)
        if definition is None:
            return 1
        inner = self.selections(get_named_type(definition.type), node.selection_set)
        return 1 + self._size(parent, name, definition, node) * inner

    def _size(
        self, parent: GraphQLNamedType, name: str, definition: GraphQLField, node: FieldNode
    ) -> int:
        if PAGE_ARGUMENT in definition.args:
            return self._page(definition, node)
        of_type = definition.type
        if isinstance(of_type, GraphQLNonNull):
            of_type = of_type.of_type
        if not isinstance(of_type, GraphQLList):
            return 1
        if name in PAGE_ITEMS and parent.name.endswith("Connection"):
            return 1
        return self.list_size

    def _page(self, definition: GraphQLField, node: FieldNode) -> int:
        value: object = definition.args[PAGE_ARGUMENT].default_value
        for argument in node.arguments or ():
            if argument.name.value != PAGE_ARGUMENT:
                continue
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                self.uses_variables = True
                value = self.variables.get(argument.value.name.value, value)
        if not isinstance(value, int) or isinstance(value, bool):
            return MAX_PAGE_SIZE  # refused when coerced; costed as the largest page meanwhile
        return min(max(value, 0), MAX_PAGE_SIZE)
