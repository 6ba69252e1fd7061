"""Report files (--report FILE.json / .xml / .html) and the run summary, through ``ipe run``/``ipe check``.

The reports are read back as a CI job would: the JSON loaded, the JUnit XML parsed with
``xml.etree``; a run stopped by Ctrl-C must still leave whole, valid files.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import harness
from harness.cli import main
from harness.reports.summary import Summary, warning_kind

SECRET = "fake-secret-for-reports-7f3a9"

SCRIPT = """
title = document.get_meta_data_value("title")[0]
if title == "boom":
    raise ValueError("cannot handle " + title)
if title == "slow":
    while True:
        pass
if title == "leak":
    log("token is " + vault_parameters["api_key"])
if title == "skip":
    document.skip("nothing to do")
if title == "stop":
    import os, signal, time
    time.sleep(0.3)  # the harness has written the results before this one
    os.kill(os.getppid(), signal.SIGINT)  # Ctrl-C reaches the harness (the script runs in its child)
log("saw " + title)
document.add_meta_data({"title": title.upper()})
"""


def doc(title: str) -> dict[str, object]:
    return {"uri": f"https://example.com/{title}", "metadata": {"crawler": {"title": title}}}


@pytest.fixture
def extension(make_extension, tmp_path: Path) -> Path:
    folder = make_extension(
        SCRIPT,
        name="reporter",
        documents={
            "1-ok.json": doc("ok"),
            "2-boom.json": doc("boom"),
            "3-leak.json": doc("leak"),
            "4-skip.json": doc("skip"),
            "5-slow.json": doc("slow"),
            "6-ok.json": doc("fine"),
        },
    )
    (tmp_path / ".env").write_text(f"VAULT_api_key={SECRET}\n")
    return folder


def run(extension: Path, tmp_path: Path, *extra: str) -> int:
    return main(["run", str(extension), "--timeout", "0.5", "--env-file", str(tmp_path / ".env"), *extra])


def test_json_report_holds_every_result_and_the_summary(extension, tmp_path, capsys):
    report = tmp_path / "out" / "run.json"
    report.parent.mkdir()
    assert run(extension, tmp_path, "--quiet", "--report", str(report)) == 1
    text = report.read_text(encoding="utf-8")
    assert SECRET not in text
    data = json.loads(text)
    assert data["title"] == "reporter"
    # a skip is SUCCESS in the Test API shape (Coveo's status enum has no SKIPPED); harness.status says it
    statuses = [r["harness"].get("status", r["result"]["status"]) for r in data["results"]]
    assert statuses == ["SUCCESS", "EXECUTION_ERROR", "SUCCESS", "SKIPPED", "TIMEOUT", "SUCCESS"]
    assert [r["harness"]["source"].rsplit("/", 1)[-1] for r in data["results"]][:2] == ["1-ok.json", "2-boom.json"]
    summary = data["summary"]
    assert summary["documents"] == 6 and summary["interrupted"] is False
    assert summary["statuses"] == {"SUCCESS": 3, "EXECUTION_ERROR": 1, "SKIPPED": 1, "TIMEOUT": 1}
    assert summary["timeouts"]["count"] == 1 and summary["timeouts"]["sources"][0].endswith("5-slow.json")
    assert summary["slowest"][0]["source"].endswith("5-slow.json")  # it ran until its time limit
    assert summary["duration"]["max"] >= summary["duration"]["p95"] >= summary["duration"]["p50"] > 0
    [leak] = summary["leaks"]
    assert (leak["key"], leak["channel"], leak["documents"], leak["positions"]) == ("api_key", "log", 1, "3")
    # --quiet: the summary only, no per-document block
    out = capsys.readouterr().out
    assert "6 documents: 1 EXECUTION_ERROR, 1 SKIPPED, 3 SUCCESS, 1 TIMEOUT" in out
    assert "api_key -> log: 1 document, entries 3" in out
    assert "reason" not in out and "saw ok" not in out


def test_junit_report_has_a_failing_testcase_per_error_timeout_and_leak(extension, tmp_path):
    report = tmp_path / "junit.xml"
    assert run(extension, tmp_path, "--quiet", "--report", str(report)) == 1
    assert SECRET not in report.read_text(encoding="utf-8")
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 6 and suite.get("tests") == "6" and suite.get("failures") == "3"
    failures = {c.get("name", "").rsplit("/", 1)[-1]: c.find("failure") for c in cases}
    assert failures["1-ok.json"] is None and failures["4-skip.json"] is None and failures["6-ok.json"] is None
    assert failures["2-boom.json"].get("type") == "EXECUTION_ERROR"
    assert "ValueError: cannot handle boom" in failures["2-boom.json"].text
    assert failures["5-slow.json"].get("type") == "TIMEOUT"
    assert failures["3-leak.json"].get("type") == "LEAK"
    assert "api_key -> log" in failures["3-leak.json"].get("message")
    assert all(c.get("classname") == "reporter" and float(c.get("time")) >= 0 for c in cases)
    assert "saw ok" in cases[0].find("system-out").text


def test_several_reports_at_once_and_the_terminal_output_is_unchanged(extension, tmp_path, capsys):
    paths = [tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "r.html"]
    args = [a for p in paths for a in ("--report", str(p))]
    assert run(extension, tmp_path, *args) == 1
    assert all(p.is_file() and p.stat().st_size for p in paths)
    assert not list(tmp_path.glob(".*.part"))  # the temporary files are renamed into place
    assert all(p.stat().st_mode & 0o044 == 0o044 & ~_umask() for p in paths)  # the umask's mode, not 0600
    out = capsys.readouterr().out
    assert out.count("EXECUTION_ERROR ") >= 1 and "saw ok" in out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_run_stopped_by_ctrl_c_still_writes_valid_reports(make_extension, tmp_path, capsys):
    folder = make_extension(
        SCRIPT, name="stopper",
        documents={"1.json": doc("ok"), "2.json": doc("boom"), "3.json": doc("stop"), "4.json": doc("fine")},
    )
    reports = [tmp_path / "p.json", tmp_path / "p.xml", tmp_path / "p.html"]
    code = main(["run", str(folder), "--workers", "1", *[a for p in reports for a in ("--report", str(p))]])
    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    data = json.loads(reports[0].read_text(encoding="utf-8"))
    assert [r["result"]["status"] for r in data["results"]] == ["SUCCESS", "EXECUTION_ERROR"]
    assert data["summary"]["interrupted"] is True and data["summary"]["documents"] == 2
    suite = ET.parse(reports[1]).getroot().find("testsuite")
    assert suite is not None and len(suite.findall("testcase")) == 2 and "interrupted" in suite.get("name", "")
    page = reports[2].read_text(encoding="utf-8")
    assert page.rstrip().endswith("</html>") and "interrupted" in page and page.count('<tr data-status="') == 2


def test_check_reports_include_the_static_pass(make_extension, tmp_path, capsys):
    folder = make_extension('log("key " + vault_parameters["api_key"])', name="leaky",
                            documents={"a.json": doc("a"), "b.json": doc("b")})
    junit, js = tmp_path / "check.xml", tmp_path / "check.json"
    assert main(["check", str(folder), "--report", str(junit), "--report", str(js)]) == 3
    cases = ET.parse(junit).getroot().iter("testcase")
    kinds = {c.get("name", "").rsplit("/", 1)[-1]: c.find("failure").get("type") for c in cases}
    assert kinds == {"a.json": "LEAK", "b.json": "LEAK", "static pass over extension.py": "STATIC"}
    data = json.loads(js.read_text(encoding="utf-8"))
    assert [(s["key"], s["channel"], s["line"]) for s in data["static"]] == [("api_key", "log", 1)]
    assert data["summary"]["leaks"][0]["positions"] == "1-2"


def test_an_unknown_report_format_is_a_usage_error_before_anything_runs(extension, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(extension), "--report", str(tmp_path / "report.txt")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown report format '.txt'" in err and "Traceback" not in err


def test_an_unwritable_report_is_a_one_line_error(extension, tmp_path, capsys):
    assert run(extension, tmp_path, "--report", str(tmp_path / "missing" / "dir" / "r.json")) == 2
    err = capsys.readouterr().err
    assert err.startswith("ipe: error:") and "cannot write the report" in err


# -- the summary on its own ------------------------------------------------------------------------


def test_summary_groups_leaks_by_key_and_channel_with_collapsed_positions(make_extension):
    folder = make_extension(
        'if document.uri != "u2":\n    log(vault_parameters["api_key"])\nprint(vault_parameters["api_key"])\n'
    )
    runner = harness.Runner(folder, vault={"api_key": SECRET})
    summary = Summary("x").add_all(runner.run(doc("t") | {"uri": f"u{i}"}) for i in range(1, 8))
    groups = {(g.key, g.channel): (g.documents, str(g.positions)) for g in summary.leak_groups()}
    assert groups == {("api_key", "log"): (6, "1, 3-7"), ("api_key", "stdout"): (7, "1-7")}
    assert summary.leaking_documents == 7
    # printing is a warning too: one kind, counted once per document
    [warning] = [g for g in summary.warnings.values() if "stdout" in g.kind]
    assert (warning.count, warning.documents) == (7, 7)


def test_warning_kinds_replace_the_varying_parts():
    a = warning_kind("data stream 'body_html' is 6,000,123 bytes, over Coveo's cap of 5,242,880")
    b = warning_kind("data stream 'body_text' is 7,100 bytes, over Coveo's cap of 5,242,880")
    assert a == b == "data stream '…' is N bytes, over Coveo's cap of N"


def test_summary_percentiles_and_slowest_from_durations_only(make_extension):
    folder = make_extension('log("x")')
    result = harness.run_extension(folder, doc("t"), vault={})
    summary = Summary()
    for i, duration in enumerate([5.0, 1.0, 3.0, 2.0, 4.0, 9.0, 0.5], 1):
        result.duration, result.source = duration, f"doc{i}"
        summary.add(result)
    assert summary.percentile(50) == 3.0 and summary.percentile(95) == 9.0 and summary.max_duration == 9.0
    assert [s for s, _ in summary.slowest] == ["doc6", "doc1", "doc5", "doc3", "doc4"]
    assert summary.to_json()["documents"] == 7
