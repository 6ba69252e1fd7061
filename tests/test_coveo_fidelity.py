"""Scripts pass or fail here exactly as in Coveo's own Python 3 runner (issue 10).

The first part runs ``tests/fidelity/``: small extensions written in the style of real public
scripts, through ``ipe run --json``, :func:`harness.run_extension` and the pytest fixtures.
The rest covers each point of Coveo's behaviour the harness follows: the Test API's document
and response shapes, the manifest, the ``.env`` file, Python 3.10 and the allowed packages.
"""

from __future__ import annotations

import base64
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import harness
from harness.cli import main
from harness.python310 import INTERPRETER_WARNING_PREFIX

FIDELITY = Path(__file__).resolve().parent / "fidelity"
ON_310 = sys.version_info[:2] == (3, 10)


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    """``ipe run ... --json``: its exit code and its parsed output."""
    code = main(["run", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def fidelity(name: str) -> Path:
    return FIDELITY / name


def document_of(name: str) -> Path:
    return next((FIDELITY / name / "documents").glob("*.json"))


def extension(root: Path, script: str, manifest: dict[str, Any] | None = None, name: str = "ext") -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "extension.py").write_text(textwrap.dedent(script).lstrip("\n"), encoding="utf-8")
    data = {"name": name, "requiredDataStreams": [], "useVault": False, **(manifest or {})}
    (folder / "extension.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def warnings_of(result: harness.ExtensionResult) -> list[str]:
    return [w for w in result.warnings if not w.startswith(INTERPRETER_WARNING_PREFIX)]


# -- real-world style scripts, through ipe run --json --------------------------------------------


def test_quickview_rewrite_with_re_sub_on_body_html(capsys):
    code, data = run_json(capsys, str(fidelity("quickview_cleanup")))
    assert code == 0
    assert data["result"] == {"status": "SUCCESS", "reason": ""}
    written = data["document"]["dataStreams"][-1]
    assert written["origin"] == "quickview_cleanup"
    html = base64.b64decode(written["values"]["body_html"]["inlineContent"])
    assert html == b'\xef\xbb\xbf<div id="viewer" style="height:auto"><p style="">Hidden</p></div>'


def test_body_text_word_count(capsys):
    code, data = run_json(capsys, str(fidelity("word_count")))
    assert code == 0
    assert data["document"]["metadata"][-1] == {"origin": "word_count", "values": {"wordcount": [5]}}
    assert [entry["comment"] for entry in data["logs"]] == ["counted 5 words"]


def test_documentdata_parser_reads_bytes():
    result = harness.run_extension(fidelity("documentdata_parser"), document_of("documentdata_parser"), vault={})
    assert result.status == "SUCCESS", result.reason
    assert result.added_metadata == {"sheetsku": ["AC-1001"], "sheetbrand": ["Acme"]}
    assert json.loads(result.logs[0].comment) == {"bytes": 51, "type": "bytes"}


def test_python2_print_statement_is_a_syntax_error_naming_the_line(capsys):
    code, data = run_json(capsys, str(fidelity("py2_print")))
    assert code == 1
    assert data["result"]["status"] == "EXECUTION_ERROR"
    reason = data["result"]["reason"]
    assert reason.startswith("Coveo::PythonScriptException: ")
    assert 'File "extension.py", line 2' in reason and "SyntaxError" in reason


def test_python2_iteritems_fails_as_in_coveo():
    result = harness.run_extension(fidelity("py2_iteritems"), document_of("py2_iteritems"), vault={})
    assert result.status == "EXECUTION_ERROR"
    assert result.reason.endswith("AttributeError: 'dict' object has no attribute 'iteritems'\n")
    assert '  File "extension.py", line 2, in <module>\n' in result.reason


def test_python2_urlparse_fails_and_is_named_in_a_warning():
    result = harness.run_extension(fidelity("py2_urlparse"), document_of("py2_urlparse"), vault={})
    assert result.status == "EXECUTION_ERROR"
    assert "ModuleNotFoundError: No module named 'urlparse'" in result.reason
    assert any(w.startswith("line 1: import 'urlparse'") for w in result.warnings)


def test_a_script_swallowing_reject_is_rejected_and_keeps_running(capsys):
    code, data = run_json(capsys, str(fidelity("swallowed_reject")))
    assert code == 0
    assert data["result"] == {"status": "REJECTED", "reason": "no price"}
    assert [(e["severity"], e["comment"]) for e in data["logs"]] == [
        ("ERROR", "error while processing: no price"),
        ("NORMAL", "done"),
    ]
    assert len(data["document"]["metadata"]) == 1  # a rejected item keeps nothing the script added


def test_document_api_v1_latest_and_legacy():
    result = harness.run_extension(fidelity("document_api_v1"), document_of("document_api_v1"), vault={})
    assert result.status == "SUCCESS", result.reason
    assert result.added_metadata == {"titleupper": ["ANVIL"], "fromlegacy": ["yes"]}
    assert [(e.severity, e.comment) for e in result.logs] == [("DEBUG", "legacy log call")]


def test_json_dumps_of_a_datetime_gives_epoch_seconds(capsys):
    code, data = run_json(capsys, str(fidelity("json_datetime")))
    assert code == 0
    logged = json.loads(data["logs"][0]["comment"])
    assert logged == {"title": "Anvil", "indexed": 1704164645, "day": 1704153600, "tags": "{'heavy'}"}
    added = data["document"]["metadata"][-1]["values"]
    assert added["indexeddate"] == [1704164645]  # add_meta_data keeps the datetime; the encoder makes it seconds
    assert json.loads(added["summary"][0]) == logged


def test_json_encoder_is_put_back_after_the_run():
    import datetime

    harness.run_extension(fidelity("json_datetime"), document_of("json_datetime"), vault={})
    assert json.JSONEncoder.__module__ == "json.encoder"
    with pytest.raises(TypeError):
        json.dumps(datetime.datetime(2024, 1, 2))


def test_metadata_value_passed_as_a_name_fails_as_in_coveo():
    result = harness.run_extension(fidelity("metadata_value_name"), document_of("metadata_value_name"), vault={})
    assert result.status == "EXECUTION_ERROR"
    assert result.reason.endswith("AttributeError: 'MetaDataValue' object has no attribute 'lower'\n")


def test_the_fidelity_suite_through_the_pytest_fixtures(pytester: pytest.Pytester):
    pytester.makepyfile(
        test_fidelity=f"""
        FIDELITY = {str(FIDELITY)!r}

        def test_quickview(ipe):
            result = ipe.run(FIDELITY + "/quickview_cleanup", FIDELITY + "/quickview_cleanup/documents/page.json")
            result.assert_status("SUCCESS")
            assert result.stream("BODY_HTML").decode("utf-8-sig").startswith('<div id="viewer" style="height:auto">')

        def test_swallowed_reject(ipe):
            result = ipe.run(FIDELITY + "/swallowed_reject", FIDELITY + "/swallowed_reject/documents/item.json")
            result.assert_status("REJECTED")
            assert result.log_texts == ["error while processing: no price", "done"]

        def test_word_count_of_a_made_document(ipe, make_document):
            document = make_document(data_streams={{"BODY_TEXT": "one two three"}})
            assert ipe.run(FIDELITY + "/word_count", document).metadata("wordcount") == [3]
        """
    )
    pytester.runpytest("-q", "-p", "no:cacheprovider").assert_outcomes(passed=3)


# -- the document API of Coveo's runner ----------------------------------------------------------


def test_swallowed_skip_goes_on_and_an_unswallowed_skip_is_success_in_the_test_api_json(tmp_path):
    swallowed = extension(
        tmp_path, "try:\n    document.skip('x')\nexcept Exception:\n    pass\ndocument.add_meta_data({'a': 1})\n"
    )
    result = harness.run_extension(swallowed, {"uri": "u"}, vault={})
    assert (result.status, result.added_metadata) == ("SUCCESS", {"a": [1]})
    skipped = extension(tmp_path, "document.add_meta_data({'a': 1})\ndocument.skip('nothing to do')\n", name="skip")
    result = harness.run_extension(skipped, {"uri": "u"}, vault={})
    assert (result.status, result.reason) == ("SKIPPED", "nothing to do")
    data = result.to_json()
    assert data["result"] == {"status": "SUCCESS", "reason": ""}  # Coveo's status enum has no SKIPPED
    assert (data["harness"]["status"], data["harness"]["skipReason"]) == ("SKIPPED", "nothing to do")
    assert data["document"]["metadata"] == []  # the item is unchanged


def test_streams_read_as_coveo_reads_them(tmp_path):
    folder = extension(
        tmp_path,
        """
        import json
        text = document.get_data_stream('body_text')
        html = document.get_data_stream('BODY_HTML')
        data = document.get_data_stream('documentdata')
        log(json.dumps([text.read(), html.readlines(), repr(data.read()), text.name, html.origin]))
        """,
        {"requiredDataStreams": ["BODY_TEXT", "BODY_HTML", "DOCUMENT_DATA"]},
    )
    bom_html = base64.b64encode(b"\xef\xbb\xbf<p>a</p>\r\n<p>b</p>").decode()
    bad_utf16 = base64.b64encode("héllo".encode("utf-16-le") + b"\x00").decode()
    document = {
        "document": {
            "id": "u",
            "dataStreams": [
                {
                    "Origin": "Crawler",
                    "Values": {
                        "BODY_TEXT": {"inlineContent": bad_utf16},
                        "BODY_HTML": {"InlineContent": bom_html},
                        "DOCUMENT_DATA": {"inlineContent": base64.b64encode(b"%PDF").decode()},
                    },
                }
            ],
        }
    }
    result = harness.run_extension(folder, document, vault={})
    assert result.status == "SUCCESS", result.reason
    # UTF-16LE and UTF-8 with its BOM dropped, errors ignored, newlines read as \n; names and origins lower-cased
    assert json.loads(result.logs[0].comment) == ["héllo", ["<p>a</p>\n", "<p>b</p>"], "b'%PDF'", "body_text", "crawler"]


def test_undeclared_stream_is_none_with_a_warning_naming_the_manifest_value(tmp_path):
    folder = extension(tmp_path, "log(repr(document.get_data_stream('body_html')))\n")
    result = harness.run_extension(folder, {"uri": "u", "dataStreams": {"body_html": "<p>x</p>"}}, vault={})
    assert result.log_texts == ["None"]
    assert warnings_of(result) == [
        "the script asked for data stream 'body_html', which the item has but Coveo does not send to this "
        'extension (it got None): add "BODY_HTML" to "requiredDataStreams" in extension.json'
    ]
    assert result.document.data_streams[0].name == "body_html"  # the item keeps it


# -- Test API documents as Coveo takes them --------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "name"),
    [("BODY_TEXT", "body_text"), ("THUMBNAIL", "$thumbnail$"), ("DOCUMENT_DATA", "documentdata"),
     ("BODY_MARKDOWN", "body_markdown"), ("body_html", "body_html"), ("$thumbnail$", "$thumbnail$")],
)
def test_stream_keys_of_the_test_api(key, name):
    data = harness.parse_document({"document": {"id": "u", "dataStreams": [{"origin": "o", "values": {key: {"inlineContent": ""}}}]}})
    assert [s.name for s in data.data_streams] == [name]


def test_a_stream_given_by_id_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({"document": {"id": "u", "dataStreams": [
        {"origin": "o", "values": {"BODY_TEXT": {"id": "47ce8655-3d0e-43d8-a997-f85fc5ab9e95", "compressionType": "UNCOMPRESSED"}}}
    ]}}), encoding="utf-8")
    folder = extension(tmp_path, "pass\n")
    assert main(["run", str(folder), "--document", str(path)]) == 2
    err = capsys.readouterr().err
    assert "$.document.dataStreams[0].values.BODY_TEXT.id" in err
    assert "cannot be fetched locally" in err and "inline" in err
    assert "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("document", "key", "suggestion"),
    [
        ({"uri": "u", "metdata": {}}, "metdata", "metadata"),
        ({"document": {"id": "u", "dataStreams": [{"origin": "o", "values": {"BODY_TEXT": {"inlineContent": "", "compression": "GZIP"}}}]}},
         "compression", "compressionType"),
        ({"document": {"id": "u", "metadata": [{"origin": "o", "valeus": {}}]}}, "valeus", "values"),
    ],
)
def test_unknown_document_keys_are_errors_naming_the_closest_key(document, key, suggestion):
    with pytest.raises(harness.HarnessError) as error:
        harness.parse_document(document, "doc.json")
    assert f"unknown key (did you mean {suggestion!r}?)" in str(error.value)
    assert key in str(error.value)


def test_keys_in_another_case_are_read(tmp_path):
    data = harness.parse_document({"Document": {"Id": "u", "Metadata": [{"Origin": "Crawler", "Values": {"Title": ["T"]}}]}})
    assert data.uri == "u"
    assert data.metadata == (("Crawler", {"title": ["T"]}),)


# -- Test API responses ----------------------------------------------------------------------------


def test_durations_are_seconds_and_data_stream_uris_present(tmp_path):
    folder = extension(tmp_path, "import time\nlog('a')\ntime.sleep(0.05)\nlog('b')\n")
    result = harness.run_extension(folder, {"uri": "u"}, vault={})
    data = result.to_json()
    assert data["dataStreamUris"] == []
    assert 0.05 <= data["duration"] < 60  # seconds, not milliseconds
    first, second = data["logs"]
    assert first["duration"] < 0.05 <= second["duration"] <= data["duration"]


def test_execution_error_reason_names_the_script_after_the_extension_id(tmp_path):
    folder = extension(tmp_path, "title = document.get_meta_data_value('title')\nlog(docment.uri)\n",
                       {"id": "mycoveocloudv2organizationg8tp8wu3-vwlyqfbtjkotxqkmrxqjcbcpoy"})
    result = harness.run_extension(folder, {"uri": "u"}, vault={})
    assert result.reason.startswith(
        "Coveo::PythonScriptException: Traceback (most recent call last):\n"
        '  File "mycoveocloudv2organizationg8tp8wu3--vwlyqfbtjkotxqkmrxqjcbcpoy", line 2, in <module>\n'
        "NameError: name 'docment' is not defined"  # Python 3.10's traceback adds "Did you mean: 'document'?"
    )
    assert result.reason.endswith("\n") and result.reason.count("\n") == 3


# -- the manifest and the local vault -----------------------------------------------------------


def test_use_vault_false_gives_an_empty_vault_with_a_warning(tmp_path):
    folder = extension(tmp_path, "log(repr(vault_parameters.get('api_key')))\nvault_parameters['api_key']\n")
    result = harness.run_extension(folder, {"uri": "u"}, vault={"api_key": "FAKE-not-a-secret"})
    assert result.status == "EXECUTION_ERROR" and "KeyError: 'api_key'" in result.reason
    assert result.log_texts == ["None"]
    assert warnings_of(result) == [
        "the script read vault_parameters['api_key'], but extension.json says \"useVault\": false, so Coveo "
        'gives it an empty vault_parameters: set "useVault": true'
    ]


def test_unknown_manifest_key_is_an_error_naming_the_closest(tmp_path, capsys):
    folder = extension(tmp_path, "pass\n", {"apiVersoin": "v1"})
    assert main(["run", str(folder), "--document", str(document_of("word_count"))]) == 2
    err = capsys.readouterr().err
    assert "extension.json" in err and "apiVersoin" in err and "did you mean 'apiVersion'?" in err


def test_a_bad_env_line_is_an_error_naming_the_file_and_line(tmp_path, capsys):
    (tmp_path / ".env").write_text("VAULT_token=FAKE-value\nthis is not a setting\n", encoding="utf-8")
    folder = extension(tmp_path, "pass\n")
    assert main(["run", str(folder), "--document", str(document_of("word_count"))]) == 2
    err = capsys.readouterr().err
    assert ".env: line 2: not a KEY=value line" in err
    assert "FAKE-value" not in err and "this is not" not in err


# -- Coveo's Python 3.10 and packages -------------------------------------------------------------


def test_311_syntax_is_an_execution_error_naming_the_line(tmp_path):
    script = "log('ok')\ntry:\n    pass\nexcept* ValueError: pass\n"
    result = harness.run_extension(extension(tmp_path, script), {"uri": "u"}, vault={})
    assert result.status == "EXECUTION_ERROR"
    assert 'File "extension.py", line 4' in result.reason and "SyntaxError" in result.reason
    assert result.logs == []


def test_stdlib_names_missing_in_310(tmp_path):
    script = "import datetime\nfrom enum import StrEnum\nlog(str(datetime.UTC))\n"
    result = harness.run_extension(extension(tmp_path, script), {"uri": "u"}, vault={})
    if ON_310:  # fails as in Coveo
        assert result.status == "EXECUTION_ERROR" and "ImportError" in result.reason
    else:
        assert result.status == "SUCCESS"
        assert warnings_of(result) == [
            "line 2: enum.StrEnum is new in Python 3.11: Coveo runs 3.10, where the script fails",
            "line 3: datetime.UTC is new in Python 3.11: Coveo runs 3.10, where the script fails",
        ]


def test_every_run_says_when_the_interpreter_is_not_310(tmp_path):
    result = harness.run_extension(extension(tmp_path, "pass\n"), {"uri": "u"}, vault={})
    noted = [w for w in result.warnings if w.startswith(INTERPRETER_WARNING_PREFIX)]
    assert noted == ([] if ON_310 else [noted[0]])
    if not ON_310:
        assert "Coveo runs 3.10" in noted[0]


@pytest.mark.parametrize("module", ["jinja2", "rich", "yaml", "requests_mock", "vcr"])
def test_importing_a_package_coveo_lacks_is_a_warning_naming_the_line(tmp_path, module):
    result = harness.run_extension(extension(tmp_path, f"import json\nimport {module}\n"), {"uri": "u"}, vault={})
    assert result.status == "SUCCESS"  # importable here: the harness depends on it
    (warning,) = warnings_of(result)
    assert warning.startswith(f"line 2: import {module!r}: not a package Coveo offers scripts")


def test_allowed_packages_and_the_type_checking_import_give_no_warning(tmp_path):
    script = (
        "from typing import TYPE_CHECKING\nimport requests\nfrom bs4 import BeautifulSoup\n"
        "if TYPE_CHECKING:\n    from harness.ipe_globals import document\n"
    )
    from harness.python310 import static_warnings

    assert static_warnings(script, tmp_path / "extension.py", packages=["requests", "bs4"]) == []


def test_allowed_packages_are_overridden_in_pyproject_and_ipe_check_reports_imports(tmp_path, capsys):
    project = tmp_path / "project"
    (project / "extensions").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.ipe]\nallowed-packages = ["yaml"]\n', encoding="utf-8")
    folder = extension(project / "extensions", "import yaml\nimport rich\n")
    (folder / "documents").mkdir()
    (folder / "documents" / "one.json").write_text('{"uri": "u"}', encoding="utf-8")
    assert main(["check", str(folder), "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert len(report["python"]) == 1
    assert report["python"][0].startswith("line 2: import 'rich'") and "pyproject.toml" in report["python"][0]


def test_json_dumps_of_document_objects_gives_coveos_json_form(tmp_path):
    script = """
        import datetime, json
        document.add_meta_data({'when': datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=5)))})
        log(json.dumps(document))
        log(json.dumps(document.get_meta_data()[0]))
        log(repr(document.get_meta_data_value('when')[0].year))
    """
    folder = extension(tmp_path, script, {"requiredDataStreams": ["BODY_TEXT"]})
    document = {"uri": "u", "metadata": {"Crawler": {"Title": "T"}}, "dataStreams": {"body_text": "x"},
                "permissions": [{"name": "L", "permissionSets": [{"permissions": [{"identity": "a", "identityType": "USER"}]}]}]}
    result = harness.run_extension(folder, document, vault={})
    assert result.status == "SUCCESS", result.reason
    whole, first, year = result.log_texts
    assert json.loads(whole) == {
        "URI": "u",
        "MetaData": [{"Origin": "crawler", "Values": {"title": ["T"]}}, {"Origin": "ext", "Values": {"when": [1704067200]}}],
        "DataStreams": [{"Origin": "crawler", "Name": "body_text"}],
        "Permissions": [{"Name": "L", "PermissionSets": [{"Name": "", "AllowAnonymous": False, "AllowedPermissions": [
            {"Identity": "a", "IdentityType": "user", "SecurityProvider": "", "AdditionalInfo": {}}], "DeniedPermissions": []}]}],
    }
    assert json.loads(first) == {"Origin": "crawler", "Values": {"title": ["T"]}}
    assert year == "2024"  # the script reads back the datetime it added; only the result encodes it
    assert result.added_metadata == {"when": [1704067200]}  # wall-clock seconds: the offset cancels out


def test_a_script_without_a_manifest_sees_every_stream(tmp_path):
    script = tmp_path / "alone.py"
    script.write_text("log(document.get_data_stream('body_html').read())\n", encoding="utf-8")
    result = harness.run_extension(script, {"uri": "u", "dataStreams": {"body_html": "<p>x</p>"}}, vault={})
    assert result.log_texts == ["<p>x</p>"]


def test_a_missing_vault_key_is_a_keyerror_as_in_coveo(tmp_path):
    folder = extension(tmp_path, "token = vault_parameters['crm_key']\n", {"useVault": True})
    result = harness.run_extension(folder, {"uri": "u"}, vault={})
    last = result.reason.rstrip().splitlines()[-1]
    assert last.startswith("KeyError: vault key 'crm_key' is not defined"), last  # not harness.vault.VaultKeyError
    caught = harness.run_extension(
        extension(tmp_path, "try:\n    vault_parameters['crm_key']\nexcept KeyError:\n    log('no key')\n",
                  {"useVault": True}, name="catcher"),
        {"uri": "u"}, vault={})
    assert caught.status == "SUCCESS" and caught.log_texts == ["no key"]
