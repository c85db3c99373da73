"""Walks a parsed expression over JSON data and returns a JSON value.

Each node kind has one small method. The evaluator counts every node it visits
(plus a cost for large strings and lists it scans) against ``Limits.max_steps``, and
every character it produces against a total, so no expression can loop or allocate
without bound. Values are only ever ``None/bool/int/float/str/list/dict``: there is
no path from an expression to a Python attribute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .errors import ExpressionError, ExpressionLimitError
from .helpers import HelperContext, HelperRegistry, lookup
from .limits import Limits
from .methods import call_method, regex_matches
from .nodes import (
    Binary,
    Elvis,
    FunctionCall,
    Index,
    ListLiteral,
    Literal,
    Logical,
    MapLiteral,
    MethodCall,
    Node,
    Projection,
    Property,
    Selection,
    Ternary,
    Unary,
    Variable,
)
from .normalize import to_json_value
from .registry import ALIASES
from .values import (
    Value,
    check_number,
    check_size,
    check_string,
    compare,
    equal,
    is_number,
    to_boolean,
    to_string,
    type_name,
)

type _Step = Property | Index | MethodCall | Selection | Projection
_STEP_TYPES = (Property, Index, MethodCall, Selection, Projection)

_OUTPUT_FACTOR = 10  # total characters produced may be this many times the single-string limit


class Evaluator:
    """Evaluates trees against one root; create one per expression so budgets start fresh."""

    def __init__(
        self,
        root: dict[str, Value],
        helpers: HelperRegistry,
        limits: Limits,
        current_stage_id: str | None = None,
    ) -> None:
        self._root = root
        self._helpers = helpers
        self._limits = limits
        self._context = HelperContext(root, limits, current_stage_id)
        self._steps = 0
        self._produced = 0

    def evaluate(self, node: Node) -> Value:
        return self._eval(node, self._root)

    # -- budget ----------------------------------------------------------------------------------

    def _tick(self, cost: int = 1) -> None:
        self._steps += cost
        if self._steps > self._limits.max_steps:
            raise ExpressionLimitError(f"expression exceeded its budget of {self._limits.max_steps} evaluation steps")

    def _produced_string(self, value: str) -> str:
        check_string(value, self._limits)
        self._produced += len(value)
        if self._produced > self._limits.max_string_length * _OUTPUT_FACTOR:
            raise ExpressionLimitError("expression produced too much text in total")
        return value

    def _scan_cost(self, value: Value) -> int:
        """Steps to charge for an operation that walks ``value`` (comparison, JSON, toString, search).

        One step per 100 elements and per 10,000 characters, counted without recursion and
        abandoned once the value is already larger than the whole budget could pay for.
        """
        if isinstance(value, str):
            return len(value) // 10_000
        if not isinstance(value, list | dict):
            return 0
        ceiling = self._limits.max_steps * 100
        nodes = chars = 0
        stack: list[Value] = [value]
        while stack and nodes <= ceiling:
            item = stack.pop()
            nodes += 1
            if isinstance(item, str):
                chars += len(item)
            elif isinstance(item, list):
                stack.extend(item[:ceiling])
            elif isinstance(item, dict):
                nodes += len(item)
                stack.extend(item.values())
        return nodes // 100 + chars // 10_000

    # -- dispatch --------------------------------------------------------------------------------

    def _eval(self, node: Node, this: Value) -> Value:
        self._tick()
        match node:
            case Literal(value):
                return check_number(value) if is_number(value) else value
            case Property() | Index() | MethodCall() | Selection() | Projection():
                return self._chain(node, this)
            case Variable(name):
                return self._variable(name, this)
            case FunctionCall():
                return self._function(node, this)
            case Unary():
                return self._unary(node, this)
            case Binary():
                return self._binary(node, this)
            case Logical(op, left, right):
                first = to_boolean(self._eval(left, this), f"the left side of '{op}'")
                if first is (op == "||"):
                    return first
                return to_boolean(self._eval(right, this), f"the right side of '{op}'")
            case Ternary(condition, if_true, if_false):
                chosen = to_boolean(self._eval(condition, this), "the condition of '? :'")
                return self._eval(if_true if chosen else if_false, this)
            case Elvis(value, fallback):
                result = self._eval(value, this)
                return self._eval(fallback, this) if result is None or result == "" else result
            case ListLiteral(items):
                return [self._eval(item, this) for item in items]
            case MapLiteral(entries):
                return {self._key(k, this): self._eval(v, this) for k, v in entries}

    # -- navigation ------------------------------------------------------------------------------

    def _chain(self, node: _Step, this: Value) -> Value:
        """Walk ``a.b[c].d()`` left to right; a null met by ``?.`` ends the whole chain with null."""
        steps: list[_Step] = []
        current: Node | None = node
        while isinstance(current, _STEP_TYPES):
            steps.append(current)
            current = current.target
        value = this if current is None else self._eval(current, this)
        for step in reversed(steps):
            if step is not node:
                self._tick()
            if value is None and isinstance(step, Property | Index | MethodCall) and step.safe:
                return None
            value = self._step(step, value, this)
        return value

    def _step(self, step: _Step, target: Value, this: Value) -> Value:
        match step:
            case Property():
                return self._property(step, target, this)
            case Index():
                return self._index(step, target, this)
            case MethodCall():
                return self._method(step, target, this)
            case Selection():
                return self._selection(step, target)
            case Projection():
                return self._projection(step, target)

    def _property(self, node: Property, target: Value, this: Value) -> Value:
        if target is None:
            raise ExpressionError(f"cannot read property '{node.name}' of null (use ?. for safe navigation)")
        if isinstance(target, dict):
            if node.name in target:
                return target[node.name]
            if node.target is None and target is self._root and node.name in ALIASES:
                return self._call_helper(node.name, [])
            raise ExpressionError(f"property '{node.name}' not found on map with keys [{_keys(target)}]")
        hint = ""
        try:
            call_method(target, node.name, [], self._limits)
            hint = f"; call it as a method: {node.name}()"
        except ExpressionError:
            pass
        raise ExpressionError(f"cannot read property '{node.name}' of {type_name(target)}{hint}")

    def _index(self, node: Index, target: Value, this: Value) -> Value:
        if target is None:
            raise ExpressionError("cannot index into null (use ?.[ ] for safe navigation)")
        if isinstance(target, dict):
            # SpEL reads map[name] with a bare name as the key 'name', not as a lookup of name.
            if isinstance(node.index, Property) and node.index.target is None:
                return target.get(node.index.name)
            key = self._eval(node.index, this)
            if not isinstance(key, str):
                raise ExpressionError(f"map keys are strings, but the index is {type_name(key)}")
            return target.get(key)
        index = self._eval(node.index, this)
        if isinstance(target, list | str):
            if not isinstance(index, int) or isinstance(index, bool):
                raise ExpressionError(f"a {type_name(target)} index must be an integer, not {type_name(index)}")
            if not 0 <= index < len(target):
                raise ExpressionError(f"index {index} is out of range for a {type_name(target)} of size {len(target)}")
            return target[index]
        raise ExpressionError(f"cannot index into {type_name(target)}")

    def _method(self, node: MethodCall, receiver: Value, this: Value) -> Value:
        args = [self._eval(arg, this) for arg in node.args]
        self._tick(self._scan_cost(receiver) + sum(self._scan_cost(a) for a in args))
        result = call_method(receiver, node.name, args, self._limits)
        return self._produced_string(result) if isinstance(result, str) else result

    def _variable(self, name: str, this: Value) -> Value:
        if name == "root":
            return self._root
        if name == "this":
            return this
        if name in self._helpers:
            raise ExpressionError(f"#{name} is a function; call it as #{name}(...)")
        raise ExpressionError(f"unknown variable #{name}; only #root and #this exist")

    def _function(self, node: FunctionCall, this: Value) -> Value:
        args = [self._eval(arg, this) for arg in node.args]
        self._tick(sum(self._scan_cost(a) for a in args))
        return self._call_helper(node.name, args)

    def _call_helper(self, name: str, args: list[Value]) -> Value:
        helper = lookup(self._helpers, name)
        try:
            result = helper(self._context, args)
        except ExpressionError:
            raise
        except Exception as error:  # a helper registered by the engine must not leak its exception type
            raise ExpressionError(f"#{name} failed: {error}") from error
        try:
            value = to_json_value(result)
        except TypeError as error:
            raise ExpressionError(f"#{name} returned a value that is not JSON: {error}") from None
        return self._produced_string(value) if isinstance(value, str) else value

    # -- collections -----------------------------------------------------------------------------

    def _elements(self, target: Value, what: str) -> list[Value]:
        if isinstance(target, list):
            return target
        if isinstance(target, dict):
            return [{"key": k, "value": v} for k, v in target.items()]
        raise ExpressionError(f"{what} needs a list or map, not {type_name(target)}")

    def _selection(self, node: Selection, target: Value) -> Value:
        elements = self._elements(target, "selection (.?[ ])")
        chosen: list[Value] = []
        order = reversed(elements) if node.mode == "last" else elements
        for element in order:
            self._tick()
            if to_boolean(self._eval(node.predicate, element), "a selection predicate"):
                chosen.append(element)
                if node.mode != "all":
                    break
        if node.mode == "last":
            chosen.reverse()
        if isinstance(target, dict):
            selected = {_entry_key(e): _entry_value(e) for e in chosen}
            return selected
        if node.mode == "all":
            return chosen
        return chosen[0] if chosen else None

    def _projection(self, node: Projection, target: Value) -> Value:
        elements = self._elements(target, "projection (.![ ])")
        result: list[Value] = []
        for element in elements:
            self._tick()
            result.append(self._eval(node.expression, element))
        check_size(len(result), self._limits)
        return result

    def _key(self, node: Node, this: Value) -> str:
        key = self._eval(node, this)
        return key if isinstance(key, str) else to_string(key)

    # -- operators -------------------------------------------------------------------------------

    def _unary(self, node: Unary, this: Value) -> Value:
        value = self._eval(node.operand, this)
        if node.op == "!":
            return not to_boolean(value, "the operand of '!'")
        if not is_number(value):
            raise ExpressionError(f"unary '{node.op}' needs a number, not {type_name(value)}")
        return check_number(-value if node.op == "-" else value)

    def _binary(self, node: Binary, this: Value) -> Value:
        left = self._eval(node.left, this)
        right = self._eval(node.right, this)
        op = node.op
        if op in ("==", "!="):
            self._tick(self._scan_cost(left) + self._scan_cost(right))
            return equal(left, right) is (op == "==")
        if op in ("<", ">", "<=", ">="):
            return compare(op, left, right)
        if op == "matches":
            if not isinstance(left, str) or not isinstance(right, str):
                raise ExpressionError(
                    f"'matches' needs a string and a pattern, not {type_name(left)} and {type_name(right)}"
                )
            self._tick(self._scan_cost(left))
            return regex_matches(left, right, self._limits)
        if op == "+" and (isinstance(left, str) or isinstance(right, str)):
            self._tick(self._scan_cost(left) + self._scan_cost(right))
            return self._produced_string(to_string(left) + to_string(right))
        if op == "*" and isinstance(left, str) and isinstance(right, int) and not isinstance(right, bool):
            if len(left) * max(right, 0) > self._limits.max_string_length:
                raise ExpressionLimitError("string repetition exceeds the string size limit")
            return self._produced_string(left * right)
        if not is_number(left) or not is_number(right):
            raise ExpressionError(f"cannot apply '{op}' to {type_name(left)} and {type_name(right)}")
        return check_number(_arithmetic(op, left, right))


def _arithmetic(op: str, left: int | float, right: int | float) -> int | float:
    both_int = isinstance(left, int) and isinstance(right, int)
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op in ("/", "%") and right == 0:
        raise ExpressionError("division by zero")
    if op == "/":
        if isinstance(left, int) and isinstance(right, int):
            quotient = abs(left) // abs(right)  # Java truncates toward zero
            return quotient if (left < 0) == (right < 0) else -quotient
        return left / right
    if op == "%":
        if isinstance(left, int) and isinstance(right, int):
            remainder = abs(left) % abs(right)  # Java's remainder takes the dividend's sign
            return -remainder if left < 0 else remainder
        return math.fmod(left, right)
    # '^'
    if both_int and isinstance(right, int) and right >= 0:
        if abs(left) > 1 and right > 64:
            raise ExpressionError("integer overflow: the result does not fit in 64 bits")
        power: int = int(left) ** right
        return power
    try:
        result: float | complex = float(left) ** float(right)
    except (OverflowError, ZeroDivisionError):
        raise ExpressionError("number out of range in '^'") from None
    if isinstance(result, complex):
        raise ExpressionError("'^' of a negative number to a fractional power is not a real number")
    return result


def _keys(mapping: Mapping[str, Value]) -> str:
    keys = list(mapping)
    shown = ", ".join(keys[:20])
    return shown + (f", … ({len(keys) - 20} more)" if len(keys) > 20 else "")


def _entry_key(entry: Value) -> str:
    assert isinstance(entry, dict)
    key = entry["key"]
    assert isinstance(key, str)
    return key


def _entry_value(entry: Value) -> Value:
    assert isinstance(entry, dict)
    return entry["value"]
