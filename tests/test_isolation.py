"""Isolation: hostile scripts run in a child process, and the harness survives each of them.

Every hostile script here acts only on a document flagged ``hostile``; the extension's other
document is ordinary.  Each case checks that the harness reports the hostile document clearly,
never shows the vault value, and then runs the next document normally.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

import harness
from harness.cli import main
from harness.protocol import ProtocolError, decode_message
from tests.conftest import loopback_server

SECRET = "fake-isolation-secret-4242"
NORMAL = """
log("normal run in " + os.getcwd())
document.add_meta_data({"ok": "yes"})
"""


def hostile_extension(root: Path, body: str, name: str = "hostile") -> Path:
    """An extension whose script runs ``body`` on the flagged document only, then goes on normally."""
    folder = root / name
    (folder / "documents").mkdir(parents=True)
    script = "import os\nif document.get_meta_data_value('hostile'):\n" + textwrap.indent(
        textwrap.dedent(body).strip("\n"), "    "
    ) + "\n" + NORMAL
    (folder / "extension.py").write_text(script, encoding="utf-8")
    (folder / "extension.json").write_text(json.dumps({"name": name, "apiVersion": "v1"}), encoding="utf-8")
    documents = {
        "a_hostile.json": {"uri": "https://example.com/hostile", "metadata": {"crawler": {"hostile": "1"}}},
        "b_normal.json": {"uri": "https://example.com/normal", "metadata": {"crawler": {"title": "t"}}},
    }
    for filename, document in documents.items():
        (folder / "documents" / filename).write_text(json.dumps(document), encoding="utf-8")
    return folder


def ipe_run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, Any]], str]:
    code = main(["run", *args, "--json"])
    out, err = capsys.readouterr()
    assert SECRET not in out and SECRET not in err
    return code, json.loads(out), out + err


def assert_next_is_normal(result: dict[str, Any]) -> None:
    assert result["result"]["status"] == "SUCCESS", result["result"]["reason"]
    assert result["logs"][0]["comment"] == f"normal run in {os.getcwd()}"


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_k", SECRET)


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ("os._exit(0)", "EXECUTION_ERROR", "exited with code 0"),
        ("os._exit(7)", "EXECUTION_ERROR", "exited with code 7"),
        ("import ctypes\nctypes.string_at(0)", "EXECUTION_ERROR", "signal 11 (SIGSEGV"),
        ("import signal\nos.kill(os.getpid(), signal.SIGKILL)", "EXECUTION_ERROR", "signal 9 (SIGKILL"),
        ("import sys\nsys.modules.clear()\nraise ValueError('after clearing sys.modules')", "EXECUTION_ERROR",
         "ValueError: after clearing sys.modules"),
    ],
)
def test_a_dying_script_costs_only_its_own_document(tmp_path, capsys, body, status, reason):
    folder = hostile_extension(tmp_path, body)
    code, results, _ = ipe_run_json(capsys, str(folder))
    assert code == 1
    assert results[0]["result"]["status"] == status
    assert reason in results[0]["result"]["reason"]
    assert 0 < results[0]["duration"] < 5  # seconds, as the Test API gives them, even for a dead child
    assert_next_is_normal(results[1])


def test_a_segfault_is_named_and_its_traceback_captured(tmp_path, capsys):
    folder = hostile_extension(tmp_path, "import ctypes\nctypes.string_at(0)")
    _, results, _ = ipe_run_json(capsys, str(folder))
    assert "segmentation fault" in results[0]["result"]["reason"]
    assert 'File "' in results[0]["harness"]["stderr"]  # faulthandler's dump, in the captured stderr


def test_an_allocation_over_the_memory_limit_is_a_memory_error(tmp_path, capsys):
    folder = hostile_extension(tmp_path, "hog = bytearray(3 * 1024 ** 3)")
    code, results, _ = ipe_run_json(capsys, str(folder), "--memory-limit", "1024")
    assert code == 1
    assert results[0]["result"]["status"] == "EXECUTION_ERROR"
    assert results[0]["result"]["reason"].rstrip().endswith("MemoryError")
    assert "line 3" in results[0]["result"]["reason"]
    assert_next_is_normal(results[1])


def test_an_endless_loop_after_switching_the_alarm_off_is_killed_with_its_line(tmp_path, capsys):
    folder = hostile_extension(tmp_path, "import signal\nsignal.alarm(0)\nwhile True:\n    pass")
    code, results, _ = ipe_run_json(capsys, str(folder), "--timeout", "0.5")
    assert code == 1
    assert results[0]["result"]["status"] == "TIMEOUT"
    reason = results[0]["result"]["reason"]
    assert "time limit of 0.5 s" in reason and "killed" in reason
    assert "line 5 of extension.py" in reason or "line 6 of extension.py" in reason  # the loop's two lines
    assert_next_is_normal(results[1])


def test_a_script_blocked_with_signals_ignored_is_killed(tmp_path, capsys):
    body = "import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nsignal.signal(signal.SIGUSR1, signal.SIG_IGN)\ntime.sleep(60)"
    folder = hostile_extension(tmp_path, body)
    code, results, _ = ipe_run_json(capsys, str(folder), "--timeout", "0.5")
    assert results[0]["result"]["status"] == "TIMEOUT"
    assert "killed" in results[0]["result"]["reason"]
    assert_next_is_normal(results[1])


@pytest.mark.parametrize(
    "body",
    [
        "os.write(1, vault_parameters['k'].encode() + b'\\n')",
        "import sys\nsys.__stdout__.write(vault_parameters['k'] + '\\n')",
        "import subprocess\nsubprocess.run(['echo', vault_parameters['k']], check=True)",
        "import subprocess\nsubprocess.run(['sh', '-c', 'echo \"$0\" >&2', vault_parameters['k']], check=True)",
        "print(vault_parameters['k'])",
    ],
)
def test_output_below_python_is_captured_redacted_and_reported(tmp_path, capsys, body):
    folder = hostile_extension(tmp_path, body)
    code, results, _ = ipe_run_json(capsys, str(folder))
    first = results[0]
    assert first["result"]["status"] == "SUCCESS"
    printed = first["harness"]["stdout"] + first["harness"]["stderr"]
    assert "[REDACTED:k]" in printed
    assert [leak["channel"] for leak in first["harness"]["leaks"]] in (["stdout"], ["stderr"])
    assert any("the script wrote to" in w for w in first["harness"]["warnings"])
    assert_next_is_normal(results[1])
    assert results[1]["harness"]["stdout"] == ""


def test_chdir_and_a_write_outside_the_folder_do_not_reach_the_next_document(tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    body = f"os.chdir({str(elsewhere)!r})\nopen('written.txt', 'w').write('x')"
    folder = hostile_extension(tmp_path, body)
    before = os.getcwd()
    _, results, _ = ipe_run_json(capsys, str(folder))
    assert (elsewhere / "written.txt").is_file()  # no file-system sandbox: the write happened
    assert results[0]["logs"][0]["comment"] == f"normal run in {elsewhere}"
    assert_next_is_normal(results[1])  # but the next document starts where the harness is
    assert os.getcwd() == before


def test_sys_modules_corruption_does_not_reach_the_next_document(tmp_path, capsys):
    body = "import sys\nfor name in ('json', 'os', 're', 'requests'):\n    sys.modules[name] = None"
    folder = hostile_extension(tmp_path, body)
    _, results, _ = ipe_run_json(capsys, str(folder))
    assert_next_is_normal(results[1])
    assert sys.modules["json"] is not None


def ipe_process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_a_thread_that_never_ends_does_not_keep_ipe_running(tmp_path):
    body = "import threading, time\nthreading.Thread(target=time.sleep, args=(3600,), daemon=False).start()"
    folder = hostile_extension(tmp_path, body)
    done = ipe_process("run", str(folder), "--json")  # would time out (60 s) if the thread kept ipe alive
    assert done.returncode == 0
    statuses = [r["result"]["status"] for r in json.loads(done.stdout)]
    assert statuses == ["SUCCESS", "SUCCESS"]


def test_a_thread_that_prints_or_logs_the_secret_after_the_run_never_shows_it(tmp_path):
    body = """
    import logging, threading, time
    def later():
        time.sleep(0.3)
        print(vault_parameters["k"], flush=True)
        logging.getLogger("late").error(vault_parameters["k"])
    threading.Thread(target=later).start()
    """
    folder = hostile_extension(tmp_path, body)
    done = ipe_process("run", str(folder))
    assert SECRET not in done.stdout and SECRET not in done.stderr
    assert done.returncode == 0


@pytest.mark.parametrize(
    ("forged", "problem"),
    [
        ('b"not the protocol at all"', "does not start with the protocol's header"),
        ('struct.pack("!4sI", b"IPE1", 2 ** 31)', "2,147,483,648 bytes, over the limit"),
        ('struct.pack("!4sI", b"IPE1", 100) + b"{}"', "the message was cut short"),
    ],
)
def test_a_forged_result_message_is_an_execution_error_naming_the_problem(tmp_path, capsys, forged, problem):
    body = f"""
    import stat, struct
    for fd in range(3, 64):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, {forged})
        except OSError:
            pass
    os._exit(0)
    """
    folder = hostile_extension(tmp_path, body)
    _, results, _ = ipe_run_json(capsys, str(folder))
    assert results[0]["result"]["status"] == "EXECUTION_ERROR"
    assert "malformed result" in results[0]["result"]["reason"]
    assert problem in results[0]["result"]["reason"]
    assert_next_is_normal(results[1])


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"\xff", "not JSON"),
        (b'{"type": "pickle"}', "unknown message type"),
        (b'{"type": "result", "minted": [], "interactions": [], "result": {"status": "SUCCESS"}}',
         "missing 'reason'"),
        (b'{"type": "result", "minted": [[1, 2]], "interactions": [], "result": {}}', "expected a string"),
        (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
        (b'{"type": "result", "minted": [], "result": {}, "interactions": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
         "nested too deeply"),
    ],
)
def test_the_protocol_refuses_what_it_does_not_describe(payload, problem):
    with pytest.raises(ProtocolError, match=problem):
        decode_message(payload)


# -- ipe check ------------------------------------------------------------------------------------


def plain_extension(root: Path, name: str, script: str) -> Path:
    folder = root / name
    (folder / "documents").mkdir(parents=True)
    (folder / "extension.py").write_text(textwrap.dedent(script).lstrip("\n"), encoding="utf-8")
    (folder / "extension.json").write_text(json.dumps({"name": name, "apiVersion": "v1"}), encoding="utf-8")
    (folder / "documents" / "one.json").write_text(json.dumps({"uri": "https://example.com/1"}), encoding="utf-8")
    return folder


def test_ipe_check_reports_other_extensions_when_one_exits(tmp_path, capsys):
    exits = plain_extension(tmp_path, "exits", "import os\nos._exit(0)\n")
    leaks = plain_extension(tmp_path, "leaks", 'log("key is " + vault_parameters["api_key"])\n')
    code = main(["check", str(exits), str(leaks), "--json"])
    reports = {r["extension"]: r for r in json.loads(capsys.readouterr().out)}
    assert code == 3
    assert reports["leaks"]["documents"][0]["leaks"][0]["channel"] == "log"
    assert reports["exits"]["clean"] is False
    assert "exited with code 0" in reports["exits"]["problems"][0]


def test_ipe_check_is_never_clean_about_a_script_that_does_not_compile(tmp_path, capsys):
    broken = plain_extension(tmp_path, "broken", "def oops(:\n    pass\n")
    code = main(["check", str(broken), "--json"])
    report = json.loads(capsys.readouterr().out)[0]
    assert code == 1
    assert report["clean"] is False
    assert report["problems"] == ["extension.py does not compile (line 1): it cannot be checked"]
    main(["check", str(broken)])
    assert "problem: extension.py does not compile" in capsys.readouterr().out


# -- the Python API and the pool --------------------------------------------------------------------


def sleepy_extension(root: Path) -> Path:
    return plain_extension(root, "sleepy", """
        import os, time
        n = int(document.get_meta_data_value("n")[0])
        time.sleep(float(document.get_meta_data_value("sleep")[0]))
        if document.get_meta_data_value("crash"):
            os._exit(3)
        if document.get_meta_data_value("fail"):
            raise RuntimeError("failing on purpose")
        log("document %d" % n)
    """)


def docs(count: int, **flags: Any) -> list[dict[str, Any]]:
    out = []
    for n in range(count):
        meta: dict[str, Any] = {"n": str(n), "sleep": str(0.02 * ((count - n) % 4))}
        meta.update({k: "1" for k, at in flags.items() if at == n})
        out.append({"uri": f"https://example.com/{n}", "metadata": {"crawler": meta}})
    return out


def test_the_pool_keeps_input_order_with_two_workers(tmp_path):
    runner = harness.Runner(sleepy_extension(tmp_path), vault={})
    results = list(runner.run_many(docs(12), workers=2))
    assert [r.log_texts for r in results] == [[f"document {n}"] for n in range(12)]
    assert all(r.source == "<dict>" for r in results)


def test_a_crash_amid_many_documents_costs_only_its_own(tmp_path):
    runner = harness.Runner(sleepy_extension(tmp_path), vault={})
    results = list(runner.run_many(docs(20, crash=7), workers=2))
    assert [r.status for r in results] == ["SUCCESS"] * 7 + ["EXECUTION_ERROR"] + ["SUCCESS"] * 12
    assert "exited with code 3" in results[7].reason


def test_fail_fast_stops_after_the_first_execution_error(tmp_path):
    runner = harness.Runner(sleepy_extension(tmp_path), vault={})
    results = list(runner.run_many(docs(20, fail=3), workers=2, fail_fast=True))
    assert [r.status for r in results] == ["SUCCESS"] * 3 + ["EXECUTION_ERROR"]
    assert "failing on purpose" in results[-1].reason


def test_stopping_early_leaves_no_child_behind(tmp_path):
    runner = harness.Runner(sleepy_extension(tmp_path), vault={})
    stream = runner.run_many(docs(10), workers=3)
    assert next(stream).status == "SUCCESS"
    stream.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_canaries_minted_in_a_child_are_known_to_the_parent(tmp_path):
    folder = plain_extension(tmp_path, "dynamic", 'name = "api" + "_key"\nlog(vault_parameters[name])\n')
    result = harness.Runner(folder, vault="canary").run(folder / "documents" / "one.json")
    assert [leak.key for leak in result.leaks] == ["api_key"]
    assert result.log_texts == ["[REDACTED:api_key]"]


def test_in_process_runs_stay_available(tmp_path):
    folder = plain_extension(tmp_path, "pid", "import os\nlog(str(os.getpid()))\n")
    inside = harness.run_extension(folder, folder / "documents" / "one.json", vault={}, isolated=False)
    outside = harness.run_extension(folder, folder / "documents" / "one.json", vault={})
    assert inside.log_texts == [str(os.getpid())]
    assert outside.log_texts != [str(os.getpid())]


def test_output_is_cut_at_the_cap_with_a_warning(tmp_path):
    folder = plain_extension(tmp_path, "chatty", 'import os\nos.write(1, b"x" * (3 * 1024 * 1024))\n'
                                                 'print(vault_parameters["k"])\n')
    result = harness.run_extension(folder, folder / "documents" / "one.json", vault={"k": SECRET})
    assert len(result.stdout) == 1024 * 1024
    assert any("more than 1024 KiB to stdout" in w for w in result.warnings)


def test_bad_limits_are_harness_errors(tmp_path):
    folder = plain_extension(tmp_path, "limits", "pass\n")
    with pytest.raises(harness.HarnessError, match="memory limit"):
        harness.Runner(folder, memory_limit=0)
    with pytest.raises(harness.HarnessError, match="workers"):
        list(harness.Runner(folder, vault={}).run_many([], workers=0))


def test_memory_limit_option_is_validated(tmp_path, capsys):
    folder = plain_extension(tmp_path, "limits", "pass\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(folder), "--memory-limit", "lots"])
    assert exit_info.value.code == 2
    assert "expected a whole number of MiB" in capsys.readouterr().err


# -- the pytest plugin ------------------------------------------------------------------------------


def test_pytest_runs_in_process_by_default_and_in_a_child_on_request(pytester: pytest.Pytester):
    folder = pytester.path / "extensions" / "probe"
    (folder / "documents").mkdir(parents=True)
    (folder / "extension.py").write_text(textwrap.dedent("""
        import os, requests
        answer = requests.get("https://pim.example.com/item").json()
        log("%s %s" % (os.getpid(), answer["name"]))
        if document.get_meta_data_value("exit"):
            os._exit(0)
    """).lstrip(), encoding="utf-8")
    (folder / "extension.json").write_text(json.dumps({"name": "probe", "apiVersion": "v1"}), encoding="utf-8")
    pytester.makepyfile(test_probe="""
        import os

        def test_in_process(ipe, requests_mock, make_document):
            requests_mock.get("https://pim.example.com/item", json={"name": "anvil"})
            result = ipe.run("extensions/probe", make_document())
            assert result.log_texts == ["%d anvil" % os.getpid()]
            assert requests_mock.call_count == 1

        def test_isolated(ipe, requests_mock, make_document):
            requests_mock.get("https://pim.example.com/item", json={"name": "anvil"})
            result = ipe.run("extensions/probe", make_document(), isolated=True, memory_limit=1024)
            pid, name = result.log_texts[0].split()
            assert name == "anvil" and int(pid) != os.getpid()
            assert [r.url for r in result.requests] == ["https://pim.example.com/item"]

        def test_isolated_exit(ipe, requests_mock, make_document):
            requests_mock.get("https://pim.example.com/item", json={"name": "anvil"})
            result = ipe.run("extensions/probe", make_document(metadata={"c": {"exit": "1"}}), isolated=True)
            assert result.status == "EXECUTION_ERROR"
            assert "exited with code 0" in result.reason
    """)
    outcome = pytester.runpytest_subprocess("-q")
    outcome.assert_outcomes(passed=3)


def test_the_ipe_isolated_ini_option_makes_children_the_default(pytester: pytest.Pytester):
    folder = pytester.path / "extensions" / "pid"
    folder.mkdir(parents=True)
    (folder / "extension.py").write_text("import os\nlog(str(os.getpid()))\n", encoding="utf-8")
    (folder / "extension.json").write_text(json.dumps({"name": "pid", "apiVersion": "v1"}), encoding="utf-8")
    pytester.makeini("[pytest]\nipe_isolated = true\nipe_memory_limit = 1024\n")
    pytester.makepyfile(test_pid="""
        import os

        def test_pid(ipe, make_document):
            assert ipe.run("extensions/pid", make_document()).log_texts != [str(os.getpid())]
    """)
    pytester.runpytest_subprocess("-q").assert_outcomes(passed=1)


def test_ctrl_c_stops_ipe_and_kills_the_running_child(tmp_path):
    pid_file = tmp_path / "child.pid"
    folder = plain_extension(tmp_path, "slow", f"""
        import os, time
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        time.sleep(60)
    """)
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", str(folder), "--timeout", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    for _ in range(600):  # the child is running once it wrote its pid
        if pid_file.is_file() and pid_file.read_text():
            break
        try:
            process.wait(0.1)
        except subprocess.TimeoutExpired:
            continue
        break
    child = int(pid_file.read_text())
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "ipe: interrupted" in err and "Traceback" not in err
    with pytest.raises(ProcessLookupError):  # reaped by ipe before it exited, not left to run
        os.kill(child, 0)


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = json.dumps({"token": self.headers.get("X-Token", "")}).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_parent_writes_the_cassette_whatever_the_script_did_to_its_own_harness(tmp_path, capsys):
    """The script switches redaction off in its own process before it records: the cassette is
    written by the parent, from the interactions the child sent, with the parent's placeholders."""
    with loopback_server(_Echo) as url:
        folder = plain_extension(tmp_path, "recorder", f"""
            import requests
            import harness.redaction
            harness.redaction.Redactor.find = lambda self, text: []
            harness.redaction.Redactor.find_bytes = lambda self, data: []
            answer = requests.get({url!r} + "/item", headers={{"X-Token": vault_parameters["k"]}})
            log("echoed back: " + str(answer.json()["token"] == vault_parameters["k"]))
        """)
        assert main(["run", str(folder), "--record", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["logs"][0]["comment"] == "echoed back: True"
    assert "recorded 1 HTTP interaction(s)" in err
    cassette = (folder / "cassettes" / "one.yaml").read_text(encoding="utf-8")
    assert SECRET not in cassette
    assert "{{ VAULT.k }}" in cassette


def test_ipe_check_is_incomplete_when_a_run_had_to_be_killed(tmp_path, capsys):
    stuck = plain_extension(tmp_path, "stuck", "import signal\nsignal.alarm(0)\nwhile True:\n    pass\n")
    code = main(["check", str(stuck), "--timeout", "0.5", "--json"])
    report = json.loads(capsys.readouterr().out)[0]
    assert code == 1
    assert report["clean"] is False
    assert "its process was killed" in report["problems"][0]


def test_every_field_of_a_result_crosses_the_protocol():
    """A field added to ExtensionResult and forgotten by the protocol would silently vanish from
    isolated runs: a result with every field set must come back equal."""
    import dataclasses

    from harness.document import DocumentData, StreamData
    from harness.outbound import OutgoingRequest
    from harness.protocol import HEADER, encode_result
    from harness.result import Change, ExtensionResult, LogEntry, LoggingRecord

    perm = {"permissionSets": [{"allowedPermissions": [{"identity": "a@example.com"}]}]}
    result = ExtensionResult(
        status="SUCCESS", reason="why", logs=[LogEntry("hello", "NORMAL", 1.5, 0.25)],
        document=DocumentData("doc://1", (("crawler", {"title": ["T"]}),), (perm,),
                              (StreamData("crawler", "body_text", b"\x00\x01"),), {"p": "1"}),
        duration=0.125, changes=[Change("title", ["T"], ["U"])], stdout="out", stderr="err",
        warnings=["w"], extension="ext", source="src.json", date=12.5,
        logging=[LoggingRecord("lg", "INFO", "msg")],
        requests=[OutgoingRequest("GET", "https://example.com/", {"A": "b"}, b"body", "requests")],
        permissions_before=(perm,),
    )
    unset = [f.name for f in dataclasses.fields(ExtensionResult)
             if f.name != "leaks" and getattr(result, f.name) == getattr(
                 ExtensionResult("", "", [], result.document, 0.0), f.name)]
    assert unset == ["document"]  # every other field has a value the default has not
    frame = encode_result(result, [], [])
    back = decode_message(frame[HEADER.size:]).result
    assert back == result
