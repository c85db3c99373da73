"""The embedded store's SQLite engine: mongoeco's, without whole-collection scans on writes by id.

Two of mongoeco's writes cost O(documents in the collection), which stalled parking thousands of
executions (measured on 9 KB documents):

* an insert checks the new ``_id`` against every stored document, decoded, so that numerically
  equal ids of different BSON types (``1`` and ``1.0``) collide as in MongoDB: 11 ms per insert at
  250 stored, 50 ms at 1,750. A string ``_id`` (every id Gennaker writes is one: ULIDs, names,
  keys) can only equal another string, which the engine's storage-key lookup already finds; so
  for those the scan is skipped. Numeric ids keep it.
* a write whose filter is ``_id`` *and* something else (Orca's compare-and-set on ``version``)
  is compiled to SQL after checks that scan the collection for decimal and array values, and each
  write throws those checks' cache away: 15 ms per update at 200 stored, 63 ms at 1,000, while an
  ``_id``-only filter takes the engine's key lookup (3.7 ms at any size). With a string ``_id``
  in the filter, at most that one document can match: it is fetched by key and the whole filter
  evaluated on it by mongoeco's own matcher, the one its unindexed queries use.

And every write paid for change streams nobody can open: mongoeco's SQLite engine journals each
change (the whole document deep-copied and serialised a second time, two rows, a compaction) and
after it hands the journal to the client's change hub (an SQLite lease, a heartbeat thread per
write). Change streams are not served through the wire server (the design says to use bus
events), so this engine declares no change delivery and records no changes: a 10-stage
execution's update cost about half as much again without them (``benchmarks/orca.py``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from mongoeco.core.filtering import QueryEngine
from mongoeco.core.identity import id_contains_numeric_value
from mongoeco.core.operation_context import ChangePublicationPolicy, OperationContext
from mongoeco.core.query_plan import AndCondition, EqualsCondition, QueryNode
from mongoeco.engines.sqlite import SQLiteEngine


class StringIdSQLiteEngine(SQLiteEngine):
    """mongoeco's SQLite engine, finding a document by a non-numeric ``_id`` through its key alone,
    and keeping no journal of changes for change streams (which the wire server does not serve)."""

    capabilities = replace(SQLiteEngine.capabilities, change_delivery="none")

    async def insert_document(
        self, *args: Any, operation_context: OperationContext | None = None, **kwargs: Any
    ) -> Any:
        return await super().insert_document(*args, operation_context=_unpublished(operation_context), **kwargs)

    async def insert_documents(
        self, *args: Any, operation_context: OperationContext | None = None, **kwargs: Any
    ) -> Any:
        return await super().insert_documents(*args, operation_context=_unpublished(operation_context), **kwargs)

    async def merge_document(self, *args: Any, operation_context: OperationContext | None = None, **kwargs: Any) -> Any:
        return await super().merge_document(*args, operation_context=_unpublished(operation_context), **kwargs)

    async def update_with_operation(
        self,
        db_name: str,
        coll_name: str,
        operation: Any,
        *args: Any,
        operation_context: OperationContext | None = None,
        **kwargs: Any,
    ) -> Any:
        operation, context = _unpublished_operation(operation, operation_context)
        return await super().update_with_operation(
            db_name, coll_name, operation, *args, operation_context=context, **kwargs
        )

    async def delete_with_operation(
        self,
        db_name: str,
        coll_name: str,
        operation: Any,
        *args: Any,
        operation_context: OperationContext | None = None,
        **kwargs: Any,
    ) -> Any:
        operation, context = _unpublished_operation(operation, operation_context)
        return await super().delete_with_operation(
            db_name, coll_name, operation, *args, operation_context=context, **kwargs
        )

    def _validate_document_against_unique_indexes(
        self,
        db_name: str,
        coll_name: str,
        document: dict[str, Any],
        *,
        exclude_storage_key: str | None = None,
        skip_id_check: bool = False,
        scan_payload_id: bool = False,
    ) -> None:
        if scan_payload_id and "_id" in document and not id_contains_numeric_value(document["_id"]):
            scan_payload_id = False
        super()._validate_document_against_unique_indexes(
            db_name,
            coll_name,
            document,
            exclude_storage_key=exclude_storage_key,
            skip_id_check=skip_id_check,
            scan_payload_id=scan_payload_id,
        )

    def _select_first_document_for_plan(
        self,
        db_name: str,
        coll_name: str,
        plan: QueryNode,
        *,
        hint: Any = None,
        context: Any = None,
    ) -> tuple[str, dict[str, Any]] | None:
        by_id = _string_id_clause(plan) if hint is None else None
        if by_id is None:
            found: tuple[str, dict[str, Any]] | None = super()._select_first_document_for_plan(
                db_name, coll_name, plan, hint=hint, context=context
            )
            return found
        found = super()._select_first_document_for_plan(db_name, coll_name, by_id, context=context)
        if found is None or not QueryEngine.match_plan(found[1], plan):
            return None
        return found


def _unpublished(context: OperationContext | None) -> OperationContext | None:
    """``context`` saying its change is not to be journaled for change streams."""
    if context is None or context.publication is ChangePublicationPolicy.DISABLED:
        return context
    return context.derive(publication=ChangePublicationPolicy.DISABLED)


def _unpublished_operation(operation: Any, context: OperationContext | None) -> tuple[Any, OperationContext | None]:
    """``operation`` and ``context`` saying its change is not journaled; an operation is bound to
    its context, so the one it is bound to is swapped for the same with that one setting changed."""
    unpublished = _unpublished(context)
    if unpublished is not context and operation.context is context:
        operation = operation.with_overrides(context=unpublished)
    return operation, unpublished


def _string_id_clause(plan: QueryNode) -> EqualsCondition | None:
    """The ``_id`` equality on a non-numeric value among ``plan``'s top-level conjuncts, if any."""
    if not isinstance(plan, AndCondition):
        return None
    for clause in plan.clauses:
        if isinstance(clause, EqualsCondition) and clause.field == "_id":
            return None if id_contains_numeric_value(clause.value) else clause
    return None


ENGINE_THREADS = 1
"""Threads the engine runs commands on. mongoeco's default (a pool shared by every engine, 6 on
two cores) runs reads and writes of one collection at once, and its per-collection feature cache
is read and filled without the engine's lock while writes iterate it: under load a write failed
with "dictionary changed size during iteration", or a read with a KeyError. One thread serialises
all engine work, as mongoeco itself does for in-memory SQLite."""


def string_id_engine(path: Path, *, threads: int = ENGINE_THREADS) -> StringIdSQLiteEngine:
    """The engine :class:`~gennaker.store.EmbeddedStore` serves ``path`` with, on ``threads``
    threads of its own (:data:`ENGINE_THREADS`)."""
    return StringIdSQLiteEngine(str(path), executor_workers=threads)
