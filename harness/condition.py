"""Extension conditions: the ``condition`` a source gives each extension, parsed and evaluated.

Coveo runs an extension on an item only when its condition holds (docs.coveo.com, *Indexing
pipeline extension condition syntax reference*).  The language is small:

* ``%[name]``: the item has metadata ``name``; ``\\`` escapes a character of the name
  (``%[meta1\\[test\\]]``), and an unescaped ``[`` is an error, as the page says;
* ``%[name] == 'value'`` (or ``"value"``): one of its values equals ``value``;
* ``NOT``, ``AND``, ``OR`` (any case) and parentheses.

A tokenizer and a recursive-descent parser (one function a grammar rule) build a small tree of
:class:`Node` objects that remember where they are in the text, so that an error names its column
and ``--explain`` can show each sub-expression with its value.  Precedence, tightest first:
``==``, ``NOT``, ``AND``, ``OR``; so ``NOT %[m] == 'v'`` is ``NOT (%[m] == 'v')``, which is what
the page's example means (true when ``m`` is absent or has another value).  The page lists only
``==``: ``!=`` and every other operator are errors that say how to write it instead, and so are
the page's two pitfalls (``%[a] == %[b]``, ``%[a] == 'x' OR 'y'``).

Grammar::

    condition  := or_expr END
    or_expr    := and_expr ( OR and_expr )*
    and_expr   := not_expr ( AND not_expr )*
    not_expr   := NOT not_expr | primary
    primary    := "(" or_expr ")" | METADATA ( "==" VALUE )?
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from harness.errors import HarnessError

__all__ = [
    "ALWAYS",
    "And",
    "Condition",
    "ConditionError",
    "Equals",
    "Exists",
    "Explained",
    "Node",
    "Not",
    "Or",
    "Token",
    "metadata_lookup",
    "parse_condition",
    "tokenize",
]

Lookup = Callable[[str], "Sequence[Any] | None"]
"""Metadata name (lower case) -> its values, or None when the item does not have it."""


class ConditionError(HarnessError):
    """A condition that is not valid: the message names the column (1-based) and what to do."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.column = column
        self.detail = message


# -- tokens ----------------------------------------------------------------------------------------

KEYWORDS = ("AND", "OR", "NOT")


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is METADATA, VALUE, EQ, AND, OR, NOT, LPAREN, RPAREN or END."""

    kind: str
    text: str
    """The metadata name or the value, unescaped; the keyword as written otherwise."""
    start: int
    """Offset of its first character in the condition."""
    end: int


def tokenize(text: str) -> list[Token]:
    """Split a condition into tokens; every lexical error names its column."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif text.startswith("%[", i):
            name, end = _read_name(text, i)
            tokens.append(Token("METADATA", name, i, end))
            i = end
        elif char in "'\"":
            value, end = _read_value(text, i)
            tokens.append(Token("VALUE", value, i, end))
            i = end
        elif text.startswith("==", i):
            tokens.append(Token("EQ", "==", i, i + 2))
            i += 2
        elif char in "()":
            tokens.append(Token("LPAREN" if char == "(" else "RPAREN", char, i, i + 1))
            i += 1
        elif char.isalpha() or char == "_":
            end = i
            while end < n and (text[end].isalnum() or text[end] == "_"):
                end += 1
            word = text[i:end]
            if word.upper() not in KEYWORDS:
                raise ConditionError(
                    f"unexpected word {word!r}: a metadata is written %[{word}], a value in quotes, "
                    "and the operators are ==, NOT, AND, OR", i + 1
                )
            tokens.append(Token(word.upper(), word, i, end))
            i = end
        else:
            raise _operator_error(text, i)
    tokens.append(Token("END", "", n, n))
    return tokens


def _operator_error(text: str, i: int) -> ConditionError:
    """What to say about a character that starts no token (usually an operator the page lacks)."""
    two = text[i:i + 2]
    if two in ("!=", "<>"):
        return ConditionError(f"{two} is not an operator of conditions: write NOT %[name] == 'value'", i + 1)
    if two in ("&&", "||"):
        word = "AND" if two == "&&" else "OR"
        return ConditionError(f"{two} is not an operator of conditions: write {word}", i + 1)
    char = text[i]
    if char == "=":
        return ConditionError("a single = is not an operator: compare with ==", i + 1)
    if char == "!":
        return ConditionError("! is not an operator of conditions: write NOT", i + 1)
    if char in "<>":
        return ConditionError(f"{char} is not an operator of conditions: only == compares values", i + 1)
    if char == "%":
        return ConditionError("a metadata is written %[name]", i + 1)
    return ConditionError(f"unexpected character {char!r}", i + 1)


def _read_name(text: str, start: int) -> tuple[str, int]:
    """The name of ``%[...]`` starting at ``start``, unescaped, and the offset after its ``]``."""
    out: list[str] = []
    i = start + 2
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 >= len(text):
                break
            out.append(text[i + 1])
            i += 2
            continue
        if char == "]":
            name = "".join(out)
            if not name.strip():
                raise ConditionError("empty metadata name in %[]", start + 1)
            return name, i + 1
        if char == "[":
            raise ConditionError(
                "a [ inside a metadata name must be escaped: write \\[ (and \\] for ])", i + 1
            )
        out.append(char)
        i += 1
    raise ConditionError("unterminated metadata name: %[ without its closing ]", start + 1)


def _read_value(text: str, start: int) -> tuple[str, int]:
    """The quoted value starting at ``start`` (``\\`` escapes the next character), unescaped."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == quote:
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise ConditionError(f"unterminated value: the {quote} that opens it is never closed", start + 1)


# -- the tree --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node(ABC):
    """A sub-expression: where it is in the condition (``start``/``end`` offsets)."""

    start: int
    end: int

    @abstractmethod
    def evaluate(self, lookup: Lookup) -> bool:
        """Its value for an item whose metadata ``lookup`` reads."""

    @property
    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True)
class Exists(Node):
    """``%[name]``: the item has the metadata (with a value that is not empty)."""

    name: str

    def evaluate(self, lookup: Lookup) -> bool:
        return bool(_present(lookup(self.name.lower())))


@dataclass(frozen=True)
class Equals(Node):
    """``%[name] == 'value'``: one of the metadata's values is ``value`` (exactly, case included)."""

    name: str
    value: str

    def evaluate(self, lookup: Lookup) -> bool:
        return any(_text(v) == self.value for v in _present(lookup(self.name.lower())))


@dataclass(frozen=True)
class Not(Node):
    operand: Node

    def evaluate(self, lookup: Lookup) -> bool:
        return not self.operand.evaluate(lookup)

    @property
    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class And(Node):
    operands: tuple[Node, ...]

    def evaluate(self, lookup: Lookup) -> bool:
        return all(op.evaluate(lookup) for op in self.operands)

    @property
    def children(self) -> tuple[Node, ...]:
        return self.operands


@dataclass(frozen=True)
class Or(Node):
    operands: tuple[Node, ...]

    def evaluate(self, lookup: Lookup) -> bool:
        return any(op.evaluate(lookup) for op in self.operands)

    @property
    def children(self) -> tuple[Node, ...]:
        return self.operands


def _present(values: Sequence[Any] | None) -> list[Any]:
    """The values that count: ``''`` is how a script unsets a metadata (``add_meta_data({k: None})``)."""
    return [v for v in values or () if _text(v) != ""]


def _text(value: Any) -> str:
    """A metadata value as a condition compares it: JSON ``true``/``false``, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if not isinstance(value, (dict, list)) else "\0"  # a v2 dict never equals text


# -- the parser ------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.at = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, message: str, token: Token | None = None) -> ConditionError:
        return ConditionError(message, (token or self.token).start + 1)

    def condition(self) -> Node:
        node = self.or_expr()
        token = self.token
        if token.kind == "RPAREN":
            raise self.fail("unbalanced ): no ( opens it")
        if token.kind != "END":
            raise self.fail(f"expected AND, OR or the end of the condition, found {_describe(token)}")
        return node

    def or_expr(self) -> Node:
        operands = [self.and_expr()]
        while self.token.kind == "OR":
            self.take()
            operands.append(self.and_expr())
        if len(operands) == 1:
            return operands[0]
        return Or(operands[0].start, operands[-1].end, tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.not_expr()]
        while self.token.kind == "AND":
            self.take()
            operands.append(self.not_expr())
        if len(operands) == 1:
            return operands[0]
        return And(operands[0].start, operands[-1].end, tuple(operands))

    def not_expr(self) -> Node:
        if self.token.kind == "NOT":
            keyword = self.take()
            operand = self.not_expr()
            return Not(keyword.start, operand.end, operand)
        return self.primary()

    def primary(self) -> Node:
        token = self.token
        if token.kind == "LPAREN":
            self.take()
            inner = self.or_expr()
            if self.token.kind != "RPAREN":
                raise self.fail(f"expected ) to close the ( of column {token.start + 1}, found {_describe(self.token)}")
            close = self.take()
            return _widen(inner, token.start, close.end)
        if token.kind == "METADATA":
            self.take()
            if self.token.kind != "EQ":
                return Exists(token.start, token.end, token.text)
            self.take()
            value = self.token
            if value.kind == "METADATA":
                raise self.fail(
                    "a metadata cannot be compared to another metadata: compare each to a value, "
                    f"%[{token.text}] == 'value' AND %[{value.text}] == 'value'"
                )
            if value.kind != "VALUE":
                raise self.fail(f"expected a quoted value after ==, found {_describe(value)}")
            self.take()
            return Equals(token.start, value.end, token.text, value.text)
        if token.kind == "VALUE":
            raise self.fail(
                "a quoted value can only follow %[name] ==; operators do not join values, to test "
                "several write %[name] == 'x' OR %[name] == 'y'"
            )
        if token.kind == "EQ":
            raise self.fail("== needs a metadata on its left: %[name] == 'value'")
        raise self.fail(f"expected %[name], NOT or (, found {_describe(token)}")


def _widen(node: Node, start: int, end: int) -> Node:
    """``node`` with its span taken to include its parentheses (so --explain shows them)."""
    return replace(node, start=start, end=end)


def _describe(token: Token) -> str:
    if token.kind == "END":
        return "the end of the condition"
    if token.kind == "METADATA":
        return f"%[{token.text}]"
    if token.kind == "VALUE":
        return f"the value {token.text!r}"
    return repr(token.text)


@dataclass(frozen=True)
class Explained:
    """One line of ``--explain``: a sub-expression and its value."""

    depth: int
    """How deep it is in the tree (0 for the whole condition)."""
    text: str
    """The sub-expression as written."""
    value: bool
    read: tuple[str, list[Any]] | None = None
    """For ``%[name]`` and ``%[name] == 'v'``: the name and the values that count (``[]`` when absent)."""


# -- the public object -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A parsed condition: ``text`` as given, ``root`` its tree (None when it is empty: always true)."""

    text: str
    root: Node | None

    def evaluate(self, metadata: Lookup | Mapping[str, Sequence[Any]]) -> bool:
        """Whether the extension runs on an item with this metadata (a lookup, or name -> values)."""
        if self.root is None:
            return True
        return self.root.evaluate(_as_lookup(metadata))

    def explain(self, metadata: Lookup | Mapping[str, Sequence[Any]]) -> list[Explained]:
        """Each sub-expression, outermost first, with its value for this item (and, for a
        ``%[name]`` test, the values it read)."""
        if self.root is None:
            return []
        lookup = _as_lookup(metadata)
        out: list[Explained] = []

        def walk(node: Node, depth: int) -> None:
            read = None
            if isinstance(node, (Exists, Equals)):
                read = (node.name.lower(), _present(lookup(node.name.lower())))
            out.append(Explained(depth, self.text[node.start:node.end], node.evaluate(lookup), read))
            for child in node.children:
                walk(child, depth + 1)

        walk(self.root, 0)
        return out

    def names(self) -> list[str]:
        """The metadata names the condition reads, in order of first use, lower case."""
        seen: list[str] = []

        def walk(node: Node) -> None:
            if isinstance(node, (Exists, Equals)) and node.name.lower() not in seen:
                seen.append(node.name.lower())
            for child in node.children:
                walk(child)

        if self.root is not None:
            walk(self.root)
        return seen

    def __str__(self) -> str:
        return self.text


ALWAYS = Condition("", None)


def parse_condition(text: str | None) -> Condition:
    """Parse a condition; ``None``, ``""`` or blanks give :data:`ALWAYS`.  Raises :class:`ConditionError`."""
    if text is None or not text.strip():
        return ALWAYS
    return Condition(text, _Parser(text).condition())


def _as_lookup(metadata: Lookup | Mapping[str, Sequence[Any]]) -> Lookup:
    if isinstance(metadata, Mapping):
        lowered = {str(k).lower(): v for k, v in metadata.items()}
        return lowered.get
    return metadata


def metadata_lookup(origins: Sequence[tuple[str, Mapping[str, Sequence[Any]]]]) -> Lookup:
    """How a condition sees an item's metadata: a name's values come from the newest origin that has
    it (the extension that ran last wins, as ``document.get_meta_data_value(name)`` returns)."""
    resolved: dict[str, Sequence[Any]] = {}
    for _origin, values in origins:
        for name, items in values.items():
            resolved[str(name).lower()] = items
    return resolved.get
