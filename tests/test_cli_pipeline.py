"""``ipe pipeline``: the terminal report, --json, --explain, --documents and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main

from .conftest import EXTENSIONS, ROOT

SOURCE = ROOT / "sources" / "intranet.json"
POLICY = EXTENSIONS / "classify_documents" / "documents" / "travel_policy.json"
FORM = EXTENSIONS / "classify_documents" / "documents" / "expense_form.json"
BAD_REVISION = EXTENSIONS / "parse_revision" / "documents" / "remote_work_policy.json"
HANDBOOK = EXTENSIONS / "policy_audience" / "documents" / "employee_handbook.json"


def ipe(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["pipeline", str(SOURCE), "--extensions", str(EXTENSIONS), *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_one_line_a_step_then_the_changes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = ipe(capsys, "-d", POLICY)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].endswith("travel_policy.json: SUCCESS")
    steps = [line.split() for line in lines[2:5]]
    assert steps == [
        ["1", "pre", "classify_documents", "always", "SUCCESS", "applied"],
        ["2", "pre", "parse_revision", "true", "SUCCESS", "applied"],
        ["3", "post", "policy_audience", "true", "SUCCESS", "applied"],
    ]
    assert "  changes against the input:" in lines
    assert "    + audience: ['department:finance']  (policy_audience)" in lines
    assert "    ~ filetype: ['.PDF'] -> ['pdf']  (classify_documents)" in lines
    assert all(len(line) <= 80 for line in lines)


def test_a_skipped_error_exits_1_and_says_what_was_discarded(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = ipe(capsys, "-d", BAD_REVISION)
    assert code == 1
    assert ["2", "pre", "parse_revision", "true", "EXECUTION_ERROR", "discarded"] in [line.split() for line in out.splitlines()]
    assert "SKIP_EXTENSION: ValueError: invalid literal for int()" in out
    assert "revisionmajor" not in out


def test_json_has_source_result_document_and_steps(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = ipe(capsys, "--json", "-d", HANDBOOK, "-d", FORM)
    assert code == 0
    handbook, form = json.loads(out)
    assert handbook["source"].endswith("employee_handbook.json")
    assert handbook["result"]["status"] == "REJECTED"
    assert handbook["result"]["reason"].startswith("no owning department")
    assert [(s["extension"], s["ran"], s["status"], s["outcome"]) for s in handbook["steps"]] == [
        ("classify_documents", True, "SUCCESS", "applied"),
        ("parse_revision", False, None, "not-run"),
        ("policy_audience", True, "REJECTED", "rejected"),
    ]
    assert [s["stage"] for s in form["steps"]] == ["PRE_CONVERSION", "PRE_CONVERSION", "POST_CONVERSION"]
    assert form["steps"][1]["condition"] == "%[revision] AND NOT %[doctype] == 'form'"
    assert form["steps"][1]["actionOnError"] == "SKIP_EXTENSION"
    assert form["document"]["metadata"][-1] == {"origin": "classify_documents",
                                               "values": {"doctype": ["form"], "filetype": ["docx"]}}


def test_explain_shows_each_sub_expression(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = ipe(capsys, "--explain", "-d", FORM)
    assert code == 0
    lines = [line.strip() for line in out.splitlines()]
    start = lines.index("condition: %[revision] AND NOT %[doctype] == 'form'")
    assert lines[start + 1:start + 5] == [
        "false %[revision] AND NOT %[doctype] == 'form'",
        "true    %[revision]   revision: ['1.0']",
        "false   NOT %[doctype] == 'form'",
        "true      %[doctype] == 'form'   doctype: ['form']",
    ]


def test_without_documents_every_involved_extensions_documents_run(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = ipe(capsys)
    assert code == 1  # parse_revision on remote_work_policy.json (skipped), policy_audience on brand_guide.json
    assert "6 documents: 4 SUCCESS, 2 REJECTED; 2 step error(s); 0 leak(s)" in out
    assert all(len(line) <= 80 for line in out.splitlines())


def test_documents_folder_and_jsonl(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for path in (POLICY, FORM):
        (folder / path.name).write_text(path.read_text())
    (folder / "travel_policy.expected.json").write_text("{}")  # a golden file, not a document
    code, out, _ = ipe(capsys, "--json", "--documents", folder)
    assert code == 0 and [d["source"].rsplit("/", 1)[-1] for d in json.loads(out)] == ["expense_form.json", "travel_policy.json"]
    jsonl = tmp_path / "batch.jsonl"
    jsonl.write_text(POLICY.read_text().replace("\n", "") + "\n\n" + json.dumps(json.loads(FORM.read_text())) + "\n")
    code, out, _ = ipe(capsys, "--json", "--documents", jsonl)
    assert code == 0 and [d["source"].rsplit("/", 1)[-1] for d in json.loads(out)] == ["batch.jsonl:1", "batch.jsonl:3"]


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_an_unmatched_extension_id_exits_2_listing_what_was_found(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = write(tmp_path / "source.json", {"postConversionExtensions": [{"extensionId": "acme-nope"}]})
    code = main(["pipeline", str(source), "--extensions", str(EXTENSIONS)])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1
    assert "$.postConversionExtensions[0].extensionId: no extension under" in err
    assert "'acme-nope'" in err and "classify_documents (id acmeintranet-classify-documents)" in err


@pytest.mark.parametrize(("content", "message"), [
    ("{", "malformed JSON at line 1"),
    ({"preConversionExtensions": [{"extensionId": "a", "condition": "%[a] == 'x' OR 'y'"}]},
     "$.preConversionExtensions[0].condition: column 16:"),
    ({"preConversionExtensions": [{"extensionId": "a", "actionOnError": "RETRY"}]},
     "$.preConversionExtensions[0].actionOnError: expected SKIP_EXTENSION or REJECT_DOCUMENT"),
])
def test_a_bad_source_exits_2_with_the_place(capsys: pytest.CaptureFixture[str], tmp_path: Path, content: Any, message: str) -> None:
    source = write(tmp_path / "source.json", content)
    code = main(["pipeline", str(source), "--extensions", str(EXTENSIONS)])
    _, err = capsys.readouterr()
    assert code == 2 and message in err and "Traceback" not in err


def test_a_leak_exits_3(capsys: pytest.CaptureFixture[str], make_extension: Any, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    make_extension('document.add_meta_data({"token": vault_parameters["api_token"]})', name="leaky",
                   manifest={"id": "org-leaky"}, documents={"a.json": {"uri": "https://x.example/a"}})
    monkeypatch.setenv("VAULT_api_token", "fake-token-abcdef123456")
    source = write(tmp_path / "source.json", {"preConversionExtensions": [{"extensionId": "org-leaky"}]})
    code = main(["pipeline", str(source), "--extensions", str(tmp_path)])
    out, _ = capsys.readouterr()
    assert code == 3
    assert "leak: api_token" in out
    assert "fake-token-abcdef123456" not in out


def test_explain_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = ipe(capsys, "--json", "--explain", "-d", FORM)
    assert code == 0
    explanation = json.loads(out)["steps"][1]["explanation"]
    assert explanation[1] == {"depth": 1, "expression": "%[revision]", "value": True,
                              "metadata": "revision", "values": ["1.0"]}
    assert explanation[0] == {"depth": 0, "expression": "%[revision] AND NOT %[doctype] == 'form'", "value": False}


@pytest.mark.parametrize(("name", "content", "message"), [
    ("batch.jsonl", '{"uri": "https://x.example/a"}\n{oops\n', "batch.jsonl:2: malformed JSON at column 2"),
    ("batch.jsonl", '["not a document"]\n', "batch.jsonl:1: $: expected a document object"),
    ("batch.txt", "x", "batch.txt: malformed JSON at line 1 column 1"),  # any other file is one document
    ("empty.jsonl", "\n", "empty.jsonl: no document in this batch"),
])
def test_bad_documents_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, content: str,
                              message: str) -> None:
    code, _, err = ipe(capsys, "--documents", write(tmp_path / name, content))
    assert code == 2 and message in err


def test_a_missing_extensions_folder_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["pipeline", str(SOURCE), "--extensions", str(tmp_path / "nowhere")])
    assert code == 2 and "no such extensions folder" in capsys.readouterr().err
