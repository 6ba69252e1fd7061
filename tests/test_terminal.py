"""Terminal output that fits 80 columns: ``ipe run`` (per document and --quiet), ``ipe check``,
permission changes, paths relative to the extension, and trimmed tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main

LONG = "L" * 150

SCRIPT = f"""
import requests
title = document.get_meta_data_value("title")[0]
log("a long log line: " + {LONG!r})
print("printed: " + {LONG!r})
document.add_meta_data({{"title": title.upper(), {"k" * 60!r}: [{LONG!r}, 1, 2]}})
stream = document.DataStream("body_html")
stream.write("<p>" + {LONG!r} + "</p>")
document.add_data_stream(stream)
if title.startswith("NET"):
    requests.get("http://127.0.0.1:9/" + {LONG!r}, timeout=2)
if title.startswith("PERM"):
    document.clear_permissions()
    document.add_allowed({"someone." * 8 + "@example.com"!r}, "User", "Email Security Provider")
"""


def doc(title: str) -> dict[str, object]:
    permissions = [{"name": "Share", "permissionSets": [{"name": "ACL", "permissions": [
        {"identity": "ACME\\Everyone", "identityType": "GROUP", "securityProvider": "AD", "allowed": True}]}]}]
    return {"uri": f"https://example.com/{title}", "metadata": {"crawler": {"title": title}}, "permissions": permissions}


@pytest.fixture
def extension(make_extension, monkeypatch) -> Path:
    monkeypatch.setenv("COLUMNS", "80")
    documents = {f"{'deeply-nested-name-' * 4}{i}.json": doc(t) for i, t in enumerate(["a" + LONG, "NET", "PERM"])}
    return make_extension(SCRIPT, name="wide_" + "x" * 40, documents=documents)


def lines_over(text: str, width: int = 80) -> list[str]:
    return [line for line in text.splitlines() if len(line) > width]


def test_run_output_fits_80_columns_and_json_keeps_the_full_values(extension, capsys):
    assert main(["run", str(extension)]) == 1
    out = capsys.readouterr().out
    assert out and lines_over(out) == []
    assert "…" in out  # long values were cut, not wrapped
    assert str(extension.parent) not in out  # paths are relative to the extension
    assert "  data stream body_html added" in out
    assert "3 documents: 1 EXECUTION_ERROR, 2 SUCCESS" in out
    assert main(["run", str(extension), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data[0]["logs"][0]["comment"] == "a long log line: " + LONG  # --json: the whole value


def test_quiet_summary_fits_80_columns(extension, capsys):
    assert main(["run", str(extension), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert lines_over(out) == []
    assert out.startswith("3 documents: ") and "slowest" in out and "warnings" in out
    assert "a long log line" not in out  # no per-document block


def test_permission_changes_are_shown_like_metadata_changes(extension, capsys):
    main(["run", str(extension), "-d", str(next(extension.glob("documents/*2.json")))])
    out = capsys.readouterr().out
    block = out[out.index("  permissions"):]
    assert "    Share / ACL\n      - allowed GROUP ACME\\Everyone (AD)" in block
    assert "      + allowed USER someone." in block


def test_tracebacks_hide_library_frames_unless_asked(extension, capsys):
    document = str(next(extension.glob("documents/*1.json")))
    assert main(["run", str(extension), "-d", document]) == 1
    short = capsys.readouterr().out
    assert 'File "extension.py", line 10' in short
    assert "frames of requests/urllib3/vcr/harness hidden (--full-traceback)" in short
    assert "site-packages" not in short and lines_over(short) == []
    assert "http/client.py" not in short  # the standard library urllib3 called goes with it
    assert main(["run", str(extension), "-d", document, "--full-traceback"]) == 1
    full = capsys.readouterr().out
    assert "urllib3" in full and "hidden" not in full and lines_over(full) == []
    assert main(["run", str(extension), "-d", document, "--json"]) == 1
    assert "site-packages" in json.loads(capsys.readouterr().out)["result"]["reason"]


def test_standard_library_frames_the_script_called_itself_stay(make_extension, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "400")  # whatever the length of the path to the standard library
    folder = make_extension('import json\njson.loads("{broken")\n', documents={"a.json": {"uri": "https://example.com/a"}})
    assert main(["run", str(folder)]) == 1
    out = capsys.readouterr().out
    assert 'File "extension.py", line 2' in out and "json/decoder.py" in out and "hidden" not in out


CHECK_SCRIPT = """
if document.uri != "https://example.com/2":
    log("key is " + vault_parameters["api_key"])
print(vault_parameters["other_key"])
"""


def test_check_groups_findings_collapses_documents_and_ends_with_a_table(make_extension, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    documents = {f"{i:02d}-{'long-document-name-' * 3}.json": {"uri": f"https://example.com/{i}"} for i in range(1, 8)}
    folder = make_extension(CHECK_SCRIPT, name="leaky", documents=documents)
    clean = make_extension('log("nothing")', name="clean", documents={"a.json": {"uri": "https://example.com/a"}})
    assert main(["check", str(folder), str(clean)]) == 3
    out = capsys.readouterr().out
    assert lines_over(out) == []
    assert "  x api_key -> log: 6 documents, entries 1, 3-7 (first: log entry 1)" in out
    assert "  x other_key -> stdout: 7 documents, entries 1-7" in out
    assert "  s api_key -> log: static, extension.py line 2" in out
    assert [line.split(".")[0].strip() for line in out.splitlines() if "long-document-name" in line] == [
        str(i) for i in range(1, 8)
    ]  # the numbered list of documents, once each
    assert "clean  clean" in out
    assert "15 findings: 2 extensions, 8 documents (8 SUCCESS)" in out
    table = out[out.index("channel"):].splitlines()
    assert table[0].split() == ["channel", "leaks", "documents", "static", "keys"]
    rows = {line.split()[0]: line.split()[1:] for line in table[1:] if line.strip()}
    assert rows["stdout"] == ["7", "7", "1", "other_key"] and rows["log"] == ["6", "6", "1", "api_key"]


def test_check_of_clean_extensions_is_short(make_extension, monkeypatch, capsys):
    folder = make_extension('log("nothing")', name="quiet", documents={"a.json": {"uri": "https://example.com/a"}})
    assert main(["check", str(folder)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "clean  quiet  (1 SUCCESS; static pass)", "all clean: 1 extension, 1 document (1 SUCCESS)",
    ]


def test_check_quiet_prints_the_totals_and_the_table_only(make_extension, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    folder = make_extension(CHECK_SCRIPT, name="leaky", documents={"a.json": {"uri": "https://example.com/1"}})
    assert main(["check", str(folder), "--quiet"]) == 3
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "4 findings: 1 extension, 1 document (1 SUCCESS)"
    assert lines[2].split() == ["channel", "leaks", "documents", "static", "keys"] and len(lines) == 5
