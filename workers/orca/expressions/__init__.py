"""Orca's pipeline expression language: Spinnaker's ``${ … }`` expressions over JSON, safely.

Use :func:`process` on a stage's context when the stage starts, with the root from
:func:`stage_root`; use :func:`evaluate` for a single expression. Helpers are the
``#name(…)`` functions, pluggable through ``helpers=``; :class:`Limits` bounds the
cost of every expression. Everything that goes wrong is an :class:`ExpressionError`.

The supported grammar and where it differs from SpEL are in ``README.md`` beside this file.
"""

from .context import stage_root
from .errors import ExpressionError, ExpressionLimitError, ExpressionSyntaxError
from .helpers import Helper, HelperContext, HelperRegistry
from .limits import DEFAULT_LIMITS, Limits
from .operands import operands, shown
from .process import SUMMARY_KEY, ProcessedValue, evaluate, process
from .registry import DEFAULT_HELPERS
from .values import Value

__all__ = [
    "DEFAULT_HELPERS",
    "DEFAULT_LIMITS",
    "SUMMARY_KEY",
    "ExpressionError",
    "ExpressionLimitError",
    "ExpressionSyntaxError",
    "Helper",
    "HelperContext",
    "HelperRegistry",
    "Limits",
    "ProcessedValue",
    "Value",
    "evaluate",
    "operands",
    "process",
    "shown",
    "stage_root",
]
