"""Builds the parse tree from tokens, with the checks Go makes before running a template.

As Go's parser does, it refuses an unknown function (``function "nope" not defined``), an
undeclared variable, an ``{{else}}`` or ``{{end}}`` out of place and a missing ``{{end}}``.
``define``, ``template`` and ``block`` are refused: Dinghy's files share text through ``module``.
"""

from __future__ import annotations

from collections.abc import Container

from workers.dinghy.gotemplate import nodes as n
from workers.dinghy.gotemplate.errors import TemplateError, line_and_column
from workers.dinghy.gotemplate.lexer import Kind, Token, tokenize

MAX_DEPTH = 100

_OPERAND_START = frozenset(
    {
        Kind.BOOL,
        Kind.CHAR,
        Kind.DOT,
        Kind.FIELD,
        Kind.IDENT,
        Kind.NUMBER,
        Kind.NIL,
        Kind.RAW_STRING,
        Kind.STRING,
        Kind.VARIABLE,
        Kind.LPAREN,
    }
)


def parse(text: str, name: str, functions: Container[str]) -> n.ListNode:
    """The tree of ``text``; ``functions`` are the names a call may use besides the builtins."""
    return _Parser(text, name, functions).run()


class _Stop(n.Node):
    """``{{else}}`` or ``{{end}}``: ends the list being parsed."""

    def __init__(self, pos: int, word: str) -> None:
        super().__init__(pos)
        self.word = word


class _Parser:
    def __init__(self, text: str, name: str, functions: Container[str]) -> None:
        self.text = text
        self.name = name
        self.functions = functions
        self.tokens = tokenize(text, name)
        self.index = 0
        self.vars: list[str] = ["$"]
        self.depth = 0
        self.range_depth = 0

    # tokens

    def next(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def backup(self) -> None:
        self.index -= 1

    def peek(self) -> Token:
        return self.tokens[self.index]

    def next_non_space(self) -> Token:
        token = self.next()
        while token.kind is Kind.SPACE:
            token = self.next()
        return token

    def peek_non_space(self) -> Token:
        token = self.next_non_space()
        self.backup()
        return token

    def error(self, pos: int, message: str) -> TemplateError:
        line, column = line_and_column(self.text, pos)
        return TemplateError(self.name, line, column, message, pos)

    def unexpected(self, token: Token, context: str) -> TemplateError:
        shown = "<eof>" if token.kind is Kind.EOF else token.value
        return self.error(token.pos, f'unexpected "{shown}" in {context}')

    # structure

    def run(self) -> n.ListNode:
        tree = n.ListNode(0)
        while self.peek().kind is not Kind.EOF:
            node = self.text_or_action()
            if isinstance(node, _Stop):
                raise self.error(node.pos, f"unexpected {{{{{node.word}}}}}")
            if node is not None:
                tree.nodes.append(node)
        return tree

    def text_or_action(self) -> n.Node | None:
        token = self.next()
        if token.kind is Kind.TEXT:
            return n.TextNode(token.pos, token.value)
        if token.kind is Kind.LEFT:
            return self.action(token)
        raise self.unexpected(token, "input")

    def item_list(self, context: str, start: int) -> tuple[n.ListNode, _Stop]:
        body = n.ListNode(start)
        while self.peek_non_space().kind is not Kind.EOF:
            node = self.text_or_action()
            if isinstance(node, _Stop):
                return body, node
            if node is not None:
                body.nodes.append(node)
        raise self.error(start, f"unexpected EOF: {context} has no matching {{{{end}}}}")

    def action(self, left: Token) -> n.Node | None:
        token = self.next_non_space()
        if token.kind is Kind.KEYWORD:
            word = token.value
            if word in ("else", "end"):
                if word == "end":
                    self.expect_right("end")
                return _Stop(token.pos, word)
            if word in ("if", "range", "with"):
                return self.control(word, token)
            if word in ("break", "continue"):
                if not self.range_depth:
                    raise self.error(token.pos, f"{{{{{word}}}}} outside {{{{range}}}}")
                self.expect_right(word)
                return n.BreakNode(token.pos) if word == "break" else n.ContinueNode(token.pos)
            raise self.error(token.pos, f"{{{{{word}}}}} is not supported here: share text between files with module")
        self.backup()
        return n.ActionNode(left.pos, self.pipeline("command", Kind.RIGHT, left.pos))

    def expect_right(self, context: str) -> None:
        token = self.next_non_space()
        if token.kind is not Kind.RIGHT:
            raise self.unexpected(token, context)

    def control(self, word: str, token: Token) -> n.BranchNode:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(token.pos, f"control structures nested deeper than {MAX_DEPTH}")
        mark = len(self.vars)
        pipe = self.pipeline(word, Kind.RIGHT, token.pos)
        if word == "range":
            self.range_depth += 1
        body, stop = self.item_list(f"{{{{{word}}}}}", token.pos)
        if word == "range":
            self.range_depth -= 1
        else_body: n.ListNode | None = None
        if stop.word == "else":
            follow = self.peek_non_space()
            if word in ("if", "with") and follow.kind is Kind.KEYWORD and follow.value == word:
                # {{else if ...}} / {{else with ...}}: a nested control that consumes the one {{end}}
                self.next_non_space()
                else_body = n.ListNode(follow.pos, [self.control(word, follow)])
            else:
                self.expect_right("else")
                else_body, stop = self.item_list(f"{{{{{word}}}}}", token.pos)
                if stop.word != "end":
                    raise self.error(stop.pos, f"expected end; found {{{{{stop.word}}}}}")
        del self.vars[mark:]
        self.depth -= 1
        kind = {"if": n.IfNode, "range": n.RangeNode, "with": n.WithNode}[word]
        return kind(token.pos, pipe, body, else_body)

    def pipeline(self, context: str, end: Kind, start: int) -> n.PipeNode:
        pipe = n.PipeNode(self.peek_non_space().pos, [], False, [])
        token = self.peek_non_space()
        if token.kind is Kind.VARIABLE:
            self.declarations(pipe, context)
        while True:
            token = self.next_non_space()
            if token.kind is end:
                if not pipe.commands:
                    raise self.error(token.pos, f"missing value for {context}")
                for index, command in enumerate(pipe.commands[1:], start=2):
                    first = command.args[0]
                    if isinstance(first, (n.BoolNode, n.DotNode, n.NilNode, n.NumberNode, n.StringNode)):
                        raise self.error(first.pos, f"non executable command in pipeline stage {index}")
                pipe.source = self.text[pipe.pos : token.pos].strip()
                return pipe
            if token.kind in _OPERAND_START:
                self.backup()
                pipe.commands.append(self.command())
            else:
                raise self.unexpected(token, context)

    def declarations(self, pipe: n.PipeNode, context: str) -> None:
        mark = self.index
        variable = self.next_non_space()
        after = self.peek()
        following = self.next_non_space()
        if following.kind in (Kind.DECLARE, Kind.ASSIGN) and after.kind in (Kind.SPACE, Kind.DECLARE, Kind.ASSIGN):
            pipe.is_assign = following.kind is Kind.ASSIGN
            if pipe.is_assign and variable.value not in self.vars:
                raise self.error(variable.pos, f'undefined variable "{variable.value}"')
            pipe.decl.append(n.VariableNode(variable.pos, [variable.value], variable.value))
            if not pipe.is_assign:
                self.vars.append(variable.value)
            return
        if following.kind is Kind.COMMA and context == "range":
            pipe.decl.append(n.VariableNode(variable.pos, [variable.value], variable.value))
            self.vars.append(variable.value)
            second = self.next_non_space()
            if second.kind is not Kind.VARIABLE:
                raise self.error(second.pos, f"range can only initialize variables; found {second.value!r}")
            operator = self.next_non_space()
            if operator.kind not in (Kind.DECLARE, Kind.ASSIGN):
                raise self.unexpected(operator, "range")
            pipe.decl.append(n.VariableNode(second.pos, [second.value], second.value))
            self.vars.append(second.value)
            return
        if following.kind is Kind.COMMA:
            raise self.error(following.pos, f"too many declarations in {context}")
        self.index = mark

    def command(self) -> n.CommandNode:
        command = n.CommandNode(self.peek_non_space().pos, [])
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                command.args.append(operand)
            token = self.next()
            if token.kind is Kind.SPACE:
                continue
            if token.kind in (Kind.RIGHT, Kind.RPAREN):
                self.backup()
            elif token.kind is not Kind.PIPE:
                raise self.unexpected(token, "operand")
            break
        if not command.args:
            raise self.error(command.pos, "empty command")
        return command

    def operand(self) -> n.Node | None:
        node = self.term()
        if node is None or self.peek().kind is not Kind.FIELD:
            return node
        fields: list[str] = []
        end = node.pos
        while self.peek().kind is Kind.FIELD:
            token = self.next()
            fields.append(token.value[1:])
            end = token.pos + len(token.value)
        source = self.text[node.pos : end]
        if isinstance(node, n.FieldNode):
            return n.FieldNode(node.pos, node.idents + fields, source)
        if isinstance(node, n.VariableNode):
            return n.VariableNode(node.pos, node.idents + fields, source)
        if isinstance(node, (n.BoolNode, n.StringNode, n.NumberNode, n.NilNode, n.DotNode)):
            raise self.error(node.pos, f'unexpected . after term "{n.describe(node)}"')
        return n.ChainNode(node.pos, node, fields, source)

    def term(self) -> n.Node | None:
        token = self.next_non_space()
        kind = token.kind
        if kind is Kind.IDENT:
            if token.value not in self.functions:
                raise self.error(token.pos, f'function "{token.value}" not defined')
            return n.IdentifierNode(token.pos, token.value)
        if kind is Kind.DOT:
            return n.DotNode(token.pos)
        if kind is Kind.NIL:
            return n.NilNode(token.pos)
        if kind is Kind.VARIABLE:
            if token.value not in self.vars:
                raise self.error(token.pos, f'undefined variable "{token.value}"')
            return n.VariableNode(token.pos, [token.value], token.value)
        if kind is Kind.FIELD:
            return n.FieldNode(token.pos, [token.value[1:]], token.value)
        if kind is Kind.BOOL:
            return n.BoolNode(token.pos, token.value == "true")
        if kind in (Kind.NUMBER, Kind.CHAR):
            return n.NumberNode(token.pos, self.number(token), token.value)
        if kind is Kind.LPAREN:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error(token.pos, f"parentheses nested deeper than {MAX_DEPTH}")
            pipe = self.pipeline("parenthesized pipeline", Kind.RPAREN, token.pos)
            self.depth -= 1
            return pipe
        if kind in (Kind.STRING, Kind.RAW_STRING):
            return n.StringNode(token.pos, self.unquote(token), token.value)
        self.backup()
        return None

    def number(self, token: Token) -> int | float:
        text = token.value
        if token.kind is Kind.CHAR:
            char = self.unquote(Token(Kind.STRING, '"' + text[1:-1].replace('"', '\\"') + '"', token.pos))
            if len(char) != 1:
                raise self.error(token.pos, f"malformed character constant: {text}")
            return ord(char)
        if text.endswith("i"):
            raise self.error(token.pos, f"complex numbers are not supported: {text}")
        clean = text.replace("_", "")
        try:
            return int(clean, 0)
        except ValueError:
            pass
        try:
            if clean.lower().lstrip("+-").startswith("0x"):
                return float.fromhex(clean)
            value = float(clean)
        except ValueError:
            raise self.error(token.pos, f"illegal number syntax: {text!r}") from None
        if value.is_integer() and "e" not in clean.lower() and "." not in clean:
            return int(value)
        return value

    def unquote(self, token: Token) -> str:
        text = token.value
        if token.kind is Kind.RAW_STRING:
            return text[1:-1].replace("\r", "")
        return _unquote_go(text[1:-1], lambda message: self.error(token.pos, message))


_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
}


def _unquote_go(body: str, error: object) -> str:
    """A Go interpreted string literal's value (``\\n``, ``\\x41``, ``\\u00e9``, ``\\101``)."""
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        code = body[index + 1 : index + 2]
        if code in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[code])
            index += 2
            continue
        widths = {"x": 2, "u": 4, "U": 8}
        try:
            if code in widths:
                digits = body[index + 2 : index + 2 + widths[code]]
                if len(digits) != widths[code]:
                    raise ValueError(digits)
                out.append(chr(int(digits, 16)))
                index += 2 + widths[code]
                continue
            if code.isdigit():
                out.append(chr(int(body[index + 1 : index + 4], 8)))
                index += 4
                continue
        except ValueError:
            pass
        assert callable(error)
        raise error(f"invalid syntax in string: unknown escape \\{code}")
    return "".join(out)
