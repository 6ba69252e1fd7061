"""The runtime: globals, outcomes, tracebacks, time limits and scripts that misbehave."""

from __future__ import annotations

import threading
import time

import pytest

import harness
from harness import run_extension

from .conftest import SAMPLE_DOCUMENT


def run(folder, document=SAMPLE_DOCUMENT, **kwargs):
    kwargs.setdefault("vault", {})
    return run_extension(folder, document, **kwargs)


def test_globals_are_the_ones_coveo_injects(make_extension):
    folder = make_extension(
        """
        log("name=%s log_is_document_log=%s params=%s vault=%s" % (
            __name__, log == document.log, sorted(parameters.items()), sorted(vault_parameters)))
        """
    )
    result = run(folder, parameters={"region": "ca"}, vault={"api_token": "fake-token-1"})
    assert result.status == "SUCCESS"
    assert result.logs[0].comment == (
        "name=__main__ log_is_document_log=True params=[('region', 'ca')] vault=['api_token']"
    )


def test_parameters_default_to_an_empty_dict(make_extension):
    folder = make_extension("log(repr(parameters))")
    assert run(folder).logs[0].comment == "{}"


def test_script_is_accepted_as_folder_or_file(make_extension):
    folder = make_extension("document.add_meta_data({'seen': 'yes'})", name="by_path")
    assert run(folder).added_metadata == {"seen": ["yes"]}
    assert run(folder / "extension.py").added_metadata == {"seen": ["yes"]}


def test_script_is_compiled_once_and_reloaded_when_it_changes(make_extension):
    folder = make_extension("log('one')")
    first = harness.load_extension(folder)
    assert harness.load_extension(folder) is first
    script = folder / "extension.py"
    script.write_text("log('two, a longer script')\n")
    assert run(folder).logs[0].comment == "two, a longer script"


def test_nothing_carries_over_between_documents(make_extension):
    folder = make_extension(
        """
        log("counter=%s param=%s vault=%s" % (globals().get("counter"), parameters.get("x"), vault_parameters.get("k")[::-1]))
        counter = 1
        parameters["x"] = "changed"
        vault_parameters["k"] = "changed"
        import json
        json.loads.__dict__.setdefault("mark", 0)
        """
    )
    runner = harness.Runner(folder, vault={"k": "fake-original"}, parameters={"x": "original"})
    comments = [runner.run(SAMPLE_DOCUMENT).logs[0].comment for _ in range(3)]
    assert comments == ["counter=None param=original vault=lanigiro-ekaf"] * 3


def test_exception_gives_execution_error_with_the_scripts_traceback(make_extension):
    folder = make_extension(
        """
        def lookup(values):
            return values["missing"]

        log("about to fail")
        document.add_meta_data({"lost": "yes"})
        lookup({})
        """
    )
    result = run(folder)
    assert result.status == "EXECUTION_ERROR"
    assert result.reason == (  # Coveo's format: no source lines, as the Test API's reason shows
        "Coveo::PythonScriptException: Traceback (most recent call last):\n"
        '  File "extension.py", line 6, in <module>\n'
        '  File "extension.py", line 2, in lookup\n'
        "KeyError: 'missing'\n"
    )
    assert "harness" not in result.reason
    assert [entry.comment for entry in result.logs] == ["about to fail"]  # logs are kept
    assert result.added_metadata == {}  # changes are discarded
    assert result.document.metadata == harness.parse_document(SAMPLE_DOCUMENT).metadata


def test_chained_exceptions_are_reported_without_harness_frames(make_extension):
    folder = make_extension(
        """
        try:
            int("not a number")
        except ValueError as exc:
            raise RuntimeError("could not parse the price") from exc
        """
    )
    reason = run(folder).reason
    assert "ValueError: invalid literal for int() with base 10: 'not a number'" in reason
    assert "The above exception was the direct cause of the following exception:" in reason
    assert reason.endswith("RuntimeError: could not parse the price\n")
    assert "runtime.py" not in reason and "document.py" not in reason


def test_errors_raised_by_the_document_api_show_only_the_scripts_line(make_extension):
    folder = make_extension("document.add_meta_data(['not', 'a', 'dict'])")
    reason = run(folder).reason
    assert '  File "extension.py", line 1, in <module>' in reason
    assert "document.py" not in reason
    assert reason.endswith("AttributeError: 'list' object has no attribute 'items'\n")  # as in Coveo


def test_syntax_error_is_an_execution_error_naming_the_line(make_extension):
    folder = make_extension("log('fine')\nif True\n    log('broken')\n")
    result = run(folder)
    assert result.status == "EXECUTION_ERROR"
    assert 'File "extension.py", line 2' in result.reason
    assert "SyntaxError" in result.reason
    assert result.logs == []


@pytest.mark.parametrize(
    "statement, expected",
    [
        ("import sys; sys.exit(0)", "SystemExit: 0"),
        ("raise SystemExit('bye')", "SystemExit: bye"),
        ("raise KeyboardInterrupt", "KeyboardInterrupt"),
        ("raise BaseException('odd')", "BaseException: odd"),
        ("class Weird(BaseException): pass\nraise Weird()", "Weird"),
    ],
)
def test_base_exceptions_never_stop_the_harness(make_extension, statement, expected):
    folder = make_extension(statement)
    runner = harness.Runner(folder, vault={})
    for _ in range(2):  # and the next document still runs
        result = runner.run(SAMPLE_DOCUMENT)
        assert result.status == "EXECUTION_ERROR"
        assert expected in result.reason


def test_exit_is_explained(make_extension):
    folder = make_extension("import sys\nsys.exit(1)")
    assert "Coveo extensions must not exit" in run(folder).reason


def test_reject_stops_at_once_and_discards_changes(make_extension):
    folder = make_extension(
        """
        document.add_meta_data({"kept": "no"})
        log("rejecting")
        document.reject("draft content")
        log("never logged")
        """
    )
    result = run(folder)
    assert (result.status, result.reason) == ("REJECTED", "draft content")
    assert [e.comment for e in result.logs] == ["rejecting"]
    assert result.added_metadata == {} and result.document.metadata == harness.parse_document(SAMPLE_DOCUMENT).metadata


@pytest.mark.parametrize("handler", ["except Exception:", "except:", "except BaseException:"])
def test_reject_cannot_be_swallowed(make_extension, handler):
    folder = make_extension(
        f"""
        try:
            document.reject("confidential")
        {handler}
            log("swallowed")
        document.add_meta_data({{"after": "reject"}})
        """
    )
    result = run(folder)
    assert (result.status, result.reason) == ("REJECTED", "confidential")
    assert result.added_metadata == {}


def test_skip_gives_skipped_with_reason_and_item_unchanged(make_extension):
    folder = make_extension("document.add_meta_data({'x': 'y'})\ndocument.skip('not a product page')\nlog('no')")
    result = run(folder)
    assert (result.status, result.reason, result.logs, result.added_metadata) == (
        "SKIPPED", "not a product page", [], {}
    )


@pytest.mark.parametrize(
    "script, last_line",
    [
        ("log('start')\nwhile True:\n    pass\n", (2, 3)),
        ("import time\nlog('start')\ntime.sleep(30)\n", (3,)),
        ("import time\nlog('start')\ntry:\n    time.sleep(30)\nexcept BaseException:\n    time.sleep(30)\n", (6,)),
    ],
    ids=["busy-loop", "sleep", "swallows-the-timeout-once"],
)
def test_timeout_ends_the_script_within_limit_plus_one_second(make_extension, script, last_line):
    folder = make_extension(script)
    runner = harness.Runner(folder, vault={}, timeout=1)
    started = time.monotonic()
    result = runner.run(SAMPLE_DOCUMENT)
    elapsed = time.monotonic() - started
    assert result.status == "TIMEOUT"
    assert elapsed < 2.0
    assert "time limit of 1 s" in result.reason
    assert any(f"line {line} of extension.py" in result.reason for line in last_line)
    assert [e.comment for e in result.logs] == ["start"]
    # the next document still runs, with a fresh deadline
    fast = make_extension("log('fast')")
    assert harness.run_extension(fast, SAMPLE_DOCUMENT, vault={}, timeout=1).status == "SUCCESS"


def test_default_time_limit_is_coveos_five_seconds(make_extension):
    runner = harness.Runner(make_extension("pass"), vault={})
    assert runner.timeout == 5.0


def test_timeout_off_the_main_thread(make_extension):
    folder = make_extension("while True:\n    pass\n")
    box = {}

    def work():
        started = time.monotonic()
        box["result"] = harness.run_extension(folder, SAMPLE_DOCUMENT, vault={}, timeout=0.5)
        box["elapsed"] = time.monotonic() - started

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(5)
    assert box["result"].status == "TIMEOUT"
    assert box["elapsed"] < 1.5


def test_a_previous_alarm_is_restored(make_extension):
    import signal

    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        assert run(make_extension("log('quick')")).status == "SUCCESS"
        time.sleep(0.5)
        assert fired == [True]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_stdout_and_stderr_are_captured_not_printed(make_extension, capsys):
    folder = make_extension("import sys\nprint('to out')\nprint('to err', file=sys.stderr)\nsys.stdout.write('more')")
    result = run(folder)
    assert (result.stdout, result.stderr) == ("to out\nmore", "to err\n")
    assert capsys.readouterr() == ("", "")
    assert any("Coveo does not keep it" in w for w in result.warnings)


def test_missing_vault_key_names_the_key_and_where_to_define_it(make_extension):
    folder = make_extension("token = vault_parameters['pim_token']", name="pim")
    result = run(folder, vault={"other": "fake-other-value"})
    assert result.status == "EXECUTION_ERROR"
    last = result.reason.splitlines()[-1]
    assert "'pim_token'" in last and "VAULT_pim_token" in last and "vault.json" in last
    assert "fake-other-value" not in result.reason


def test_vault_get_returns_none_for_missing_keys_as_in_a_dict(make_extension):
    folder = make_extension("log(repr(vault_parameters.get('absent')))")
    assert run(folder).logs[0].comment == "None"


def test_result_json_has_the_test_api_shape(make_extension):
    folder = make_extension("log('hello', 'Important')\ndocument.add_meta_data({'Brand': 'Acme'})", name="shape")
    data = run(folder).to_json()
    assert set(data) == {"document", "logs", "result", "duration", "dataStreamUris", "harness"}
    assert data["dataStreamUris"] == []
    assert set(data["document"]) == {"id", "metadata", "permissions", "dataStreams"}
    assert data["document"]["metadata"][-1] == {"origin": "shape", "values": {"brand": ["Acme"]}}
    assert data["logs"][0]["severity"] == "IMPORTANT"
    assert set(data["logs"][0]) == {"comment", "severity", "date", "duration", "fields"}
    assert data["logs"][0]["date"].endswith("Z")
    assert data["result"] == {"status": "SUCCESS", "reason": ""}
    assert {"stdout", "stderr", "warnings"} <= set(data["harness"])


def test_bad_inputs_raise_harness_errors(make_extension, tmp_path):
    with pytest.raises(harness.HarnessError, match="no such extension folder or script"):
        run(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(harness.HarnessError, match="no extension.py in this extension folder"):
        run(empty)
    with pytest.raises(harness.HarnessError, match="time limit"):
        run(make_extension("pass"), timeout=0)
    with pytest.raises(harness.HarnessError, match="a document is a path, a dict or DocumentData"):
        run(make_extension("pass"), document=42)


@pytest.mark.parametrize(
    "manifest, message",
    [
        ({"apiVersion": "v9"}, r"\$.apiVersion: expected one of v1, v2"),
        ({"stage": "middle"}, r"\$.stage: expected pre or post"),
        ({"requiredDataStreams": ["BODY_PDF"]}, r"\$.requiredDataStreams"),
        ({"useVault": "yes"}, r"\$.useVault"),
        ({"parameters": {"a": [1]}}, r"\$.parameters"),
        ({"name": 3}, r"\$.name: expected a string"),
    ],
)
def test_bad_manifests_name_the_json_path(make_extension, manifest, message):
    folder = make_extension("pass", manifest=manifest)
    with pytest.raises(harness.HarnessError, match=message):
        run(folder)


def test_malformed_manifest_names_the_file_and_line(make_extension):
    folder = make_extension("pass")
    (folder / "extension.json").write_text('{"name": "x",\n "apiVersion": }')
    with pytest.raises(harness.HarnessError, match=r"extension.json: malformed JSON at line 2 column 16"):
        run(folder)
