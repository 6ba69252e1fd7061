"""Batches through the CLI: `ipe run/check --documents PATH` with --workers, --json/--jsonl,
--fail-fast, Ctrl-C, and output that fits 80 columns."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main

SCRIPT = """
import os
n = int(document.get_meta_data_value("n")[0])
if n in CRASH:
    os._exit(3)
if n in BOOM:
    raise ValueError("boom on %d" % n)
log("doc %d" % n)
document.add_meta_data({"square": n * n})
"""


def doc(n: int) -> dict[str, Any]:
    return {"uri": f"https://example.com/items/{n}", "metadata": {"crawler": {"n": str(n)}}}


def batch_extension(make_extension: Any, crash: tuple[int, ...] = (), boom: tuple[int, ...] = ()) -> Path:
    script = f"CRASH = {set(crash) or 'set()'}\nBOOM = {set(boom) or 'set()'}\n" + SCRIPT
    return Path(make_extension(script, name="squares"))


def jsonl(path: Path, count: int, start: int = 0) -> Path:
    path.write_text("".join(json.dumps(doc(n)) + "\n" for n in range(start, start + count)), encoding="utf-8")
    return path


def squares(results: list[dict[str, Any]]) -> list[list[Any]]:
    out = []
    for result in results:
        added = [m for m in result["document"]["metadata"] if m["origin"] == "squares"]
        out.append(added[0]["values"]["square"] if added else None)
    return out


def test_a_folder_runs_in_input_order_with_several_workers(make_extension, tmp_path, capsys):
    folder = tmp_path / "export"
    folder.mkdir()
    for n in range(12):
        (folder / f"{n:03d}.json").write_text(json.dumps(doc(n)))
    (folder / "000.expected.json").write_text("{}")  # a golden file is not a document
    code = main(["run", str(batch_extension(make_extension)), "--documents", str(folder), "--workers", "3", "--json"])
    results = json.loads(capsys.readouterr().out)
    assert code == 0 and len(results) == 12
    assert [r["harness"]["source"].rsplit("/", 1)[-1] for r in results] == [f"{n:03d}.json" for n in range(12)]
    assert squares(results) == [[n * n] for n in range(12)]


def test_jsonl_output_is_one_response_a_line_in_input_order(make_extension, tmp_path, capsys):
    source = jsonl(tmp_path / "export.jsonl", 30)
    code = main(["run", str(batch_extension(make_extension)), "--documents", str(source), "-w", "2", "--jsonl"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and len(lines) == 30
    results = [json.loads(line) for line in lines]
    assert [r["harness"]["source"] for r in results] == [f"{source}:{n + 1}" for n in range(30)]
    assert squares(results) == [[n * n] for n in range(30)]


def test_stdin_is_read_as_jsonl(make_extension, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(json.dumps(doc(n)) + "\n" for n in range(5))))
    code = main(["run", str(batch_extension(make_extension)), "--documents", "-", "--jsonl"])
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and [r["harness"]["source"] for r in results] == [f"<stdin>:{n}" for n in range(1, 6)]


def test_a_crash_amid_a_thousand_documents_costs_only_its_own(make_extension, tmp_path, capsys):
    source = jsonl(tmp_path / "big.jsonl", 1000)
    extension = batch_extension(make_extension, crash=(417,), boom=(733,))
    report = tmp_path / "big.json"
    code = main(["run", str(extension), "--documents", str(source), "--jsonl", "--report", str(report)])
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1 and len(results) == 1000
    statuses = {n: r["result"]["status"] for n, r in enumerate(results) if r["result"]["status"] != "SUCCESS"}
    assert statuses == {417: "EXECUTION_ERROR", 733: "EXECUTION_ERROR"}
    assert "exited with code 3" in results[417]["result"]["reason"]
    assert "ValueError: boom on 733" in results[733]["result"]["reason"]
    assert squares(results)[418] == [418 * 418]
    summary = json.loads(report.read_text())["summary"]
    assert summary["documents"] == 1000 and summary["statuses"] == {"SUCCESS": 998, "EXECUTION_ERROR": 2}


def test_fail_fast_stops_at_the_first_execution_error(make_extension, tmp_path, capsys):
    source = jsonl(tmp_path / "export.jsonl", 40)
    extension = batch_extension(make_extension, boom=(7,))
    code = main(["run", str(extension), "--documents", str(source), "-w", "2", "--fail-fast", "--json"])
    results = json.loads(capsys.readouterr().out)
    assert code == 1 and len(results) == 8 and results[-1]["result"]["status"] == "EXECUTION_ERROR"


def test_a_bad_line_stops_the_batch_naming_it(make_extension, tmp_path, capsys):
    source = tmp_path / "export.jsonl"
    source.write_text(json.dumps(doc(1)) + "\n" + '{"document": {"id": "x", "metdata": []}}\n')
    code = main(["run", str(batch_extension(make_extension)), "--documents", str(source), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and f"{source}:2" in err and "metdata" in err and "Traceback" not in err


def test_document_and_documents_are_exclusive(make_extension, tmp_path, capsys):
    source = jsonl(tmp_path / "export.jsonl", 1)
    code = main(["run", str(batch_extension(make_extension)), "--documents", str(source), "-d", str(source)])
    assert code == 2 and "not both" in capsys.readouterr().err


def test_check_takes_a_batch_too(make_extension, tmp_path, capsys):
    source = jsonl(tmp_path / "export.jsonl", 6)
    leaky = make_extension('log("key=" + vault_parameters["api_key"])\n', name="leaky")
    junit = tmp_path / "check.xml"
    code = main(["check", str(leaky), "--documents", str(source), "-w", "2", "--report", str(junit)])
    out = capsys.readouterr().out
    assert code == 3 and "api_key -> log: 6 documents, entries 1-6" in out
    cases = ET.parse(junit).getroot().iter("testcase")
    assert sum(1 for c in cases if c.find("failure") is not None) == 7  # 6 documents + the static pass


def test_quiet_batch_prints_a_summary_that_fits_80_columns(make_extension, tmp_path):
    source = jsonl(tmp_path / "export.jsonl", 20)
    extension = batch_extension(make_extension, boom=(3, 11))
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", str(extension), "--documents", str(source), "--quiet"],
        capture_output=True, text=True, env={**_env(), "COLUMNS": "80"}, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    assert "20 documents: 2 EXECUTION_ERROR, 18 SUCCESS" in done.stdout
    assert all(len(line) <= 80 for line in done.stdout.splitlines())
    assert "\x1b[" not in done.stderr  # not a terminal: no progress bar


def test_ctrl_c_mid_batch_writes_a_valid_partial_report(make_extension, tmp_path):
    source = jsonl(tmp_path / "export.jsonl", 400)
    extension = make_extension("import time\ntime.sleep(0.05)\nlog('ok')\n", name="slow")
    report, junit = tmp_path / "partial.json", tmp_path / "partial.xml"
    child = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", str(extension), "--documents", str(source), "--json",
         "--report", str(report), "--report", str(junit)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=tmp_path,
    )
    time.sleep(3)
    child.send_signal(2)  # SIGINT, as Ctrl-C on a terminal
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    printed = json.loads(out)  # the streamed JSON list is closed: valid JSON
    data = json.loads(report.read_text())
    assert data["summary"]["interrupted"] is True
    assert 0 < len(data["results"]) == data["summary"]["documents"] == len(printed) < 400
    assert len(ET.parse(junit).getroot().find("testsuite").findall("testcase")) == len(printed)
    assert "interrupted" in err and "Traceback" not in err


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "COVEO_"))}


@pytest.mark.parametrize("bad", ["0", "two"])
def test_workers_must_be_a_positive_number(make_extension, capsys, bad):
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(batch_extension(make_extension)), "--workers", bad])
    assert exit_.value.code == 2
