"""Answers ``orca.EvaluateExpression``: Gate's ``GET /pipelines/{id}/evaluateExpression``.

Orca's ``evaluateExpressionForExecution`` evaluates the expression against the execution (its
trigger, parameters and stages) and answers ``{result, detail}``: the value, or the expression as
given when it failed, with the evaluation summary saying why. The root is the one a stage of the
execution sees, with no stage context of its own.
"""

from __future__ import annotations

from bus import MessageContext
from schemas.orca_engine import EvaluateExpression, ExpressionEvaluated
from workers.orca import expressions as spel
from workers.orca.engine.store import ExecutionStore

_KEY = "expression"


class ExpressionQueries:
    """The handler of :class:`EvaluateExpression`."""

    def __init__(self, store: ExecutionStore) -> None:
        self.store = store

    async def evaluate_expression(self, query: EvaluateExpression, context: MessageContext) -> ExpressionEvaluated:
        execution = await self.store.get(query.execution_id)
        if execution is None:
            return ExpressionEvaluated(found=False)
        root = spel.stage_root({}, execution.to_json())
        processed = spel.process({_KEY: query.expression}, root)
        return ExpressionEvaluated(result=processed.value.get(_KEY), detail=processed.summary)
