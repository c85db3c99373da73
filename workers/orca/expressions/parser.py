"""A precedence-climbing parser from tokens to the :mod:`.nodes` tree.

Precedence, lowest first, as in SpEL: ternary ``?:`` and Elvis; ``||``; ``&&``;
relational (``== != < > <= >= matches``, not chainable); ``+ -``; ``* / %``; ``^``;
unary ``! - +``; postfix navigation (``.``, ``?.``, ``[ ]``, ``.?[ ]``, ``.![ ]``,
``.^[ ]``, ``.$[ ]``, method calls). SpEL features that reach into the JVM — ``T(…)``,
``new``, ``@bean``, assignment — are rejected here with a reason, so no later stage
ever has to decide whether they are safe.
"""

from __future__ import annotations

from .errors import ExpressionLimitError, ExpressionSyntaxError
from .limits import DEFAULT_LIMITS, Limits
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
from .tokenizer import Kind, Token, tokenize

_RELATIONAL = frozenset({"==", "!=", "<", ">", "<=", ">=", "matches"})
_LOWEST = 1
_PRECEDENCE = {
    "||": 1,
    "&&": 2,
    **dict.fromkeys(_RELATIONAL, 3),
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "^": 6,
}
_KEYWORDS: dict[str, bool | None] = {"true": True, "false": False, "null": None}
_SELECTIONS = {".?[": "all", ".^[": "first", ".$[": "last"}


def parse(text: str, limits: Limits = DEFAULT_LIMITS) -> Node:
    """Parse one expression (the text between ``${`` and ``}``) into a tree.

    >>> parse("1 + 2")
    Binary(op='+', left=Literal(value=1), right=Literal(value=2))
    """
    if len(text) > limits.max_expression_length:
        raise ExpressionLimitError(
            f"expression is {len(text)} characters long; the limit is {limits.max_expression_length}"
        )
    if not text.strip():
        raise ExpressionSyntaxError("empty expression")
    node = _Parser(tokenize(text), limits).parse()
    _check_depth(node, limits.max_depth)
    return node


class _Parser:
    def __init__(self, tokens: list[Token], limits: Limits) -> None:
        self._tokens = tokens
        self._pos = 0
        self._depth = 0
        self._limits = limits

    def parse(self) -> Node:
        node = self._expression()
        token = self._peek()
        if token.kind is not Kind.EOF:
            raise ExpressionSyntaxError(f"unexpected {_describe(token)} after a complete expression", token.position)
        return node

    # -- token helpers -------------------------------------------------------------------------

    def _peek(self) -> Token:
        return self._tokens[self._pos]

    def _next(self) -> Token:
        token = self._tokens[self._pos]
        if token.kind is not Kind.EOF:
            self._pos += 1
        return token

    def _at(self, op: str) -> bool:
        token = self._peek()
        return token.kind is Kind.OP and token.text == op

    def _accept(self, op: str) -> bool:
        if self._at(op):
            self._pos += 1
            return True
        return False

    def _expect(self, op: str) -> None:
        if not self._accept(op):
            token = self._peek()
            raise ExpressionSyntaxError(f"expected '{op}' but found {_describe(token)}", token.position)

    def _enter(self) -> None:
        self._depth += 1
        if self._depth > self._limits.max_depth:
            raise ExpressionLimitError(f"expression is nested more than {self._limits.max_depth} levels deep")

    # -- grammar ---------------------------------------------------------------------------------

    def _expression(self) -> Node:
        self._enter()
        try:
            return self._ternary()
        finally:
            self._depth -= 1

    def _ternary(self) -> Node:
        condition = self._binary(_LOWEST)
        if self._accept("?"):
            if_true = self._expression()
            self._expect(":")
            return Ternary(condition, if_true, self._expression())
        if self._accept("?:"):
            return Elvis(condition, self._expression())
        if self._at("="):
            raise ExpressionSyntaxError("assignment is not allowed in pipeline expressions", self._peek().position)
        return condition

    def _binary(self, min_precedence: int) -> Node:
        """Precedence climbing: one loop for every binary level keeps the Python stack shallow."""
        node = self._unary()
        while True:
            token = self._peek()
            precedence = _PRECEDENCE.get(token.text) if token.kind is Kind.OP else None
            if precedence is None or precedence < min_precedence:
                if token.kind is Kind.OP and token.text in ("instanceof", "between"):
                    raise ExpressionSyntaxError(f"the '{token.text}' operator is not supported", token.position)
                return node
            self._next()
            op = token.text
            if op == "^":  # right-associative
                self._enter()
                try:
                    right = self._binary(precedence)
                finally:
                    self._depth -= 1
            else:
                right = self._binary(precedence + 1)
            if op == "&&":
                node = Logical("&&", node, right)
            elif op == "||":
                node = Logical("||", node, right)
            else:
                node = Binary(op, node, right)
            if op in _RELATIONAL:
                after = self._peek()
                if after.kind is Kind.OP and after.text in _RELATIONAL:
                    raise ExpressionSyntaxError("comparisons cannot be chained; use 'and'", after.position)

    def _unary(self) -> Node:
        token = self._peek()
        if token.kind is Kind.OP and token.text in ("!", "-", "+"):
            self._next()
            self._enter()
            try:
                operand = self._unary()
            finally:
                self._depth -= 1
            if token.text == "!":
                return Unary("!", operand)
            return Unary("-", operand) if token.text == "-" else Unary("+", operand)
        return self._postfix(self._primary())

    def _postfix(self, node: Node) -> Node:
        while True:
            token = self._peek()
            if token.kind is not Kind.OP:
                return node
            if token.text in (".", "?."):
                self._next()
                node = self._member(node, safe=token.text == "?.")
            elif token.text in ("[", "?.["):
                self._next()
                index = self._expression()
                self._expect("]")
                node = Index(node, index, safe=token.text == "?.[")
            elif token.text in _SELECTIONS:
                self._next()
                predicate = self._expression()
                self._expect("]")
                mode = _SELECTIONS[token.text]
                node = Selection(node, predicate, "all" if mode == "all" else "first" if mode == "first" else "last")
            elif token.text == ".![":
                self._next()
                expression = self._expression()
                self._expect("]")
                node = Projection(node, expression)
            else:
                return node

    def _member(self, target: Node, *, safe: bool) -> Node:
        token = self._next()
        if token.kind is Kind.OP and isinstance(token.value, str):
            token = Token(Kind.IDENT, token.value, token.position)  # 'x.matches(…)': a word operator as a name
        if token.kind is not Kind.IDENT:
            raise ExpressionSyntaxError(
                f"expected a property or method name but found {_describe(token)}", token.position
            )
        if self._at("("):
            return MethodCall(target, token.text, self._arguments(), safe)
        return Property(target, token.text, safe)

    def _arguments(self) -> tuple[Node, ...]:
        self._expect("(")
        args: list[Node] = []
        if self._accept(")"):
            return ()
        while True:
            args.append(self._expression())
            if self._accept(")"):
                return tuple(args)
            self._expect(",")

    def _primary(self) -> Node:
        token = self._next()
        if token.kind is Kind.NUMBER:
            assert isinstance(token.value, int | float)
            return Literal(token.value)
        if token.kind is Kind.STRING:
            assert isinstance(token.value, str)
            return Literal(token.value)
        if token.kind is Kind.VARIABLE:
            if self._at("("):
                return FunctionCall(token.text, self._arguments())
            return Variable(token.text)
        if token.kind is Kind.IDENT:
            return self._identifier(token)
        if token.kind is Kind.OP:
            if token.text == "(":
                node = self._expression()
                self._expect(")")
                return node
            if token.text == "{":
                return self._inline_collection()
            if token.text == "@" or token.text == "&":
                raise ExpressionSyntaxError("bean references are not allowed in pipeline expressions", token.position)
        if token.kind is Kind.EOF:
            raise ExpressionSyntaxError("expression ends where a value was expected", token.position)
        raise ExpressionSyntaxError(f"unexpected {_describe(token)}", token.position)

    def _identifier(self, token: Token) -> Node:
        word = token.text
        if word.lower() in _KEYWORDS:
            return Literal(_KEYWORDS[word.lower()])
        if word == "T" and self._at("("):
            raise ExpressionSyntaxError(
                "type references T(...) are not allowed in pipeline expressions", token.position
            )
        if word == "new":
            raise ExpressionSyntaxError("constructors ('new') are not allowed in pipeline expressions", token.position)
        if self._at("("):
            return MethodCall(None, word, self._arguments())
        return Property(None, word)

    def _inline_collection(self) -> Node:
        if self._accept("}"):
            return ListLiteral(())
        if self._at(":"):
            self._next()
            self._expect("}")
            return MapLiteral(())
        first = self._expression()
        if self._accept(":"):
            entries = [(_map_key(first), self._expression())]
            while self._accept(","):
                key = _map_key(self._expression())
                self._expect(":")
                entries.append((key, self._expression()))
            self._expect("}")
            return MapLiteral(tuple(entries))
        items = [first]
        while self._accept(","):
            items.append(self._expression())
        self._expect("}")
        return ListLiteral(tuple(items))


def _map_key(node: Node) -> Node:
    # SpEL reads a bare name used as an inline-map key as that name, not as a lookup.
    if isinstance(node, Property) and node.target is None:
        return Literal(node.name)
    return node


def _describe(token: Token) -> str:
    if token.kind is Kind.EOF:
        return "the end of the expression"
    return f"'{token.text}'"


def _children(node: Node) -> tuple[Node | None, ...]:
    match node:
        case Literal() | Variable():
            return ()
        case ListLiteral(items):
            return items
        case MapLiteral(entries):
            return tuple(part for entry in entries for part in entry)
        case Property(target):
            return (target,)
        case Index(target, index):
            return (target, index)
        case MethodCall(target, _, args):
            return (target, *args)
        case FunctionCall(_, args):
            return args
        case Selection(target, predicate):
            return (target, predicate)
        case Projection(target, expression):
            return (target, expression)
        case Unary(_, operand):
            return (operand,)
        case Binary(_, left, right) | Logical(_, left, right):
            return (left, right)
        case Ternary(condition, if_true, if_false):
            return (condition, if_true, if_false)
        case Elvis(value, fallback):
            return (value, fallback)


def _check_depth(root: Node, max_depth: int) -> None:
    """Reject trees the recursive evaluator could not walk (``a.b.c…`` chains are left-deep)."""
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise ExpressionLimitError(f"expression is nested more than {max_depth} levels deep")
        stack.extend((child, depth + 1) for child in _children(node) if child is not None)
