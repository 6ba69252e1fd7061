"""The ``document`` object a script sees, tested through the public surface only.

Every test writes a tiny extension into ``tmp_path``, runs it with
:func:`harness.run_extension` (or :class:`harness.Runner`) and asserts on the
:class:`harness.ExtensionResult`.  Scripts report what they computed with ``log()``
(as JSON, so the test can read it back) or with ``add_meta_data``.
"""

from __future__ import annotations

import base64
import itertools
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

import harness
from harness.python310 import INTERPRETER_WARNING_PREFIX

EXTENSION_NAME = "Title Fixer"

#: Obviously fake vault values: nothing here is a secret.
FAKE_VAULT = {"fake_api_key": "FAKE-api-key-0000", "fake_password": "not-a-real-password"}

DOCUMENT: dict[str, Any] = {
    "uri": "https://example.com/docs/page-1",
    "metadata": {
        "crawler": {"title": "Crawler title", "author": ["Ann", "Bob"], "size": 42, "only_crawler": "c"},
        "converter": {"title": "Converter title"},
        "mapping": {"Title": "Mapping title", "language": "en"},
    },
    "dataStreams": {"body_text": "Hello body", "body_html": "<p>Hello</p>"},
}

PERMISSIONS: list[dict[str, Any]] = [
    {
        "name": "Level 1",
        "permissionSets": [
            {
                "name": "Set A",
                "anonymousAllowed": False,
                "permissions": [
                    {
                        "identity": "alice@example.com",
                        "identityType": "USER",
                        "securityProvider": "Email Security Provider",
                        "allowed": True,
                    },
                    {
                        "identity": "Everyone",
                        "identityType": "GROUP",
                        "securityProvider": "Fake AD",
                        "allowed": True,
                        "additionalInfo": {"tenant": "fake-tenant"},
                    },
                    {
                        "identity": "bob@example.com",
                        "identityType": "USER",
                        "securityProvider": "Email Security Provider",
                        "allowed": False,
                    },
                ],
            }
        ],
    },
    {
        "name": "Level 2",
        "permissionSets": [
            {
                "name": "Set B",
                "anonymousAllowed": True,
                "permissions": [
                    {
                        "identity": "Readers",
                        "identityType": "VIRTUAL_GROUP",
                        "securityProvider": "Fake Virtual",
                        "allowed": True,
                    }
                ],
            }
        ],
    },
]

#: A Test API document with two origins holding a body_text, and permissions.
TEST_API_DOCUMENT: dict[str, Any] = {
    "document": {
        "id": "https://example.com/docs/page-2",
        "metadata": [
            {"origin": "crawler", "values": {"title": ["Crawler title"]}},
            {"origin": "converter", "values": {"title": ["Converter title"]}},
        ],
        "permissions": PERMISSIONS,
        "dataStreams": [
            {
                "origin": "crawler",
                "values": {
                    "body_text": {
                        "inlineContent": base64.b64encode("crawler text".encode("utf-16-le")).decode(),
                        "compressionType": "UNCOMPRESSED",
                    }
                },
            },
            {
                "origin": "converter",
                "values": {
                    "body_text": {
                        "inlineContent": base64.b64encode("converter text".encode("utf-16-le")).decode(),
                        "compressionType": "UNCOMPRESSED",
                    }
                },
            },
        ],
    }
}

_counter = itertools.count()


def make_extension(
    root: Path,
    script: str,
    *,
    name: str = EXTENSION_NAME,
    api_version: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> Path:
    """Write an extension folder (script + manifest) under ``root`` and return it."""
    folder = root / f"ext{next(_counter)}"
    folder.mkdir()
    (folder / "extension.py").write_text(textwrap.dedent(script), encoding="utf-8")
    manifest: dict[str, Any] = {
        "name": name,
        "description": "an extension written by a test",
        "requiredDataStreams": ["BODY_TEXT", "BODY_HTML"],  # the streams of the documents below
        "useVault": True,
    }
    if api_version is not None:
        manifest["apiVersion"] = api_version
    if parameters is not None:
        manifest["parameters"] = parameters
    (folder / "extension.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


@pytest.fixture
def run(tmp_path):
    """``run(script, document=DOCUMENT, **manifest_and_run_options) -> ExtensionResult``."""

    def _run(script: str, document: Any = None, *, name: str = EXTENSION_NAME,
             api_version: str | None = None, vault: Any = None, **kwargs: Any) -> harness.ExtensionResult:
        folder = make_extension(tmp_path, script, name=name, api_version=api_version)
        return harness.run_extension(
            folder,
            DOCUMENT if document is None else document,
            vault={} if vault is None else vault,
            **kwargs,
        )

    return _run


def without_interpreter_note(warnings: list[str]) -> list[str]:
    """The warnings but the one every run carries when the interpreter is not Coveo's 3.10."""
    return [w for w in warnings if not w.startswith(INTERPRETER_WARNING_PREFIX)]


def comments(result: harness.ExtensionResult) -> list[str]:
    return [entry.comment for entry in result.logs]


def shown(result: harness.ExtensionResult) -> list[Any]:
    """The JSON values the script logged, in order."""
    assert result.status == "SUCCESS", result.reason
    return [json.loads(entry.comment) for entry in result.logs]


def shown_one(result: harness.ExtensionResult) -> Any:
    values = shown(result)
    assert len(values) == 1, values
    return values[0]


# ---------------------------------------------------------------------------------------------
# document.uri
# ---------------------------------------------------------------------------------------------


def test_uri_is_the_friendly_documents_uri(run):
    assert comments(run("log(document.uri)")) == ["https://example.com/docs/page-1"]


def test_uri_is_the_test_api_documents_id(run):
    assert comments(run("log(document.uri)", TEST_API_DOCUMENT)) == ["https://example.com/docs/page-2"]


def test_uri_is_read_only(run):
    result = run("document.uri = 'https://example.com/elsewhere'\nlog('still running')")
    assert result.status == "EXECUTION_ERROR"
    assert "AttributeError" in result.reason
    assert comments(result) == []
    assert result.document.uri == "https://example.com/docs/page-1"


# ---------------------------------------------------------------------------------------------
# get_meta_data()
# ---------------------------------------------------------------------------------------------


def test_get_meta_data_lists_input_origins_in_pipeline_order(run):
    result = run(
        """
        import json
        log(json.dumps([[m.origin, dict(m.values)] for m in document.get_meta_data()]))
        """
    )
    assert shown_one(result) == [
        ["crawler", {"title": ["Crawler title"], "author": ["Ann", "Bob"], "size": [42], "only_crawler": ["c"]}],
        ["converter", {"title": ["Converter title"]}],
        ["mapping", {"title": ["Mapping title"], "language": ["en"]}],
    ]


def test_get_meta_data_values_are_case_insensitive(run):
    result = run(
        """
        import json
        crawler = document.get_meta_data()[0]
        log(json.dumps([crawler.values['TITLE'], crawler.values['Author'], 'AUTHOR' in crawler.values]))
        """
    )
    assert shown_one(result) == [["Crawler title"], ["Ann", "Bob"], True]


def test_get_meta_data_adds_one_entry_per_added_key_with_the_extensions_name(run):
    result = run(
        """
        import json
        document.add_meta_data({'first': 'one', 'Second': ['two', 'deux']})
        document.add_meta_data({'third': 3})
        log(json.dumps([[m.origin, dict(m.values)] for m in document.get_meta_data()[3:]]))
        log(json.dumps([m.origin for m in document.get_meta_data()]))
        """
    )
    added, origins = shown(result)
    own = EXTENSION_NAME.lower()  # MetaDataValue.origin is lower-cased, as in Coveo
    assert added == [[own, {"first": ["one"]}], [own, {"second": ["two", "deux"]}], [own, {"third": [3]}]]
    assert origins == ["crawler", "converter", "mapping", own, own, own]


def test_get_meta_data_origin_is_the_manifest_name_not_the_folder(run):
    result = run(
        """
        document.add_meta_data({'k': 'v'})
        log(document.get_meta_data()[-1].origin)
        """,
        name="Some Other Name",
    )
    assert comments(result) == ["some other name"]  # lower-cased by MetaDataValue, as in Coveo
    assert result.document.metadata[-1][0] == "Some Other Name"


def test_get_meta_data_of_a_document_without_metadata_is_empty(run):
    result = run("import json\nlog(json.dumps(len(document.get_meta_data())))", {"uri": "file:///empty"})
    assert shown_one(result) == 0


# ---------------------------------------------------------------------------------------------
# get_meta_data_value()
# ---------------------------------------------------------------------------------------------


def _value_of(run, call: str, document: Any = None, prelude: str = "") -> Any:
    result = run(f"import json\n{prelude}\nlog(json.dumps({call}))", document)
    return shown_one(result)


@pytest.mark.parametrize("name", ["language", "LANGUAGE", "Language"])
def test_get_meta_data_value_name_is_case_insensitive(run, name):
    assert _value_of(run, f"document.get_meta_data_value({name!r})") == ["en"]


def test_get_meta_data_value_takes_the_newest_origin_by_default(run):
    assert _value_of(run, "document.get_meta_data_value('title')") == ["Mapping title"]


def test_get_meta_data_value_reverse_false_takes_the_oldest_origin(run):
    assert _value_of(run, "document.get_meta_data_value('title', reverse=False)") == ["Crawler title"]


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("crawler", ["Crawler title"]),
        ("converter", ["Converter title"]),
        ("CONVERTER", ["Converter title"]),
        ("Mapping", ["Mapping title"]),
        ("nowhere", []),
    ],
)
def test_get_meta_data_value_restricted_to_an_origin(run, origin, expected):
    assert _value_of(run, f"document.get_meta_data_value('title', origin={origin!r})") == expected


def test_get_meta_data_value_origin_with_a_name_only_an_older_origin_has(run):
    assert _value_of(run, "document.get_meta_data_value('only_crawler', 'mapping')") == []
    assert _value_of(run, "document.get_meta_data_value('only_crawler')") == ["c"]


def test_get_meta_data_value_of_an_absent_name_is_an_empty_list(run):
    assert _value_of(run, "document.get_meta_data_value('no_such_field')") == []


def test_get_meta_data_value_is_a_list_even_for_a_single_value(run):
    result = run(
        """
        import json
        values = document.get_meta_data_value('size')
        log(json.dumps([type(values).__name__, values]))
        """
    )
    assert shown_one(result) == ["list", [42]]


def test_get_meta_data_value_positional_call_as_in_coveos_docs(run):
    assert _value_of(run, "document.get_meta_data_value('title', 'crawler', True)") == ["Crawler title"]
    assert _value_of(run, "document.get_meta_data_value('author', 'crawler', False)") == ["Ann", "Bob"]


def test_get_meta_data_value_returns_the_documents_own_list(run):
    """As in Coveo: the list returned is the one the document holds, so a change to it shows on
    the next read (of this run only: the item's input is never changed)."""
    result = run(
        """
        import json
        values = document.get_meta_data_value('author')
        values.append('Mallory')
        values[0] = 'Eve'
        document.get_meta_data()[0].values['author'].append('Trudy')
        log(json.dumps(document.get_meta_data_value('author')))
        """
    )
    assert shown_one(result) == ["Eve", "Bob", "Mallory", "Trudy"]
    assert result.document.metadata[0][1]["author"] == ["Ann", "Bob"]


def test_get_meta_data_value_sees_values_the_script_just_added(run):
    result = run(
        """
        import json
        document.add_meta_data({'Title': 'Script title', 'fresh': 'new'})
        log(json.dumps([
            document.get_meta_data_value('title'),
            document.get_meta_data_value('TITLE', %r),
            document.get_meta_data_value('title', %r),
            document.get_meta_data_value('title', reverse=False),
            document.get_meta_data_value('fresh', reverse=False),
            document.get_meta_data_value('fresh', 'crawler'),
        ]))
        """
        % (EXTENSION_NAME, EXTENSION_NAME.upper())
    )
    assert shown_one(result) == [
        ["Script title"],
        ["Script title"],
        ["Script title"],
        ["Crawler title"],
        ["new"],
        [],
    ]


# ---------------------------------------------------------------------------------------------
# add_meta_data()
# ---------------------------------------------------------------------------------------------


def test_add_meta_data_lower_cases_keys(run):
    result = run("document.add_meta_data({'MyField': 'v', 'UPPER': 'w'})")
    assert result.status == "SUCCESS"
    assert result.added_metadata == {"myfield": ["v"], "upper": ["w"]}
    assert result.document.metadata[-1] == (EXTENSION_NAME, {"myfield": ["v"], "upper": ["w"]})


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param("'text'", ["text"], id="str-one-item-list"),
        pytest.param("['a', 'b']", ["a", "b"], id="list"),
        pytest.param("('a', 'b')", ["a", "b"], id="tuple"),
        pytest.param("(x for x in 'ab')", ["a", "b"], id="generator"),
        pytest.param("None", [""], id="None-empty-string"),
        pytest.param("3", [3], id="int-kept"),
        pytest.param("2.5", [2.5], id="float-kept"),
        pytest.param("True", [True], id="bool-kept"),
        pytest.param("False", [False], id="false-kept"),
        pytest.param("b'caf'", [99, 97, 102], id="bytes-iterated-to-ints"),
        pytest.param("[b'caf']", ["b'caf'"], id="bytes-element-str-by-the-encoder"),
        pytest.param("{'a': 1, 'b': 2}", ["a", "b"], id="v1-dict-gives-its-keys"),
        pytest.param("''", [""], id="empty-string-unsets"),
        pytest.param("[]", [], id="empty-list"),
        pytest.param("[1, None, 'x', True]", [1, "", "x", True], id="list-of-scalars"),
    ],
)
def test_add_meta_data_value_conversion(run, expression, expected):
    result = run(f"document.add_meta_data({{'field': {expression}}})")
    assert result.status == "SUCCESS", result.reason
    assert result.added_metadata == {"field": expected}
    assert result.to_json()["document"]["metadata"][-1] == {"origin": EXTENSION_NAME, "values": {"field": expected}}


def test_add_meta_data_stringifies_non_json_values(run):
    result = run(
        """
        import datetime, decimal
        class Thing:
            def __str__(self):
                return 'a thing'
        when = datetime.datetime(2024, 5, 17, 12, 30)
        document.add_meta_data({
            'when': when,
            'thing': Thing(),
            'amount': decimal.Decimal('1.50'),
            'mixed': [when, Thing(), 7],
        })
        """
    )
    assert result.status == "SUCCESS", result.reason
    assert result.added_metadata == {  # a datetime is kept, then encoded as epoch seconds
        "when": [1715949000],
        "thing": ["a thing"],
        "amount": ["1.50"],
        "mixed": [1715949000, "a thing", 7],
    }
    json.dumps(result.to_json())


def test_add_meta_data_non_finite_floats_give_valid_json(run):
    result = run("document.add_meta_data({'ratio': float('nan'), 'big': float('inf')})")
    assert result.status == "SUCCESS"
    json.dumps(result.to_json(), allow_nan=False)
    assert result.added_metadata == {"ratio": ["nan"], "big": ["inf"]}


def test_add_meta_data_empty_string_unsets_the_field(run):
    result = run(
        """
        import json
        document.add_meta_data({'title': ''})
        log(json.dumps(document.get_meta_data_value('title')))
        """
    )
    assert shown_one(result) == [""]
    assert result.added_metadata == {"title": [""]}
    assert result.document.metadata[-1] == (EXTENSION_NAME, {"title": [""]})


def test_add_meta_data_twice_replaces_the_value(run):
    result = run(
        """
        import json
        document.add_meta_data({'k': ['a', 'b']})
        document.add_meta_data({'K': 'c'})
        log(json.dumps([[m.origin, dict(m.values)] for m in document.get_meta_data()[3:]]))
        """
    )
    assert shown_one(result) == [[EXTENSION_NAME.lower(), {"k": ["c"]}]]
    assert result.added_metadata == {"k": ["c"]}


def test_add_meta_data_changes_record_before_and_after(run):
    result = run("document.add_meta_data({'title': 'New', 'brand_new': 'x'})")
    changes = {change.name: (change.before, change.after) for change in result.changes}
    assert changes == {"title": (["Mapping title"], ["New"]), "brand_new": ([], ["x"])}


def test_add_meta_data_dict_value_under_api_v1_gives_its_keys(run):
    """Coveo's v1 add_meta_data iterates any non-str iterable: a dict becomes its keys."""
    result = run("document.add_meta_data({'translations': {'en': 'Hello', 'fr': 'Bonjour'}})")
    assert result.status == "SUCCESS", result.reason
    assert result.added_metadata == {"translations": ["en", "fr"]}


def test_add_meta_data_dict_value_works_with_api_v2(run):
    result = run(
        "document.add_meta_data({'translations': {'en': 'Hello', 'fr': 'Bonjour'}})",
        api_version="v2",
    )
    assert result.status == "SUCCESS", result.reason
    assert result.added_metadata == {"translations": [{"en": "Hello", "fr": "Bonjour"}]}
    json.dumps(result.to_json())


@pytest.mark.parametrize("argument", ["[('title', 'x')]", "'title'", "None", "42"])
def test_add_meta_data_requires_a_dict(run, argument):
    result = run(f"document.add_meta_data({argument})")
    assert result.status == "EXECUTION_ERROR"
    assert "AttributeError" in result.reason and "has no attribute 'items'" in result.reason  # as in Coveo


# ---------------------------------------------------------------------------------------------
# log()
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "severity",
    ["Debug", "detail", "ERROR", "Fatal", "important", "Normal", "NOTIFICATION", "wArNiNg"],
)
def test_log_severities_are_case_insensitive_and_upper_cased(run, severity):
    result = run(f"log('message', {severity!r})")
    assert [(e.comment, e.severity) for e in result.logs] == [("message", severity.upper())]


def test_log_all_eight_severities_reach_the_json(run):
    severities = ["Debug", "Detail", "Error", "Fatal", "Important", "Normal", "Notification", "Warning"]
    result = run("\n".join(f"document.log('m{i}', severity={s!r})" for i, s in enumerate(severities)))
    assert [entry["severity"] for entry in result.to_json()["logs"]] == [s.upper() for s in severities]


@pytest.mark.parametrize("severity", ["'Critical'", "'info'", "''", "None", "3"])
def test_log_unknown_severity_becomes_normal(run, severity):
    result = run(f"log('message', {severity})")
    assert [(e.comment, e.severity) for e in result.logs] == [("message", "NORMAL")]


def test_log_default_severity_is_normal(run):
    assert [e.severity for e in run("log('a')\ndocument.log('b')").logs] == ["NORMAL", "NORMAL"]


def test_log_none_message_is_ignored(run):
    result = run("log(None)\nlog(None, 'Error')\ndocument.log(None)\nlog('kept')")
    assert comments(result) == ["kept"]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("42", "42"),
        ("3.5", "3.5"),
        ("['a', 1]", "['a', 1]"),
        ("{'k': 'v'}", "{'k': 'v'}"),
        ("b'raw'", "b'raw'"),
        ("True", "True"),
        ("''", ""),
    ],
)
def test_log_non_str_messages_go_through_str(run, expression, expected):
    assert comments(run(f"log({expression})")) == [expected]


def test_log_global_is_document_log(run):
    result = run(
        """
        log(str(log == document.log))
        log(str(log.__self__ is document))
        log('from log')
        document.log('from document.log')
        """
    )
    assert comments(result) == ["True", "True", "from log", "from document.log"]


def test_log_entries_have_a_date_and_a_duration(run):
    result = run("log('a')\nlog('b')")
    first, second = result.logs
    assert first.date > 1_600_000_000 and second.date >= first.date
    assert 0 <= first.duration <= second.duration


def test_log_cap_truncates_the_crossing_entry_and_drops_later_ones(run):
    result = run(
        """
        log('a' * 1500)
        log('b' * 1500)
        log('c' * 1500, 'Error')
        log('d')
        log('e' * 10, 'Warning')
        """
    )
    assert result.status == "SUCCESS"
    assert comments(result) == ["a" * 1500, "b" * 1500, "truncated..."]
    assert any("4000" in warning and "truncated" in warning for warning in result.warnings), result.warnings


def test_log_cap_allows_exactly_4000_characters(run):
    result = run("for c in 'wxyz':\n    log(c * 1000)")
    assert comments(result) == [c * 1000 for c in "wxyz"]
    assert not any("truncated" in warning for warning in result.warnings)


def test_log_cap_one_huge_entry(run):
    result = run("log('x' * 5000)\nlog('after')")
    assert comments(result) == ["truncated..."]
    assert result.warnings


def test_log_entries_are_kept_when_the_script_fails(run):
    result = run("log('before the crash', 'Important')\nraise ValueError('boom')")
    assert result.status == "EXECUTION_ERROR"
    assert [(e.comment, e.severity) for e in result.logs] == [("before the crash", "IMPORTANT")]


# ---------------------------------------------------------------------------------------------
# Permissions
# ---------------------------------------------------------------------------------------------

_DESCRIBE_PERMISSIONS = """
import json
def describe(levels):
    return [
        {
            'name': level.name,
            'sets': [
                {
                    'name': s.name,
                    'anonymous': s.allow_anonymous,
                    'allowed': [[p.identity, p.identity_type, p.security_provider, p.additional_info]
                                for p in s.allowed_permissions],
                    'denied': [[p.identity, p.identity_type, p.security_provider, p.additional_info]
                               for p in s.denied_permissions],
                }
                for s in level.permission_sets
            ],
        }
        for level in levels
    ]
"""


def test_get_permissions_reads_the_test_api_json(run):
    result = run(_DESCRIBE_PERMISSIONS + "log(json.dumps(describe(document.get_permissions())))", TEST_API_DOCUMENT)
    assert shown_one(result) == [
        {
            "name": "Level 1",
            "sets": [
                {
                    "name": "Set A",
                    "anonymous": False,
                    "allowed": [
                        ["alice@example.com", "user", "Email Security Provider", {}],
                        ["Everyone", "group", "Fake AD", {"tenant": "fake-tenant"}],
                    ],
                    "denied": [["bob@example.com", "user", "Email Security Provider", {}]],
                }
            ],
        },
        {
            "name": "Level 2",
            "sets": [
                {
                    "name": "Set B",
                    "anonymous": True,
                    "allowed": [["Readers", "virtual_group", "Fake Virtual", {}]],
                    "denied": [],
                }
            ],
        },
    ]


def test_get_permissions_of_a_document_without_permissions_is_empty(run):
    result = run("import json\nlog(json.dumps(len(document.get_permissions())))")
    assert shown_one(result) == 0


def test_untouched_permissions_pass_through_unchanged(run):
    result = run("log('nothing to do')", TEST_API_DOCUMENT)
    assert result.to_json()["document"]["permissions"] == PERMISSIONS


def test_clear_permissions(run):
    result = run(
        "import json\ndocument.clear_permissions()\nlog(json.dumps(len(document.get_permissions())))",
        TEST_API_DOCUMENT,
    )
    assert shown_one(result) == 0
    assert result.to_json()["document"]["permissions"] == []


def test_set_permissions_with_a_list_of_levels(run):
    result = run(
        """
        P = document.Permission
        first = document.PermissionLevel('First', [document.PermissionSet('S1', False, [P('a@example.com', 'user', 'Email')])])
        second = document.PermissionLevel('Second', [document.PermissionSet('S2', True, [], [P('g', 'group', 'AD')])])
        document.set_permissions([first, second])
        """,
        TEST_API_DOCUMENT,
    )
    assert result.status == "SUCCESS", result.reason
    assert result.to_json()["document"]["permissions"] == [
        {
            "name": "First",
            "permissionSets": [
                {
                    "name": "S1",
                    "anonymousAllowed": False,
                    "permissions": [
                        {"identity": "a@example.com", "identityType": "USER", "securityProvider": "Email", "allowed": True}
                    ],
                }
            ],
        },
        {
            "name": "Second",
            "permissionSets": [
                {
                    "name": "S2",
                    "anonymousAllowed": True,
                    "permissions": [
                        {"identity": "g", "identityType": "GROUP", "securityProvider": "AD", "allowed": False}
                    ],
                }
            ],
        },
    ]


def test_set_permissions_with_one_level(run):
    result = run(
        """
        level = document.PermissionLevel('Only', [document.PermissionSet('S', allow_anonymous=True)])
        document.set_permissions(level)
        """,
        TEST_API_DOCUMENT,
    )
    assert result.status == "SUCCESS", result.reason
    assert result.to_json()["document"]["permissions"] == [
        {"name": "Only", "permissionSets": [{"name": "S", "anonymousAllowed": True, "permissions": []}]}
    ]


@pytest.mark.parametrize(
    "argument",
    [
        "'Level 1'",
        "42",
        "None",
        "document.PermissionSet('S')",
        "[document.PermissionSet('S')]",
        "[document.PermissionLevel('L'), 'not a level']",
    ],
)
def test_set_permissions_wrong_type_is_an_execution_error(run, argument):
    result = run(f"document.set_permissions({argument})", TEST_API_DOCUMENT)
    assert result.status == "EXECUTION_ERROR"
    assert "TypeError" in result.reason
    assert result.to_json()["document"]["permissions"] == PERMISSIONS


def test_add_allowed_and_add_denied_on_a_document_without_permissions(run):
    result = run(
        """
        document.add_allowed('alice@example.com', 'user', 'Email Security Provider')
        document.add_denied('bob@example.com', 'USER', 'Email Security Provider')
        document.add_allowed('Staff', 'group', 'Fake AD', {'tenant': 'fake-tenant'})
        """
    )
    assert result.status == "SUCCESS", result.reason
    assert result.to_json()["document"]["permissions"] == [
        {
            "name": "",
            "permissionSets": [
                {
                    "name": "",
                    "anonymousAllowed": False,
                    "permissions": [
                        {
                            "identity": "alice@example.com",
                            "identityType": "USER",
                            "securityProvider": "Email Security Provider",
                            "allowed": True,
                        },
                        {
                            "identity": "Staff",
                            "identityType": "GROUP",
                            "securityProvider": "Fake AD",
                            "allowed": True,
                            "additionalInfo": {"tenant": "fake-tenant"},
                        },
                        {
                            "identity": "bob@example.com",
                            "identityType": "USER",
                            "securityProvider": "Email Security Provider",
                            "allowed": False,
                        },
                    ],
                }
            ],
        }
    ]
    assert without_interpreter_note(result.warnings) == []


def test_add_allowed_replaces_a_multi_level_model_with_one_level_and_one_set(run):
    result = run(
        _DESCRIBE_PERMISSIONS
        + """
document.add_allowed('carol@example.com', 'user', 'Email Security Provider')
log(json.dumps(describe(document.get_permissions())))
""",
        TEST_API_DOCUMENT,
    )
    levels = shown_one(result)
    assert len(levels) == 1 and len(levels[0]["sets"]) == 1
    assert levels[0]["sets"][0]["allowed"] == [["carol@example.com", "user", "Email Security Provider", {}]]
    assert levels[0]["sets"][0]["denied"] == []
    permissions = result.to_json()["document"]["permissions"]
    assert len(permissions) == 1 and len(permissions[0]["permissionSets"]) == 1
    assert [p["identity"] for p in permissions[0]["permissionSets"][0]["permissions"]] == ["carol@example.com"]
    assert any("add_allowed" in w or "permission" in w for w in result.warnings), result.warnings


def test_add_denied_replaces_a_level_holding_two_sets(run):
    document = {
        "uri": "file:///two-sets",
        "permissions": [
            {
                "name": "L",
                "permissionSets": [
                    {"name": "A", "permissions": [{"identity": "x", "identityType": "USER", "securityProvider": "P"}]},
                    {"name": "B", "permissions": [{"identity": "y", "identityType": "USER", "securityProvider": "P"}]},
                ],
            }
        ],
    }
    result = run("document.add_denied('z', 'user', 'P')", document)
    permissions = result.to_json()["document"]["permissions"]
    assert len(permissions) == 1 and len(permissions[0]["permissionSets"]) == 1
    assert permissions[0]["permissionSets"][0]["permissions"] == [
        {"identity": "z", "identityType": "USER", "securityProvider": "P", "allowed": False}
    ]
    assert result.warnings


def test_add_allowed_appends_to_a_single_level_single_set_model(run):
    document = {
        "uri": "file:///one-set",
        "permissions": [
            {
                "name": "L",
                "permissionSets": [
                    {
                        "name": "A",
                        "anonymousAllowed": False,
                        "permissions": [
                            {"identity": "x", "identityType": "USER", "securityProvider": "P", "allowed": True}
                        ],
                    }
                ],
            }
        ],
    }
    result = run("document.add_allowed('y', 'group', 'P')", document)
    assert result.to_json()["document"]["permissions"] == [
        {
            "name": "L",
            "permissionSets": [
                {
                    "name": "A",
                    "anonymousAllowed": False,
                    "permissions": [
                        {"identity": "x", "identityType": "USER", "securityProvider": "P", "allowed": True},
                        {"identity": "y", "identityType": "GROUP", "securityProvider": "P", "allowed": True},
                    ],
                }
            ],
        }
    ]
    assert without_interpreter_note(result.warnings) == []


def test_permission_constructors_with_keyword_arguments(run):
    result = run(
        """
        allowed = document.Permission(identity='a@example.com', identity_type='user',
                                      security_provider='Email', additional_info={'k': 'v'})
        denied = document.Permission('d@example.com', 'virtual_group', 'Virtual')
        pset = document.PermissionSet(name='S', allow_anonymous=True,
                                      allowed_permissions=[allowed], denied_permissions=[denied])
        document.set_permissions([document.PermissionLevel(name='L', permission_sets=[pset])])
        empty = document.PermissionLevel()
        log(repr((empty.name, empty.permission_sets)))
        blank = document.PermissionSet()
        log(repr((blank.name, blank.allow_anonymous, blank.allowed_permissions, blank.denied_permissions)))
        """
    )
    assert result.status == "SUCCESS", result.reason
    assert comments(result) == ["('', [])", "('', False, [], [])"]
    assert result.to_json()["document"]["permissions"] == [
        {
            "name": "L",
            "permissionSets": [
                {
                    "name": "S",
                    "anonymousAllowed": True,
                    "permissions": [
                        {
                            "identity": "a@example.com",
                            "identityType": "USER",
                            "securityProvider": "Email",
                            "allowed": True,
                            "additionalInfo": {"k": "v"},
                        },
                        {
                            "identity": "d@example.com",
                            "identityType": "VIRTUAL_GROUP",
                            "securityProvider": "Virtual",
                            "allowed": False,
                        },
                    ],
                }
            ],
        }
    ]


@pytest.mark.parametrize(
    ("identity_type", "expected"),
    [
        ("user", "USER"),
        ("USER", "USER"),
        ("User", "USER"),
        ("group", "GROUP"),
        ("GROUP", "GROUP"),
        ("virtualgroup", "VIRTUAL_GROUP"),
        ("virtual_group", "VIRTUAL_GROUP"),
        ("VIRTUAL_GROUP", "VIRTUAL_GROUP"),
        ("VirtualGroup", "VIRTUAL_GROUP"),
        ("unknown", "UNKNOWN"),
        ("robot", "UNKNOWN"),
        ("", "UNKNOWN"),
    ],
)
def test_identity_type_normalisation(run, identity_type, expected):
    result = run(f"document.add_allowed('someone', {identity_type!r}, 'Provider')")
    assert result.status == "SUCCESS", result.reason
    (permission,) = result.to_json()["document"]["permissions"][0]["permissionSets"][0]["permissions"]
    assert permission["identityType"] == expected


def test_identity_type_that_is_not_a_string_fails_as_in_coveo(run):
    result = run("document.add_allowed('someone', None, 'Provider')")
    assert result.status == "EXECUTION_ERROR"
    assert "AttributeError: 'NoneType' object has no attribute 'lower'" in result.reason


@pytest.mark.parametrize(
    ("identity_type", "expected"), [("user", "user"), ("Virtual_Group", "virtual_group"), ("alien", "unknown")]
)
def test_identity_type_seen_by_the_script(run, identity_type, expected):
    result = run(f"log(document.Permission('x', {identity_type!r}, 'P').identity_type)")
    assert comments(result) == [expected]


def test_additional_info_only_when_given(run):
    result = run(
        """
        document.add_allowed('with', 'user', 'P', {'domain': 'fake.example', 'n': 1})
        document.add_allowed('without', 'user', 'P')
        document.add_allowed('empty', 'user', 'P', {})
        """
    )
    with_info, without, empty = result.to_json()["document"]["permissions"][0]["permissionSets"][0]["permissions"]
    assert with_info["additionalInfo"] == {"domain": "fake.example", "n": "1"}
    assert "additionalInfo" not in without
    assert "additionalInfo" not in empty


def test_permissions_json_output_shape(run):
    result = run("document.add_denied('x', 'group', 'P', {'a': 'b'})", TEST_API_DOCUMENT)
    (level,) = result.to_json()["document"]["permissions"]
    assert set(level) == {"name", "permissionSets"}
    (pset,) = level["permissionSets"]
    assert set(pset) == {"name", "anonymousAllowed", "permissions"}
    (permission,) = pset["permissions"]
    assert set(permission) == {"identity", "identityType", "securityProvider", "allowed", "additionalInfo"}
    assert permission["allowed"] is False
    assert isinstance(pset["anonymousAllowed"], bool)


# ---------------------------------------------------------------------------------------------
# Data streams
# ---------------------------------------------------------------------------------------------


def test_get_data_streams_lists_the_input_streams(run):
    result = run(
        """
        import json
        log(json.dumps([[s.name, s.origin, s.read()] for s in document.get_data_streams()]))
        """,
        TEST_API_DOCUMENT,
    )
    assert shown_one(result) == [["body_text", "crawler", "crawler text"], ["body_text", "converter", "converter text"]]


def test_get_data_stream_returns_the_newest_by_default(run):
    result = run("log(document.get_data_stream('body_text').read())", TEST_API_DOCUMENT)
    assert comments(result) == ["converter text"]


def test_get_data_stream_reverse_false_returns_the_oldest(run):
    result = run(
        "log(document.get_data_stream('body_text', reverse=False).read())", TEST_API_DOCUMENT
    )
    assert comments(result) == ["crawler text"]


@pytest.mark.parametrize(("origin", "expected"), [("crawler", "crawler text"), ("CONVERTER", "converter text")])
def test_get_data_stream_restricted_to_an_origin(run, origin, expected):
    result = run(
        f"log(document.get_data_stream('body_text', {origin!r}, True).read())",
        TEST_API_DOCUMENT,
    )
    assert comments(result) == [expected]


@pytest.mark.parametrize(
    "call",
    [
        "document.get_data_stream('body_markdown')",
        "document.get_data_stream('body_text', 'mapping')",
        "document.get_data_stream('$thumbnail$')",
    ],
)
def test_get_data_stream_absent_is_none(run, call):
    assert comments(run(f"log(repr({call}))", TEST_API_DOCUMENT)) == ["None"]


def test_get_data_stream_is_rewound_each_time(run):
    result = run(
        """
        first = document.get_data_stream('body_html').read()
        again = document.get_data_stream('body_html').read()
        log(repr((first, again)))
        """
    )
    assert comments(result) == ["('<p>Hello</p>', '<p>Hello</p>')"]


def test_body_text_and_body_html_are_text_streams(run):
    """As in Coveo: both read ``str`` (body_text decoded from UTF-16LE, body_html from UTF-8)."""
    result = run(
        """
        log(repr(document.get_data_stream('body_text').read()))
        log(repr(document.get_data_stream('body_html').readline()))
        log(repr(document.get_data_stream('body_html').readlines()))
        """
    )
    assert comments(result) == ["'Hello body'", "'<p>Hello</p>'", "['<p>Hello</p>']"]
    assert result.document.data_streams[0].content == "Hello body".encode("utf-16-le")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("body_text", "Héllo", "Héllo".encode("utf-16-le")),
        ("body_html", "<b>Héllo</b>", b"\xef\xbb\xbf" + "<b>Héllo</b>".encode("utf-8")),  # with a BOM, as in Coveo
    ],
)
def test_data_stream_write_str_is_encoded_for_its_name(run, name, text, expected):
    result = run(
        f"""
        stream = document.DataStream({name!r})
        stream.write({text!r})
        document.add_data_stream(stream)
        stream.seek(0)
        log(repr(stream.read()))
        """
    )
    assert comments(result) == [repr(text)]  # a text stream reads back str
    stream_json = result.to_json()["document"]["dataStreams"][-1]
    assert stream_json["origin"] == EXTENSION_NAME
    assert base64.b64decode(stream_json["values"][name]["inlineContent"]) == expected


def test_data_stream_write_bytes_kept_as_is(run):
    result = run(
        """
        stream = document.DataStream('documentdata')
        stream.write(b'\\x00\\x01PDF')
        stream.write(bytearray(b'!'))
        document.add_data_stream(stream)
        """
    )
    values = result.to_json()["document"]["dataStreams"][-1]["values"]
    assert base64.b64decode(values["documentdata"]["inlineContent"]) == b"\x00\x01PDF!"


def test_data_stream_writelines_read_seek_tell_flush(run):
    """A binary stream: writelines adds the missing newlines; positions are bytes."""
    result = run(
        """
        stream = document.DataStream('documentdata')
        stream.writelines([b'<p>', b'one\\n', bytearray(b'</p>')])
        log(repr(stream.tell()))
        stream.flush()
        log(repr(stream.read()))
        stream.seek(0)
        log(repr(stream.read(3)))
        log(repr(stream.tell()))
        log(repr(stream.read()))
        """
    )
    assert comments(result) == ["13", "b''", "b'<p>'", "3", "b'\\none\\n</p>\\n'"]


def test_text_data_stream_writelines_decodes_bytes_and_adds_newlines(run):
    result = run(
        """
        stream = document.DataStream('notes', binary=False)
        stream.writelines(['<p>', b'one', 'two\\n'])
        stream.seek(0)
        log(repr(stream.read()))
        document.add_data_stream(stream)
        """
    )
    assert comments(result) == [repr("<p>\none\ntwo\n")]
    assert result.document.data_streams[-1].content == b"<p>\none\ntwo\n"


def test_binary_data_stream_writelines_of_str_fails_as_in_coveo(run):
    result = run("document.DataStream('documentdata').writelines(['text'])")
    assert result.status == "EXECUTION_ERROR"
    assert "TypeError" in result.reason


def test_data_stream_clear(run):
    result = run(
        """
        stream = document.DataStream('body_html')
        stream.write('old content')
        stream.clear()
        log(repr(stream.tell()))
        stream.write('new')
        stream.seek(0)
        log(repr(stream.read()))
        document.add_data_stream(stream)
        """
    )
    assert comments(result) == ["0", "'new'"]
    values = result.to_json()["document"]["dataStreams"][-1]["values"]
    assert base64.b64decode(values["body_html"]["inlineContent"]) == b"\xef\xbb\xbfnew"


@pytest.mark.parametrize("value", ["42", "None", "['a']", "3.5"])
def test_data_stream_write_other_types_is_an_error(run, value):
    result = run(f"document.DataStream('body_text').write({value})")
    assert result.status == "EXECUTION_ERROR"
    assert "TypeError" in result.reason


def test_add_data_stream_stamps_the_extension_name_and_keeps_the_input_streams(run):
    result = run(
        """
        stream = document.DataStream('body_text')
        stream.write('rewritten')
        log(repr(stream.origin))
        document.add_data_stream(stream)
        log(stream.origin)
        newest = document.get_data_stream('body_text')
        log(newest.origin + ': ' + newest.read())
        log(document.get_data_stream('body_text', 'crawler').read())
        """
    )
    assert comments(result) == ["None", EXTENSION_NAME, EXTENSION_NAME + ": rewritten", "Hello body"]
    streams = result.to_json()["document"]["dataStreams"]
    assert streams == [
        {
            "origin": "crawler",
            "values": {
                "body_text": {
                    "inlineContent": base64.b64encode("Hello body".encode("utf-16-le")).decode(),
                    "compressionType": "UNCOMPRESSED",
                },
                "body_html": {
                    "inlineContent": base64.b64encode(b"<p>Hello</p>").decode(),
                    "compressionType": "UNCOMPRESSED",
                },
            },
        },
        {
            "origin": EXTENSION_NAME,
            "values": {
                "body_text": {
                    "inlineContent": base64.b64encode("rewritten".encode("utf-16-le")).decode(),
                    "compressionType": "UNCOMPRESSED",
                }
            },
        },
    ]


def test_add_data_stream_twice_appends_and_the_newest_wins(run):
    """Coveo appends every added stream; the newest of a name is what get_data_stream and the
    Test API's dataStreams show."""
    result = run(
        """
        one = document.DataStream('body_html')
        one.write('one')
        document.add_data_stream(one)
        two = document.DataStream('BODY_HTML')
        two.write('two')
        document.add_data_stream(two)
        document.add_data_stream(two)
        log(repr(len(document.get_data_streams())))
        """
    )
    assert comments(result) == ["5"]
    added = [s for s in result.document.data_streams if s.origin == EXTENSION_NAME]
    assert [s.name for s in added] == ["body_html", "body_html", "body_html"]
    values = result.to_json()["document"]["dataStreams"][-1]["values"]
    assert base64.b64decode(values["body_html"]["inlineContent"]) == b"\xef\xbb\xbftwo"


def test_add_data_stream_requires_a_data_stream(run):
    result = run("document.add_data_stream('text')")
    assert result.status == "EXECUTION_ERROR"
    assert "TypeError" in result.reason


def test_input_streams_are_read_only_as_in_coveo(run):
    result = run(
        """
        stream = document.get_data_stream('body_html')
        log(repr(stream.writable()))
        stream.seek(0, 2)
        stream.write('<p>more</p>')
        """
    )
    assert comments(result) == ["False"]
    assert result.status == "EXECUTION_ERROR"
    assert result.document.data_streams == harness.parse_document(DOCUMENT).data_streams


# ---------------------------------------------------------------------------------------------
# reject() and skip()
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "status"), [("reject", "REJECTED"), ("skip", "SKIPPED")])
def test_reject_and_skip_set_the_status_and_reason(run, call, status):
    result = run(f"document.{call}('not wanted here')")
    assert (result.status, result.reason) == (status, "not wanted here")
    assert result.ok


@pytest.mark.parametrize(("call", "status"), [("reject", "REJECTED"), ("skip", "SKIPPED")])
def test_reject_and_skip_without_a_reason(run, call, status):
    result = run(f"document.{call}()")
    assert (result.status, result.reason) == (status, "")


@pytest.mark.parametrize(("call", "status"), [("reject", "REJECTED"), ("skip", "SKIPPED")])
def test_reject_and_skip_stop_the_script_at_once(run, call, status):
    result = run(
        f"""
        log('before')
        def check():
            document.{call}('stop')
            log('after, in the function')
        check()
        log('after')
        """
    )
    assert result.status == status
    assert comments(result) == ["before"]


@pytest.mark.parametrize(("call", "status", "reason"), [("reject", "REJECTED", "stop"), ("skip", "SUCCESS", "")])
def test_reject_and_skip_are_caught_by_except_exception_as_in_coveo(run, call, status, reason):
    """Coveo's RejectedException and SkippedException are Exceptions: ``except Exception`` catches
    them and the script goes on; a swallowed reject still rejects, a swallowed skip does nothing."""
    result = run(
        f"""
        try:
            document.{call}('stop')
        except Exception as error:
            log('caught ' + type(error).__name__)
        log('after')
        """
    )
    assert (result.status, result.reason) == (status, reason)
    exception = {"reject": "RejectedException", "skip": "SkippedException"}[call]
    assert comments(result) == [f"caught {exception}", "after"]


@pytest.mark.parametrize(("call", "status"), [("reject", "REJECTED"), ("skip", "SUCCESS")])
def test_a_bare_except_swallowing_reject_or_skip(run, call, status):
    result = run(
        f"""
        try:
            document.{call}('stop')
        except:
            log('swallowed')
        document.add_meta_data({{'after': 'yes'}})
        """
    )
    assert result.status == status
    assert comments(result) == ["swallowed"]
    assert result.added_metadata == ({} if call == "reject" else {"after": ["yes"]})


def test_first_outcome_wins(run):
    result = run(
        """
        try:
            document.reject('first')
        except BaseException:
            pass
        document.skip('second')
        """
    )
    assert (result.status, result.reason) == ("REJECTED", "first")


_CHANGE_EVERYTHING = """
document.add_meta_data({'title': 'changed', 'added': 'x'})
document.add_allowed('intruder@example.com', 'user', 'Email')
stream = document.DataStream('body_text')
stream.write('changed body')
document.add_data_stream(stream)
log('changed everything', 'Warning')
"""


@pytest.mark.parametrize(
    ("ending", "status"),
    [
        ("document.reject('no')", "REJECTED"),
        ("document.skip('no')", "SKIPPED"),
        ("raise RuntimeError('no')", "EXECUTION_ERROR"),
        ("try:\n    document.reject('no')\nexcept:\n    pass", "REJECTED"),
    ],
)
def test_changes_are_discarded_unless_success_but_logs_are_kept(run, ending, status):
    result = run(_CHANGE_EVERYTHING + ending, TEST_API_DOCUMENT)
    assert result.status == status
    assert result.document == harness.parse_document(TEST_API_DOCUMENT)
    assert result.changes == [] and result.added_metadata == {}
    assert [(e.comment, e.severity) for e in result.logs] == [("changed everything", "WARNING")]
    out = result.to_json()
    assert out["document"]["permissions"] == PERMISSIONS
    assert [m["origin"] for m in out["document"]["metadata"]] == ["crawler", "converter"]
    assert [s["origin"] for s in out["document"]["dataStreams"]] == ["crawler", "converter"]
    assert out["logs"][0]["comment"] == "changed everything"


def test_the_same_changes_are_kept_on_success(run):
    result = run(_CHANGE_EVERYTHING, TEST_API_DOCUMENT)
    assert result.status == "SUCCESS"
    assert result.added_metadata == {"title": ["changed"], "added": ["x"]}
    assert result.document != harness.parse_document(TEST_API_DOCUMENT)
    assert [s.origin for s in result.document.data_streams] == ["crawler", "converter", EXTENSION_NAME]


# ---------------------------------------------------------------------------------------------
# Fresh globals per document
# ---------------------------------------------------------------------------------------------

_STATEFUL_SCRIPT = """
import json
log(json.dumps({
    'seen_global': 'counter' in globals(),
    'parameters': parameters,
    'vault_keys': sorted(vault_parameters),
    'name': __name__,
}))
counter = 1
parameters['injected'] = 'by the script'
parameters.pop('mode', None)
vault_parameters['extra'] = 'FAKE-extra-value'
vault_parameters.pop('fake_api_key')
"""


def test_each_run_gets_fresh_globals_parameters_and_vault(tmp_path):
    folder = make_extension(tmp_path, _STATEFUL_SCRIPT, parameters={"mode": "fast"})
    runner = harness.Runner(folder, vault=FAKE_VAULT)
    first, second = runner.run(DOCUMENT), runner.run(DOCUMENT)
    assert first.status == second.status == "SUCCESS", (first.reason, second.reason)
    expected = {
        "seen_global": False,
        "parameters": {"mode": "fast"},
        "vault_keys": ["fake_api_key", "fake_password"],
        "name": "__main__",
    }
    assert json.loads(first.logs[0].comment) == expected
    assert json.loads(second.logs[0].comment) == expected


def test_runs_do_not_share_the_document(tmp_path):
    folder = make_extension(
        tmp_path,
        """
        import json
        log(json.dumps(document.get_meta_data_value('run')))
        document.add_meta_data({'run': 'done'})
        document.clear_permissions()
        """,
    )
    runner = harness.Runner(folder, vault=FAKE_VAULT)
    results = [runner.run(TEST_API_DOCUMENT) for _ in range(2)]
    assert [r.logs[0].comment for r in results] == ["[]", "[]"]
    assert all(r.added_metadata == {"run": ["done"]} for r in results)


def test_name_is_main(run):
    assert comments(run("log(__name__)\nif __name__ == '__main__':\n    log('main block ran')")) == [
        "__main__",
        "main block ran",
    ]


def test_globals_are_exactly_the_coveo_ones(run):
    result = run(
        """
        import json
        log(json.dumps({
            'parameters': type(parameters).__name__,
            'vault_parameters': isinstance(vault_parameters, dict),
            'document_log': log == document.log,
        }))
        """
    )
    assert shown_one(result) == {"parameters": "dict", "vault_parameters": True, "document_log": True}
