"""Prepared queries: a queryset's SQL built once per database client, run with new values.

Tortoise rebuilds a query's SQL on every ``await`` (filters resolved, pypika rendered),
and on a hot read such as ``order(id)`` that costs more than the database's own work
(most of a read on SQLite, ``bench/README.md``). A :class:`PreparedQuery`
builds the queryset from unique sample values once per client class (one per SQL
dialect), finds where each sample landed among the statement's parameters, and from
then on only substitutes values and runs the statement through Tortoise's own executor,
so rows become model instances exactly as an ordinary ``await`` makes them.

    readable = PreparedQuery(
        Order, lambda user_id, order_id: Order.filter(...).filter(id=order_id),
        user_id=UUID, order_id=UUID,
    )
    order = await readable.first(user_id=..., order_id=...)

The query's shape must not depend on the values (no ``if`` on them inside ``build``), and
each value must reach the SQL as it was given (a UUID as itself or as its text, a string
unchanged); :class:`PreparedQuery` checks the second when it prepares and refuses
otherwise.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.exceptions import DoesNotExist
from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)

_SAMPLES: dict[type, Callable[[], Any]] = {
    uuid.UUID: uuid.uuid4,
    str: lambda: f"~{uuid.uuid4().hex[:12]}",  # short: filters check max_length
}


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where a statement parameter comes from: a named value (maybe as text) or a constant."""

    name: str | None
    as_text: bool = False
    constant: Any = None

    def value(self, values: dict[str, Any]) -> Any:
        if self.name is None:
            return self.constant
        given = values[self.name]
        return str(given) if self.as_text else given


@dataclass(frozen=True, slots=True)
class _Statement:
    sql: str
    slots: tuple[_Slot, ...]


class PreparedQuery(Generic[M]):
    """``build(**values)`` → a queryset of ``model`` whose SQL is prepared once per client
    class; the client itself is chosen on every call (it may be a transaction's). A query
    that ``locks`` rows (``select_for_update``) goes where writes go, as Tortoise sends
    ``select_for_update`` querysets: never to a read replica, outside the transaction."""

    def __init__(
        self,
        model: type[M],
        build: Callable[..., QuerySet[M]],
        *,
        locks: bool = False,
        **types: type,
    ) -> None:
        unsupported = [name for name, kind in types.items() if kind not in _SAMPLES]
        if unsupported:
            raise TypeError(f"prepared values must be UUID or str: {unsupported}")
        self._model = model
        self._build = build
        self._locks = locks
        self._types = types
        self._statements: dict[type, _Statement] = {}

    async def all(self, **values: Any) -> list[M]:
        """The rows as model instances, as ``await build(**values)`` would return them."""
        if values.keys() != self._types.keys():
            raise TypeError(f"expected values {sorted(self._types)}, got {sorted(values)}")
        db = self._model._choose_db(self._locks)
        statement = self._statement(db)
        params = [slot.value(values) for slot in statement.slots]
        executor = db.executor_class(model=self._model, db=db)
        rows: list[M] = await executor.execute_select(statement.sql, params)
        return rows

    def sql(self) -> str:
        """The statement as prepared for the current client (for tests and debugging)."""
        return self._statement(self._model._choose_db(self._locks)).sql

    def _statement(self, db: Any) -> _Statement:
        statement = self._statements.get(type(db))
        if statement is None:
            statement = self._statements[type(db)] = self._compile(db)
        return statement

    async def first(self, **values: Any) -> M | None:
        rows = await self.all(**values)
        return rows[0] if rows else None

    async def get(self, **values: Any) -> M:
        """The first row; :class:`~tortoise.exceptions.DoesNotExist` if there is none (for
        rows that must exist, as ``Model.get`` is used)."""
        row = await self.first(**values)
        if row is None:
            raise DoesNotExist(f"{self._model.__name__} {values}")
        return row

    def _compile(self, db: Any) -> _Statement:
        samples = {name: _SAMPLES[kind]() for name, kind in self._types.items()}
        queryset = self._build(**samples).using_db(db)
        queryset._make_query()
        sql, params = queryset.query.get_parameterized_sql()
        statement = _Statement(sql, tuple(_slot(param, samples) for param in params))
        missing = samples.keys() - {slot.name for slot in statement.slots}
        if missing:
            raise ValueError(f"prepared values never reach the SQL as given: {sorted(missing)}")
        return statement


def by_id(model: type[M], *, for_update: bool = False) -> PreparedQuery[M]:
    """``model``'s row by primary key; with ``for_update``, locked for the caller's
    transaction (``SELECT … FOR UPDATE`` where the database has it)."""

    def build(id: uuid.UUID) -> QuerySet[M]:
        query = model.filter(id=id)
        return query.select_for_update() if for_update else query

    return PreparedQuery(model, build, locks=for_update, id=uuid.UUID)


def _slot(param: Any, samples: dict[str, Any]) -> _Slot:
    for name, sample in samples.items():
        if param == sample:
            return _Slot(name)
        if isinstance(sample, uuid.UUID) and param == str(sample):
            return _Slot(name, as_text=True)
    return _Slot(None, constant=param)
