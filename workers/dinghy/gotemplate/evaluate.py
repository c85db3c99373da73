"""Runs a parse tree against data as Go's ``text/template`` executes it.

Output, truth, variables, field access on maps and structs, ``range`` over lists, maps (sorted
keys) and integers, ``break``/``continue``, lazy ``and``/``or`` and the conversion of arguments to a
function's parameter types follow Go. Limits keep a hostile template from running away: the output
size and the number of steps (nodes walked, iterations) are bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workers.dinghy.gotemplate import nodes as n
from workers.dinghy.gotemplate.errors import TemplateError, line_and_column
from workers.dinghy.gotemplate.values import INVALID, GoStruct, is_true, print_action, type_name

# parameter kinds a function declares: how each argument is converted, as Go's reflection would
ANY = "any"  # interface{}: a missing value becomes nil
VALUE = "value"  # reflect.Value: passed as it is, missing included (eq, lt, ...)
STRING = "string"
INT = "int"
FLOAT = "float64"
BOOL = "bool"
LIST = "list"


class FunctionError(Exception):
    """What a template function returns as its ``error``: reported as ``error calling NAME: ...``."""


@dataclass(frozen=True)
class Function:
    """A function a template may call: its Python body and the Go types of its parameters."""

    call: Callable[..., Any]
    params: tuple[str, ...] = ()
    variadic: str | None = None
    lazy: bool = False  # and/or: arguments evaluated one by one, stopping early


@dataclass(frozen=True)
class Limits:
    max_output: int = 4 * 1024 * 1024
    max_steps: int = 1_000_000


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _ExecError(Exception):
    def __init__(self, node: n.Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


def execute(
    tree: n.ListNode,
    text: str,
    name: str,
    data: Any,
    functions: Mapping[str, Function],
    limits: Limits | None = None,
    trace: list[tuple[int, int]] | None = None,
) -> str:
    """The output of ``tree`` (parsed from ``text``) run with dot = ``data``.

    ``trace`` (when given) receives ``(output offset, source offset)`` where each piece of output
    starts, so a later reader of the output can point back into the source.
    """
    state = _State(text, name, functions, limits or Limits(), data)
    state.trace = trace
    try:
        state.walk(data, tree)
    except _ExecError as error:
        line, column = line_and_column(text, error.node.pos)
        raise TemplateError(
            name, line, column, f'executing "{name}" at <{n.describe(error.node)}>: {error.message}', error.node.pos
        ) from None
    return "".join(state.out)


class _State:
    def __init__(self, text: str, name: str, functions: Mapping[str, Function], limits: Limits, data: Any) -> None:
        self.text = text
        self.name = name
        self.functions = functions
        self.limits = limits
        self.out: list[str] = []
        self.size = 0
        self.steps = 0
        self.vars: list[tuple[str, Any]] = [("$", data)]
        self.node: n.Node = n.Node(0)
        self.trace: list[tuple[int, int]] | None = None

    def error(self, message: str, node: n.Node | None = None) -> _ExecError:
        return _ExecError(node or self.node, message)

    def step(self, node: n.Node) -> None:
        self.node = node
        self.steps += 1
        if self.steps > self.limits.max_steps:
            raise self.error(f"template ran more than {self.limits.max_steps} steps")

    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > self.limits.max_output:
            raise self.error(f"output is larger than {self.limits.max_output} bytes")
        self.out.append(text)

    # variables

    def lookup(self, name: str) -> Any:
        for var_name, value in reversed(self.vars):
            if var_name == name:
                return value
        raise self.error(f"undefined variable: {name}")

    def assign(self, name: str, value: Any) -> None:
        for index in range(len(self.vars) - 1, -1, -1):
            if self.vars[index][0] == name:
                self.vars[index] = (name, value)
                return
        raise self.error(f"undefined variable: {name}")

    # statements

    def walk(self, dot: Any, node: n.Node) -> None:
        self.step(node)
        if isinstance(node, n.ListNode):
            for item in node.nodes:
                self.walk(dot, item)
        elif isinstance(node, n.TextNode):
            if self.trace is not None:
                self.trace.append((self.size, node.pos))
            self.write(node.text)
        elif isinstance(node, n.ActionNode):
            value = self.pipeline(dot, node.pipe)
            if not node.pipe.decl:
                if self.trace is not None:
                    self.trace.append((self.size, node.pos))
                self.write(print_action(value))
        elif isinstance(node, n.RangeNode):
            self.walk_range(dot, node)
        elif isinstance(node, (n.IfNode, n.WithNode)):
            mark = len(self.vars)
            value = self.pipeline(dot, node.pipe)
            if is_true(value):
                self.walk(value if isinstance(node, n.WithNode) else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
            del self.vars[mark:]
        elif isinstance(node, n.BreakNode):
            raise _Break
        elif isinstance(node, n.ContinueNode):
            raise _Continue
        else:
            raise self.error(f"unknown node: {type(node).__name__}")

    def walk_range(self, dot: Any, node: n.RangeNode) -> None:
        mark = len(self.vars)
        value = self.pipeline(dot, node.pipe)
        if isinstance(value, list):
            items: list[tuple[Any, Any]] = list(enumerate(value))
        elif isinstance(value, dict):
            items = [(key, value[key]) for key in sorted(value)]
        elif isinstance(value, int) and not isinstance(value, bool):
            if node.pipe.decl and len(node.pipe.decl) > 1:
                raise self.error(f"can't use {value} to iterate over more than one variable", node)
            items = [(i, i) for i in range(value)]
        elif value is INVALID or value is None:
            items = []
        else:
            raise self.error(f"range can't iterate over {print_action(value)}", node)
        inner = len(self.vars)
        for key, element in items:
            self.step(node)
            if node.pipe.decl:
                first = node.pipe.decl[0].idents[0]
                if len(node.pipe.decl) == 1:
                    self.set_var(node.pipe.is_assign, first, element, inner - 1)
                else:
                    self.set_var(node.pipe.is_assign, first, key, inner - 2)
                    self.set_var(node.pipe.is_assign, node.pipe.decl[1].idents[0], element, inner - 1)
            try:
                self.walk(element, node.body)
            except _Continue:
                pass
            except _Break:
                break
            finally:
                del self.vars[inner:]
        if not items and node.else_body is not None:
            self.walk(dot, node.else_body)
        del self.vars[mark:]

    def set_var(self, is_assign: bool, name: str, value: Any, slot: int) -> None:
        if is_assign:
            self.assign(name, value)
        else:
            self.vars[slot] = (name, value)

    # expressions

    def pipeline(self, dot: Any, pipe: n.PipeNode) -> Any:
        value: Any = _NO_FINAL
        for command in pipe.commands:
            value = self.command(dot, command, value)
        if value is None or value is _NO_FINAL:
            value = INVALID
        for variable in pipe.decl:
            if pipe.is_assign:
                self.assign(variable.idents[0], value)
            else:
                self.vars.append((variable.idents[0], value))
        return value

    def command(self, dot: Any, command: n.CommandNode, final: Any) -> Any:
        first = command.args[0]
        self.step(first)
        if isinstance(first, n.FieldNode):
            return self.field_chain(dot, dot, first, first.idents, command.args, final)
        if isinstance(first, n.ChainNode):
            return self.chain(dot, first, command.args, final)
        if isinstance(first, n.IdentifierNode):
            return self.call(dot, first, command.args, final)
        if isinstance(first, n.VariableNode):
            value = self.lookup(first.idents[0])
            if len(first.idents) == 1:
                self.not_a_function(command.args, final)
                return value
            return self.field_chain(dot, value, first, first.idents[1:], command.args, final)
        self.not_a_function(command.args, final)
        if isinstance(first, n.PipeNode):
            return self.pipeline(dot, first)
        if isinstance(first, n.BoolNode):
            return first.value
        if isinstance(first, n.DotNode):
            return dot
        if isinstance(first, n.NilNode):
            raise self.error("nil is not a command", first)
        if isinstance(first, n.NumberNode):
            return first.value
        if isinstance(first, n.StringNode):
            return first.value
        raise self.error(f"can't evaluate command {n.describe(first)!r}", first)

    def not_a_function(self, args: list[n.Node], final: Any) -> None:
        if len(args) > 1 or final is not _NO_FINAL:
            raise self.error(f"can't give argument to non-function {n.describe(args[0])}", args[0])

    def chain(self, dot: Any, chain: n.ChainNode, args: list[n.Node], final: Any) -> Any:
        if isinstance(chain.node, n.NilNode):
            raise self.error(f"indirection through explicit nil in {chain.source}", chain)
        receiver = self.argument(dot, ANY, chain.node)
        return self.field_chain(dot, receiver, chain, chain.idents, args, final)

    def field_chain(
        self, dot: Any, receiver: Any, node: n.Node, idents: list[str], args: list[n.Node], final: Any
    ) -> Any:
        for ident in idents[:-1]:
            receiver = self.field(receiver, ident, node, [], _NO_FINAL)
        return self.field(receiver, idents[-1], node, args, final)

    def field(self, receiver: Any, name: str, node: n.Node, args: list[n.Node], final: Any) -> Any:
        if receiver is INVALID:
            return INVALID
        has_args = len(args) > 1 or final is not _NO_FINAL
        if isinstance(receiver, dict):
            if has_args:
                raise self.error(f"{name} is not a method but has arguments", node)
            return receiver.get(name, INVALID)
        if isinstance(receiver, GoStruct):
            if name not in receiver.fields:
                raise self.error(f"can't evaluate field {name} in type {receiver.type_name}", node)
            if has_args:
                raise self.error(f"{name} has arguments but cannot be invoked as function", node)
            return receiver.fields[name]
        if receiver is None:
            raise self.error(f"nil pointer evaluating interface {{}}.{name}", node)
        raise self.error(f"can't evaluate field {name} in type {type_name(receiver)}", node)

    def call(self, dot: Any, ident: n.IdentifierNode, args: list[n.Node], final: Any) -> Any:
        function = self.functions.get(ident.name)
        if function is None:
            raise self.error(f'function "{ident.name}" not defined', ident)
        given = args[1:]
        count = len(given) + (final is not _NO_FINAL)
        fixed = len(function.params)
        if function.variadic is None and count != fixed:
            raise self.error(f"wrong number of args for {ident.name}: want {fixed} got {count}", ident)
        if function.variadic is not None and count < fixed:
            raise self.error(f"wrong number of args for {ident.name}: want at least {fixed} got {count}", ident)

        def kind(index: int) -> str:
            return function.params[index] if index < fixed else function.variadic or ANY

        if function.lazy:
            thunks: list[Callable[[], Any]] = [self.thunk(dot, kind(i), arg) for i, arg in enumerate(given)]
            if final is not _NO_FINAL:
                thunks.append(lambda: self.validate(final, kind(len(given)), ident))
            values: Any = thunks
        else:
            values = [self.argument(dot, kind(i), arg) for i, arg in enumerate(given)]
            if final is not _NO_FINAL:
                values.append(self.validate(final, kind(len(given)), ident))
        self.node = ident
        try:
            return function.call(*values) if not function.lazy else function.call(values)
        except FunctionError as error:
            raise self.error(f"error calling {ident.name}: {error}", ident) from None
        except _ExecError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, ZeroDivisionError, OverflowError) as error:
            raise self.error(f"error calling {ident.name}: {error}", ident) from None

    def thunk(self, dot: Any, kind: str, node: n.Node) -> Callable[[], Any]:
        """The argument ``node``, evaluated only when called (``and``/``or`` stop early)."""
        return lambda: self.argument(dot, kind, node)

    def argument(self, dot: Any, kind: str, node: n.Node) -> Any:
        self.step(node)
        if isinstance(node, n.DotNode):
            return self.validate(dot, kind, node)
        if isinstance(node, n.NilNode):
            if kind in (ANY, VALUE, LIST):
                return None
            raise self.error(f"cannot assign nil to {kind}", node)
        if isinstance(node, n.FieldNode):
            return self.validate(self.field_chain(dot, dot, node, node.idents, [node], _NO_FINAL), kind, node)
        if isinstance(node, n.VariableNode):
            value = self.lookup(node.idents[0])
            if len(node.idents) > 1:
                value = self.field_chain(dot, value, node, node.idents[1:], [node], _NO_FINAL)
            return self.validate(value, kind, node)
        if isinstance(node, n.PipeNode):
            return self.validate(self.pipeline(dot, node), kind, node)
        if isinstance(node, n.IdentifierNode):
            return self.validate(self.call(dot, node, [node], _NO_FINAL), kind, node)
        if isinstance(node, n.ChainNode):
            return self.validate(self.chain(dot, node, [node], _NO_FINAL), kind, node)
        if isinstance(node, n.NumberNode):
            return self.constant_number(node, kind)
        if isinstance(node, n.StringNode):
            if kind in (ANY, VALUE, STRING):
                return node.value
            raise self.error(f"expected {_kind_noun(kind)}; found {node.quoted}", node)
        if isinstance(node, n.BoolNode):
            if kind in (ANY, VALUE, BOOL):
                return node.value
            raise self.error(f"expected {_kind_noun(kind)}; found {n.describe(node)}", node)
        raise self.error(f"can't handle {n.describe(node)} for arg of type {kind}", node)

    def constant_number(self, node: n.NumberNode, kind: str) -> Any:
        value = node.value
        if kind in (ANY, VALUE):
            return value
        if kind == INT and isinstance(value, int):
            return value
        if kind == FLOAT:
            return float(value)
        raise self.error(f"expected {_kind_noun(kind)}; found {node.text}", node)

    def validate(self, value: Any, kind: str, node: n.Node) -> Any:
        if kind == VALUE:
            return value
        if value is INVALID:
            if kind in (ANY, LIST):
                return None
            raise self.error(f"invalid value; expected {kind}", node)
        if kind == ANY:
            return value
        ok = {
            STRING: isinstance(value, str),
            INT: isinstance(value, int) and not isinstance(value, bool),
            FLOAT: isinstance(value, float),
            BOOL: isinstance(value, bool),
            LIST: isinstance(value, list) or value is None,
        }[kind]
        if not ok:
            shown = "[]interface {}" if kind == LIST else kind
            raise self.error(f"wrong type for value; expected {shown}; got {type_name(value)}", node)
        return value


_NO_FINAL: Any = object()


def _kind_noun(kind: str) -> str:
    return {INT: "integer", FLOAT: "float", STRING: "string", BOOL: "bool"}.get(kind, kind)
