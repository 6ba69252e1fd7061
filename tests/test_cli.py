"""`ipe run`: readable output, --json, options and exit codes, through the real console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main

from .conftest import SAMPLE_DOCUMENT

SCRIPT = """
title = document.get_meta_data_value("title")[0]
log("normalised " + title, "Notification")
document.add_meta_data({"title": title.upper(), "source_region": parameters.get("region", "none")})
if title == "Boom":
    raise ValueError("cannot handle Boom")
"""


@pytest.fixture
def extension(make_extension):
    return make_extension(
        SCRIPT,
        name="normalizer",
        documents={
            "a.json": SAMPLE_DOCUMENT,
            "b.json": {"uri": "https://x/b", "metadata": {"crawler": {"title": "Second"}}},
        },
    )


def ipe(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console script, as a user would."""
    command = [os.path.join(os.path.dirname(sys.executable), "ipe"), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=60)


def test_console_script_runs_the_extensions_documents(extension):
    done = ipe("run", str(extension))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.count("SUCCESS ") == 2  # two result headers (the summary says "2 SUCCESS")
    assert "~ title" in out and "['Welcome'] -> ['WELCOME']" in out
    assert "+ source_region" in out and "['none']" in out
    assert "NOTIFICATION" in out and "normalised Welcome" in out
    assert "2 documents: 2 SUCCESS" in out
    assert "Traceback" not in done.stderr


def test_json_for_one_document_is_one_test_api_response(extension, capsys):
    assert main(["run", str(extension), "--document", str(extension / "documents" / "a.json"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["result"] == {"status": "SUCCESS", "reason": ""}
    assert data["document"]["metadata"][-1] == {
        "origin": "normalizer",
        "values": {"title": ["WELCOME"], "source_region": ["none"]},
    }
    assert data["logs"][0]["severity"] == "NOTIFICATION"


def test_json_for_several_documents_is_a_list(extension, capsys):
    assert main(["run", str(extension), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["harness"]["source"].rsplit("/", 1)[-1] for d in data] == ["a.json", "b.json"]


def test_params_override(extension, capsys):
    assert main(["run", str(extension), "-p", "region=eu", "--json", "-d", str(extension / "documents/a.json")]) == 0
    assert json.loads(capsys.readouterr().out)["document"]["metadata"][-1]["values"]["source_region"] == ["eu"]


def test_execution_error_exits_1_and_shows_the_traceback(extension, tmp_path, capsys):
    boom = tmp_path / "boom.json"
    boom.write_text(json.dumps({"uri": "u", "metadata": {"crawler": {"title": "Boom"}}}))
    assert main(["run", str(extension), "-d", str(boom), "-d", str(extension / "documents/a.json")]) == 1
    out = capsys.readouterr().out
    assert "EXECUTION_ERROR" in out and 'File "extension.py", line 5' in out
    assert "ValueError: cannot handle Boom" in out
    assert "1 EXECUTION_ERROR, 1 SUCCESS" in out


def test_timeout_option(make_extension, capsys):
    folder = make_extension("import time\ntime.sleep(10)", documents={"a.json": SAMPLE_DOCUMENT})
    assert main(["run", str(folder), "--timeout", "0.5"]) == 1
    assert "TIMEOUT" in capsys.readouterr().out


def test_rejected_and_skipped_exit_0(make_extension, capsys):
    folder = make_extension(
        "if document.uri.endswith('1'):\n    document.reject('draft')\ndocument.skip('later')",
        documents={"1.json": {"uri": "u1"}, "2.json": {"uri": "u2"}},
    )
    assert main(["run", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "REJECTED" in out and "draft" in out and "SKIPPED" in out and "later" in out


def test_env_and_vault_file_options(make_extension, tmp_path, capsys):
    env = tmp_path / "elsewhere.env"
    env.write_text("VAULT_token=fake-token-from-env-file\n")
    vault = tmp_path / "entries.json"
    vault.write_text(json.dumps([{"key": "other", "value": "fake-other"}]))
    folder = make_extension("log(' '.join(sorted(vault_parameters)))", documents={"a.json": SAMPLE_DOCUMENT})
    assert main(["run", str(folder), "--env-file", str(env), "--vault-file", str(vault), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["logs"][0]["comment"] == "other token"


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "no/such/extension"], "no/such/extension: no such extension folder or script"),
        (["run", "{ext}", "-d", "{tmp}/missing.json"], "missing.json: no such document file"),
        (["run", "{ext}", "-d", "{tmp}/malformed.json"], "malformed.json: malformed JSON at line 1 column 14"),
        (["run", "{ext}", "-d", "{tmp}/wrong.json"], "wrong.json: $.document.metadata[0].values.title: expected a value or a list of values, found an object"),
        (["run", "{ext}", "-d", "{tmp}/neither.json"], "neither.json: $: not a Coveo document"),
        (["run", "{bare}"], "no documents/*.json to run on"),
        (["run", "{ext}", "--env-file", "{tmp}/nope.env"], "nope.env: cannot read env file"),
    ],
    ids=["missing-extension", "missing-document", "malformed-json", "wrong-shape", "neither-format", "no-documents", "missing-env"],
)
def test_bad_input_is_one_line_and_exit_2(extension, make_extension, tmp_path, args, message):
    (tmp_path / "malformed.json").write_text('{"uri": "x", }')
    (tmp_path / "wrong.json").write_text(json.dumps({"document": {"metadata": [{"origin": "crawler", "values": {"title": {"a": 1}}}]}}))
    (tmp_path / "neither.json").write_text(json.dumps({"hello": "world"}))
    bare = make_extension("pass", name="bare")
    args = [a.format(ext=extension, tmp=tmp_path, bare=bare) for a in args]
    done = ipe(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ipe: error: ") and message in lines[0]


@pytest.mark.parametrize(
    "args",
    [["run"], ["run", "x", "--param", "novalue"], ["run", "x", "--timeout", "soon"], ["run", "x", "--timeout", "-1"], ["frobnicate"]],
)
def test_usage_errors_exit_2(args):
    done = ipe(*args)
    assert done.returncode == 2
    assert "usage: ipe" in done.stderr and "Traceback" not in done.stderr


def test_help_lists_commands():
    done = ipe("--help")
    assert done.returncode == 0 and "run" in done.stdout
    assert ipe("run", "--help").returncode == 0
