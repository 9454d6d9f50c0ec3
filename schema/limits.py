"""Depth and alias limits as graphql-core validation rules, linear in the document's size.

A fragment may be spread many times, and each spread may sit inside other fragments: a chain
where every fragment spreads the previous one twice names 2ⁿ copies of the first in n lines.
Walking every spread again (as Strawberry's ``QueryDepthLimiter`` and ``MaxAliasesLimiter``
do) costs as much as the copies. Here each fragment is measured once, by name, and a spread
reuses the measure; a spread of a fragment that is still being measured (a cycle, which
``NoFragmentCyclesRule`` reports) counts as empty. The walk keeps an explicit stack, so a
long chain of fragments cannot exhaust the interpreter's recursion limit either.
"""

from collections.abc import Callable, Container, Iterator, Mapping

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
)

__all__ = ["FragmentMemo", "alias_limit", "dependency_order", "depth_limit", "fragments_in"]

Measure = Callable[[FieldNode, int], int]


def fragments_in(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    """The document's fragment definitions by name."""
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


class FragmentMemo:
    """Measures selection sets, computing each named fragment once.

    ``field(node, inner)`` gives a field's measure from its selection set's (``inner``, 0 when
    it has none); a selection set measures ``combine`` over its selections.
    """

    def __init__(
        self,
        fragments: dict[str, FragmentDefinitionNode],
        *,
        field: Measure,
        combine: Callable[[Iterator[int]], int],
    ) -> None:
        self.fragments = fragments
        self.field = field
        self.combine = combine
        self.measured: dict[str, int] = {}

    def measure(self, selection_set: SelectionSetNode | None) -> int:
        """The measure of ``selection_set``, every fragment it spreads measured at most once."""
        if selection_set is None:
            return 0
        for name in dependency_order(self.fragments, selection_set, self.measured):
            fragment = self.fragments[name]
            self.measured[name] = self._shallow(fragment.selection_set)
        return self._shallow(selection_set)

    def _shallow(self, selection_set: SelectionSetNode) -> int:
        """Measure with every spread already in ``measured`` (nested fields recurse, fragments
        do not: the parser bounds how deep fields nest)."""
        return self.combine(self._each(selection_set))

    def _each(self, selection_set: SelectionSetNode) -> Iterator[int]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner = selection.selection_set
                yield self.field(selection, 0 if inner is None else self._shallow(inner))
            elif isinstance(selection, InlineFragmentNode):
                yield self._shallow(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                yield self.measured.get(selection.name.value, 0)


def dependency_order(
    fragments: Mapping[str, FragmentDefinitionNode],
    root: SelectionSetNode,
    known: Container[str] = (),
) -> list[str]:
    """The fragments reachable from ``root`` and not ``known``, each after those it spreads
    (a fragment on a cycle comes after the others on it; its spread inside them is unknown)."""
    order: list[str] = []
    entered: set[str] = set()
    stack: list[tuple[str | None, Iterator[str]]] = [(None, _spreads(root))]
    while stack:
        name, spreads = stack[-1]
        spread = next(spreads, None)
        if spread is None:
            stack.pop()
            if name is not None:
                order.append(name)
            continue
        fragment = fragments.get(spread)
        if fragment is None or spread in known or spread in entered:
            continue
        entered.add(spread)
        stack.append((spread, _spreads(fragment.selection_set)))
    return order


def _spreads(selection_set: SelectionSetNode) -> Iterator[str]:
    """Names of the fragments spread anywhere inside ``selection_set`` (not through them)."""
    stack = [selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FragmentSpreadNode):
                yield selection.name.value
            elif selection.selection_set is not None:  # type: ignore[attr-defined]
                stack.append(selection.selection_set)  # type: ignore[attr-defined]


def _operations(context: ValidationContext) -> Iterator[OperationDefinitionNode]:
    for definition in context.document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            yield definition


def _depth_of_field(node: FieldNode, inner: int) -> int:
    # Introspection fields do not count, as in Strawberry's limiter.
    if node.selection_set is None or node.name.value.startswith("__"):
        return 0
    return 1 + inner


def depth_limit(max_depth: int) -> type[ASTValidationRule]:
    """A rule refusing operations nested deeper than ``max_depth`` fields with selections."""

    class DepthLimit(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            memo = FragmentMemo(
                fragments_in(context.document),
                field=_depth_of_field,
                combine=lambda d: max(d, default=0),
            )
            for operation in _operations(context):
                if memo.measure(operation.selection_set) > max_depth:
                    name = operation.name.value if operation.name else "anonymous"
                    message = f"'{name}' exceeds maximum operation depth of {max_depth}"
                    context.report_error(GraphQLError(message, operation))

    return DepthLimit


def _aliases_of_field(node: FieldNode, inner: int) -> int:
    return inner + (node.alias is not None)


def alias_limit(max_aliases: int) -> type[ASTValidationRule]:
    """A rule refusing documents whose operations use more than ``max_aliases`` aliases,
    counting a fragment's aliases once per spread."""

    class AliasLimit(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            memo = FragmentMemo(
                fragments_in(context.document), field=_aliases_of_field, combine=sum
            )
            total = sum(memo.measure(operation.selection_set) for operation in _operations(context))
            if total > max_aliases:
                context.report_error(GraphQLError(f"{total} aliases found. Allowed: {max_aliases}"))

    return AliasLimit
