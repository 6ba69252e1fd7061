"""Extension conditions (docs.coveo.com page 64): a table of expressions, and a property against a
reference evaluator that lets Python's own parser do the work."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.condition import ConditionError, metadata_lookup, parse_condition

ITEM: dict[str, list[Any]] = {
    "meta1": ["value"],
    "meta2": ["value"],
    "filetype": ["pdf"],
    "tags": ["red", "green"],
    "meta1[test]": ["x"],
    "draft": [""],  # unset by a script (add_meta_data({"draft": None}))
    "size": [42],
    "published": [True],
    "title": ["It's \"quoted\""],
    "lang": ["EN"],
}

VALID = [
    # page 64's examples
    ("%[meta1]", True),
    ("NOT %[meta1]", False),
    ("NOT %[meta3]", True),
    ('%[meta1] == "value"', True),
    ('NOT %[meta1] == "value"', False),
    ('NOT %[meta3] == "value"', True),  # absent: true
    ('NOT %[filetype] == "value"', True),  # another value: true
    ("%[meta1] AND %[meta2]", True),
    ("%[meta1] AND %[meta3]", False),
    ('%[meta1] == "value" AND %[meta2] == "value"', True),
    ("%[meta1] OR %[meta3]", True),
    ("%[meta3] OR %[meta4]", False),
    ('%[meta1] == "value" OR %[meta3] == "value"', True),
    ("(%[meta1] OR %[meta3]) AND %[meta2]", True),
    ("(%[meta3] OR %[meta4]) AND %[meta2]", False),
    ("%[meta1\\[test\\]]", True),
    # quotes, either kind, mixed
    ("%[meta1] == 'value'", True),
    ("%[meta1] == 'value' AND %[filetype] == \"pdf\"", True),
    ("%[meta1] == 'Value'", False),  # values compare exactly
    ("%[title] == 'It\\'s \"quoted\"'", True),
    # operators in any case
    ("not %[meta1]", False),
    ("%[meta1] and %[meta2]", True),
    ("%[meta3] Or %[meta1]", True),
    ("NoT %[meta3]", True),
    # metadata names in any case
    ("%[FileType] == 'pdf'", True),
    ("%[META1]", True),
    # multi-valued: any value
    ("%[tags] == 'green'", True),
    ("%[tags] == 'red'", True),
    ("%[tags] == 'blue'", False),
    ("NOT %[tags] == 'green'", False),
    # unset and non-string values
    ("%[draft]", False),
    ("NOT %[draft]", True),
    ("%[size] == '42'", True),
    ("%[published] == 'true'", True),
    # precedence: NOT > AND > OR
    ("%[meta3] AND %[meta4] OR %[meta1]", True),
    ("%[meta1] OR %[meta3] AND %[meta4]", True),
    ("NOT %[meta3] AND %[meta1]", True),
    ("NOT (%[meta1] AND %[meta3])", True),
    ("NOT NOT %[meta1]", True),
    ("((%[meta1]))", True),
    # spacing
    ("%[meta1]=='value'", True),
    ("  %[lang]  ==  'EN'  ", True),
    ("NOT(%[meta3])", True),
    # empty: always true
    ("", True),
    ("   ", True),
]

INVALID = [
    ("%[meta1] == %[meta2]", 13, "cannot be compared to another metadata"),
    ("%[fruit] == 'apple' OR 'orange'", 24, "operators do not join values"),
    ("%[meta1[test]]", 8, "must be escaped"),
    ("%[meta1] != 'value'", 10, "NOT %[name] == 'value'"),
    ("%[meta1] = 'value'", 10, "compare with =="),
    ("%[meta1] > '3'", 10, "only == compares"),
    ("%[meta1] && %[meta2]", 10, "write AND"),
    ("%[meta1] || %[meta2]", 10, "write OR"),
    ("! %[meta1]", 1, "write NOT"),
    ("(%[meta1]", 10, "expected ) to close"),
    ("%[meta1])", 9, "no ( opens it"),
    ("%[meta1] ==", 12, "expected a quoted value"),
    ("%[meta1] == 'value", 13, "unterminated value"),
    ("%[meta1", 1, "unterminated metadata name"),
    ("%[]", 1, "empty metadata name"),
    ("meta1 == 'value'", 1, "unexpected word 'meta1'"),
    ("%[meta1] AND", 13, "expected %[name], NOT or ("),
    ("AND %[meta1]", 1, "expected %[name], NOT or ("),
    ("%[meta1] %[meta2]", 10, "expected AND, OR or the end"),
    ("== 'x'", 1, "needs a metadata on its left"),
    ("'value'", 1, "can only follow %[name] =="),
    ("%meta1", 1, "a metadata is written %[name]"),
    ("()", 2, "expected %[name], NOT or ("),
    ("%[meta1] ANDNOT %[meta2]", 10, "unexpected word 'ANDNOT'"),
]


@pytest.mark.parametrize(("text", "expected"), VALID, ids=[t or "<empty>" for t, _ in VALID])
def test_valid_conditions(text: str, expected: bool) -> None:
    assert parse_condition(text).evaluate(ITEM) is expected


@pytest.mark.parametrize(("text", "column", "message"), INVALID, ids=[t for t, _, _ in INVALID])
def test_invalid_conditions_name_the_column(text: str, column: int, message: str) -> None:
    with pytest.raises(ConditionError) as error:
        parse_condition(text)
    assert error.value.column == column
    assert message in str(error.value)
    assert str(error.value).startswith(f"column {column}: ")


def test_the_table_is_large_enough() -> None:
    assert len(VALID) + len(INVALID) >= 40


def test_none_is_always_true() -> None:
    assert parse_condition(None).evaluate({}) is True


def test_explain_lists_every_sub_expression_with_its_value() -> None:
    condition = parse_condition("%[filetype] == 'pdf' AND NOT (%[meta3] OR %[tags] == 'red')")
    assert [(e.depth, e.text, e.value) for e in condition.explain(ITEM)] == [
        (0, "%[filetype] == 'pdf' AND NOT (%[meta3] OR %[tags] == 'red')", False),
        (1, "%[filetype] == 'pdf'", True),
        (1, "NOT (%[meta3] OR %[tags] == 'red')", False),
        (2, "(%[meta3] OR %[tags] == 'red')", True),
        (3, "%[meta3]", False),
        (3, "%[tags] == 'red'", True),
    ]


def test_explain_says_what_each_test_read() -> None:
    explained = parse_condition("%[tags] == 'blue' OR NOT %[draft]").explain(ITEM)
    assert [e.read for e in explained] == [None, ("tags", ["red", "green"]), None, ("draft", [])]


def test_names_read_by_a_condition() -> None:
    assert parse_condition("%[A] OR NOT %[b] == 'x' AND %[a]").names() == ["a", "b"]


def test_the_newest_origin_wins_across_origins() -> None:
    origins = [
        ("crawler", {"filetype": ["doc"], "author": ["Ada"]}),
        ("classify", {"filetype": ["pdf"]}),
        ("cleanup", {"author": [""]}),  # a later extension unset it
    ]
    lookup = metadata_lookup(origins)
    assert parse_condition("%[filetype] == 'pdf'").evaluate(lookup)
    assert not parse_condition("%[filetype] == 'doc'").evaluate(lookup)
    assert not parse_condition("%[author]").evaluate(lookup)


# -- the property: the parser agrees with Python's own precedence and a plain-set reference -----------

NAMES = ["a", "B", "meta[1]", "x%y", 'q"t', "back\\slash"]
VALUES = ["", "v", "w", "It's", 'say "hi"']


def _escape_name(name: str) -> str:
    return "".join("\\" + c if c in "[]\\" else c for c in name)


def _quote(value: str, quote: str) -> str:
    return quote + "".join("\\" + c if c in (quote, "\\") else c for c in value) + quote


def _keyword(draw: st.DrawFn, word: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c.lower() for c in word)


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> tuple[str, str, int]:
    """A random condition: (its text, the same as a Python expression, its precedence level).

    Levels: 3 atom, 2 NOT, 1 AND, 0 OR; a child is parenthesised only when its level is lower than
    its parent needs (or at random), so the parser's precedence is what is tested.
    """
    kind = draw(st.sampled_from(["exists", "equals"] if depth >= 3 else ["exists", "equals", "not", "and", "or"]))
    if kind in ("exists", "equals"):
        name = draw(st.sampled_from(NAMES))
        text = f"%[{_escape_name(name)}]"
        python = f"has({name!r})"
        if kind == "equals":
            value = draw(st.sampled_from(VALUES))
            text += f"{draw(st.sampled_from(['', ' ']))}=={draw(st.sampled_from(['', ' ']))}"
            text += _quote(value, draw(st.sampled_from(["'", '"'])))
            python = f"eq({name!r}, {value!r})"
        return text, python, 3
    if kind == "not":
        inner, inner_py, level = draw(expressions(depth + 1))
        if level < 2 or draw(st.booleans()):
            inner, inner_py = f"({inner})", f"({inner_py})"
        return f"{_keyword(draw, 'not')} {inner}", f"not {inner_py}", 2
    operator, level_of = ("and", 1) if kind == "and" else ("or", 0)
    parts = []
    for _ in range(draw(st.integers(2, 3))):
        text, python, level = draw(expressions(depth + 1))
        if level <= level_of or draw(st.integers(0, 4)) == 0:
            text, python = f"({text})", f"({python})"
        parts.append((text, python))
    text = f" {_keyword(draw, operator)} ".join(t for t, _ in parts)
    python = f" {operator} ".join(p for _, p in parts)
    return text, python, level_of


metadata = st.dictionaries(
    st.sampled_from([n.lower() for n in NAMES]),
    st.lists(st.sampled_from(VALUES), max_size=3),
)


@settings(max_examples=400, deadline=None)
@given(expressions(), metadata)
def test_random_conditions_agree_with_python(case: tuple[str, str, int], item: dict[str, list[str]]) -> None:
    text, python, _ = case

    def values(name: str) -> set[str]:
        return {v for v in item.get(name.lower(), []) if v != ""}

    reference = eval(python, {"has": lambda n: bool(values(n)), "eq": lambda n, v: v in values(n)})  # the reference: Python parses it
    assert parse_condition(text).evaluate(item) is reference, text
