"""The parse tree of a template, shaped like Go's ``text/template/parse`` nodes.

Every node keeps ``pos``, its byte offset in the source, so errors can name a line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Node:
    pos: int


@dataclass
class TextNode(Node):
    text: str


@dataclass
class ListNode(Node):
    nodes: list[Node] = field(default_factory=list)


@dataclass
class FieldNode(Node):
    """``.A.B``: a chain of field names read from dot."""

    idents: list[str]
    source: str


@dataclass
class VariableNode(Node):
    """``$x.A``: a variable and the fields read from it."""

    idents: list[str]
    source: str


@dataclass
class IdentifierNode(Node):
    """A function's name."""

    name: str


@dataclass
class DotNode(Node):
    pass


@dataclass
class NilNode(Node):
    pass


@dataclass
class BoolNode(Node):
    value: bool


@dataclass
class NumberNode(Node):
    """A numeric constant; ``value`` is an int when the text is one, else a float."""

    value: int | float
    text: str


@dataclass
class StringNode(Node):
    value: str
    quoted: str


@dataclass
class CommandNode(Node):
    args: list[Node]


@dataclass
class PipeNode(Node):
    decl: list[VariableNode]
    is_assign: bool
    commands: list[CommandNode]
    source: str = ""


@dataclass
class ChainNode(Node):
    """``(pipeline).A.B``: fields read from an operand that is not dot or a variable."""

    node: Node
    idents: list[str]
    source: str


@dataclass
class ActionNode(Node):
    pipe: PipeNode


@dataclass
class BranchNode(Node):
    """``if``, ``range`` and ``with``: a pipeline, the list it guards and the ``else`` list."""

    pipe: PipeNode
    body: ListNode
    else_body: ListNode | None


class IfNode(BranchNode):
    pass


class RangeNode(BranchNode):
    pass


class WithNode(BranchNode):
    pass


@dataclass
class BreakNode(Node):
    pass


@dataclass
class ContinueNode(Node):
    pass


def describe(node: Any) -> str:
    """The node as Go's ``String()`` would show it in ``executing ... at <...>``."""
    if isinstance(node, (FieldNode, VariableNode, ChainNode)):
        return node.source
    if isinstance(node, IdentifierNode):
        return node.name
    if isinstance(node, StringNode):
        return node.quoted
    if isinstance(node, NumberNode):
        return node.text
    if isinstance(node, BoolNode):
        return "true" if node.value else "false"
    if isinstance(node, DotNode):
        return "."
    if isinstance(node, NilNode):
        return "nil"
    if isinstance(node, PipeNode):
        return node.source
    if isinstance(node, CommandNode):
        return " ".join(describe(arg) for arg in node.args)
    return type(node).__name__
