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

A sorted find (an application's newest executions, its pipeline configs by name) sorted the whole
collection: mongoeco compiles a filter to SQL that no index of the collection can serve, and
before it checks, with a scan per check, what types the sorted field holds, checks every write
throws away. At 1,000 stored executions a listing of ten took 50-100 ms quiet, several hundred
under load. This engine serves such a find from a compound index when it can prove the answer is
the same (:meth:`StringIdSQLiteEngine._indexed_top`): the index's leading keys are string
equalities of the filter and its next key the sort, so the index holds every match in order.

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
from mongoeco.core.operation_limits import enforce_deadline
from mongoeco.core.query_plan import AndCondition, EqualsCondition, InCondition, QueryNode
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.engines.sqlite_query import index_expressions_sql, json_path_for_field


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

    def _open_scan_documents_sync(self, reader: Any) -> Any:
        top = self._indexed_top(reader)
        if top is None:
            return super()._open_scan_documents_sync(reader)
        return self._project_sql_scan_rows(top, reader.semantics, reader)

    def _indexed_top(self, reader: Any) -> list[tuple[str]] | None:
        """The stored documents a sorted find returns, read from a compound index in order, or
        ``None`` when no index can prove the answer (mongoeco's own plan runs then).

        The index's keys must be string equalities of the filter's top-level conjunction, then the
        sort field. Every match then sits under that prefix, in sort order, if no stored document
        holds an array at an equality field (an array holding the string matches too, and the
        index does not see it) and the sort field holds numbers of one kind or strings under the
        prefix (the order SQLite keeps is MongoDB's only for those): both are asked of the index
        itself (:func:`_indexed_answer_is_exact`), a few lookups, never a scan. The whole filter is
        then evaluated on each candidate by mongoeco's matcher, the one its unindexed queries use,
        until skip + limit have matched (or the candidates end, without a limit).
        """
        semantics = reader.semantics
        db_name, coll_name = reader.db_name, reader.coll_name
        if (
            semantics.hint is not None
            or semantics.collation is not None
            or semantics.text_query is not None
            or semantics.sort is None
            or len(semantics.sort) != 1
            or (semantics.limit or 0) < 0
            or self._is_profile_namespace(coll_name)
        ):
            return None
        field, direction = semantics.sort[0]
        equal = _string_equalities(semantics.query_plan)
        if direction not in (1, -1) or "." in field or not equal:
            return None
        index = _prefix_index(self._load_indexes(db_name, coll_name), equal, field)
        if index is None:
            return None
        connection = self._require_connection(reader.context)
        prefix = [key for key, _ in index.key[:-1]]
        tag = _indexed_answer_is_exact(connection, db_name, coll_name, prefix, equal, field)
        if tag is None:
            return None
        where, params = _prefix_sql(db_name, coll_name, prefix, equal)
        others, other_params = _string_candidates(semantics.query_plan, prefix)
        params += [tag, *other_params]
        kind, value = index_expressions_sql(field)
        select = (
            f"SELECT document FROM documents INDEXED BY {self._quote_identifier(str(index.physical_name))} "
            f"WHERE {where} AND {kind} = ?{others} "
            f"ORDER BY {value} {'DESC' if direction == -1 else 'ASC'} LIMIT ? OFFSET ?"
        )
        wanted, skip = semantics.limit or None, semantics.skip
        top: list[tuple[str]] = []
        offset, batch = 0, skip + (wanted or 100) + 16
        while True:
            enforce_deadline(semantics.deadline)
            rows = connection.execute(select, (*params, batch, offset)).fetchall()
            for (payload,) in rows:
                document = self._deserialize_document(payload)
                if not QueryEngine.match_plan(
                    document, semantics.query_plan, dialect=semantics.dialect, variables=semantics.variables
                ):
                    continue
                if skip:
                    skip -= 1
                    continue
                top.append((payload,))
                if len(top) == wanted:
                    return top
            if len(rows) < batch:
                return top
            offset, batch = offset + batch, batch * 2


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


def _string_equalities(plan: QueryNode) -> dict[str, str]:
    """The top-level fields ``plan`` (a conjunction) requires to equal a string, and the strings."""
    clauses = plan.clauses if isinstance(plan, AndCondition) else (plan,)
    return {
        clause.field: clause.value
        for clause in clauses
        if isinstance(clause, EqualsCondition) and "." not in clause.field and isinstance(clause.value, str)
    }


def _string_candidates(plan: QueryNode, prefix: list[str]) -> tuple[str, list[Any]]:
    """SQL keeping, of the documents under the index prefix, at least those that can meet the
    filter's other string equalities and ``$in`` of strings (a search by ``trigger.eventId``, a
    status): the value at the path is one of the strings, or the path crosses an array anywhere
    (where MongoDB's matching reaches into elements, left to mongoeco's matcher, as is every
    candidate). Without an array on the way, the one value there is a JSON string equal to one
    of them, or the document cannot match."""
    clauses = plan.clauses if isinstance(plan, AndCondition) else (plan,)
    sql, params = "", list[Any]()
    for clause in clauses:
        if isinstance(clause, EqualsCondition) and isinstance(clause.value, str):
            values: tuple[Any, ...] = (clause.value,)
        elif isinstance(clause, InCondition) and clause.values and all(isinstance(v, str) for v in clause.values):
            values = clause.values
        else:
            continue
        if clause.field in prefix:
            continue
        steps = clause.field.split(".")
        paths = [_path_literal(".".join(steps[:n])) for n in range(1, len(steps) + 1)]
        arrays = " OR ".join(f"json_type(document, {path}) = 'array'" for path in paths)
        marks = ", ".join("?" for _ in values)
        sql += f" AND (json_extract(document, {paths[-1]}) IN ({marks}) OR {arrays})"
        params += values
    return sql, params


def _path_literal(field: str) -> str:
    return "'" + json_path_for_field(field).replace("'", "''") + "'"


def _prefix_index(indexes: Any, equal: dict[str, str], field: str) -> Any:
    """The index of plain keys whose last key is ``field`` and the others all in ``equal``, the
    one with the most such keys."""
    usable = [
        index
        for index in indexes
        if index.physical_name
        and len(index.key) >= 2
        and index.key[-1][0] == field
        and all(key in equal for key, _ in index.key[:-1])
        and all(direction in (1, -1) for _, direction in index.key)
        and not (index.sparse or index.hidden or index.collation or index.partial_filter_expression)
    ]
    return max(usable, key=lambda index: len(index.key), default=None)


def _prefix_sql(db_name: str, coll_name: str, prefix: list[str], equal: dict[str, str]) -> tuple[str, list[Any]]:
    """The conditions on an index's leading columns that documents holding ``equal``'s string at
    each of ``prefix``'s fields meet (a string is stored untagged: its type column is empty)."""
    where, params = ["db_name = ?", "coll_name = ?"], [db_name, coll_name]
    for key in prefix:
        kind, value = index_expressions_sql(key)
        where.append(f"{kind} = '' AND {value} = ?")
        params.append(equal[key])
    return " AND ".join(where), params


NUMBER_TAGS = ("", "int64")
"""How mongoeco stores the numbers a sort by index serves: untagged JSON (int32, double) or tagged
int64 (epoch milliseconds are int64), the value a JSON number either way. Under one tag, SQLite
orders the values as MongoDB does; across tags, or for any other tag, it does not. Strings are
stored untagged and compared bytewise by both (MongoDB's simple collation, SQLite's BINARY)."""


def _indexed_answer_is_exact(
    connection: Any, db_name: str, coll_name: str, prefix: list[str], equal: dict[str, str], field: str
) -> str | None:
    """The tag ``field`` is stored with in every document under the index prefix, when every
    document matching ``equal`` lies under that prefix and ``field`` holds, in all of them, numbers
    of one of :data:`NUMBER_TAGS` (not booleans, which SQLite reads as 0 and 1) or strings (not
    objects or arrays, which SQLite reads as JSON text), or null or nothing (SQLite orders NULL
    first, as MongoDB does); else ``None``. Each asked of the index: a few lookups, never a scan."""
    checks: list[str] = []
    params: list[Any] = []
    for n, key in enumerate(prefix):
        where, before = _prefix_sql(db_name, coll_name, prefix[:n], equal)
        checks.append(_no_text_starting(where, key, "["))  # an array holding the string matches it too
        params.extend(before)
    where, under = _prefix_sql(db_name, coll_name, prefix, equal)
    kind, value = index_expressions_sql(field)
    row = connection.execute(
        f"SELECT ({' AND '.join(checks)}), (SELECT MIN({kind}) FROM documents WHERE {where}), "
        f"(SELECT MAX({kind}) FROM documents WHERE {where})",
        (*params, *under, *under),
    ).fetchone()
    if row is None or not row[0] or row[1] != row[2]:
        return None
    tag = row[1]
    if tag is None:
        return ""  # nothing under the prefix: nothing matches
    if tag not in NUMBER_TAGS:
        return None
    plain, params = f"{where} AND {kind} = ?", [*under, tag]
    row = connection.execute(
        f"SELECT (SELECT typeof(v) FROM (SELECT MIN({value}) AS v FROM documents WHERE {plain})), "
        f"(SELECT typeof(v) FROM (SELECT MAX({value}) AS v FROM documents WHERE {plain}))",
        params * 2,
    ).fetchone()
    kinds = set(row or ())
    if kinds <= {"integer", "real"}:
        exact = (
            f"NOT EXISTS (SELECT 1 FROM documents WHERE {plain} AND {value} IN (0, 1) "
            f"AND json_type(document, {_path_literal(field)}) IN ('true', 'false'))"
        )
        checked = params
    elif kinds == {"text"}:
        exact = f"{_no_text_starting(plain, field, '[')} AND {_no_text_starting(plain, field, '{')}"
        checked = params * 2
    else:
        return None
    row = connection.execute(f"SELECT {exact}", checked).fetchone()
    return tag if row is not None and row[0] else None


def _no_text_starting(where: str, field: str, character: str) -> str:
    """SQL true when no document meeting ``where`` holds untagged text at ``field`` starting with
    ``character``: ``[`` finds arrays, ``{`` plain objects, as SQLite reads both as JSON text (a
    string starting so is found too, which only refuses the index: safe). A range of the index."""
    kind, value = index_expressions_sql(field)
    after = chr(ord(character) + 1)
    return (
        f"NOT EXISTS (SELECT 1 FROM documents WHERE {where} AND {kind} = '' "
        f"AND {value} >= '{character}' AND {value} < '{after}')"
    )


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
