"""The pytest plugin, seen as its users see it: pytest sessions run with pytester.

Each test writes an extension and a test file into pytester's folder and runs pytest on it;
the plugin comes in through its ``pytest11`` entry point, as it does for a user.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from harness.redaction import Redactor
from tests.conftest import loopback_server

CANARY = re.compile(r"cnry[0-9a-f]{32}")


def write_extension(root: Path, name: str, script: str, documents: dict[str, Any] | None = None) -> Path:
    folder = root / "extensions" / name
    folder.mkdir(parents=True)
    (folder / "extension.py").write_text(textwrap.dedent(script).lstrip("\n"), encoding="utf-8")
    manifest = {"name": name, "apiVersion": "v1", "requiredDataStreams": ["BODY_TEXT", "THUMBNAIL"]}
    (folder / "extension.json").write_text(json.dumps(manifest), encoding="utf-8")
    if documents:
        (folder / "documents").mkdir()
        for filename, document in documents.items():
            (folder / "documents" / filename).write_text(json.dumps(document), encoding="utf-8")
    return folder


TITLE_SCRIPT = """
    title = document.get_meta_data_value("title")
    if not title:
        document.reject("no title")
    document.add_meta_data({"title": title[0].upper()})
    body = document.get_data_stream("body_text")
    if body:
        document.add_meta_data({"bodylength": len(body.read())})
    log("upper-cased", "Debug")
"""


def test_a_passing_test_runs_an_extension_and_asserts_on_its_result(pytester: pytest.Pytester):
    write_extension(pytester.path, "upper", TITLE_SCRIPT,
                    {"page.json": {"uri": "https://example.com/a", "metadata": {"crawler": {"title": "hello"}}}})
    pytester.makepyfile(test_upper="""
        def test_document_file(ipe):
            result = ipe.run("extensions/upper", document="extensions/upper/documents/page.json")
            assert result.status == "SUCCESS"
            assert result.metadata("TITLE") == ["HELLO"]
            assert result.log_texts == ["upper-cased"]
            assert result.logs_at("debug") == ["upper-cased"]
            assert result.leaks == []

        def test_made_document(ipe, make_document):
            document = make_document(
                uri="https://example.com/b",
                metadata={"crawler": {"Title": "made"}},
                data_streams={"body_text": "four", "thumbnail": b"\\x89PNG"},
                permissions=[{"permissionSets": [{"allowedPermissions": [{"identity": "*@*"}]}]}],
            )
            result = ipe.run("extensions/upper", document)
            result.assert_status("SUCCESS")
            assert result.metadata("title") == ["MADE"]
            assert result.metadata("bodylength") == [4]  # body_text reads as str, as in Coveo
            assert result.stream("THUMBNAIL") == b"\\x89PNG"

        def test_rejection_in_a_dict_document(ipe):
            result = ipe.run("extensions/upper", {"uri": "https://example.com/c", "metadata": {"crawler": {}}})
            result.assert_status("REJECTED")
            assert result.reason == "no title"
    """)
    outcome = pytester.runpytest("-q")
    outcome.assert_outcomes(passed=3)


def test_a_failing_assertion_explains_the_run(pytester: pytest.Pytester):
    write_extension(pytester.path, "broken", """
        log("about to divide", "Warning")
        1 / 0
    """)
    pytester.makepyfile(test_broken="""
        def test_status(ipe):
            ipe.run("extensions/broken", {"uri": "https://example.com/a"}).assert_status("SUCCESS")

        def test_plain_assert(ipe):
            result = ipe.run("extensions/broken", {"uri": "https://example.com/a"})
            assert result.ok
    """)
    outcome = pytester.runpytest("-q")
    outcome.assert_outcomes(failed=2)
    text = outcome.stdout.str()
    assert "expected status SUCCESS, got EXECUTION_ERROR" in text
    assert "log WARNING: about to divide" in text
    assert "ZeroDivisionError: division by zero" in text
    # a bare assert shows the one-line summary of the result, not a dump of the dataclass
    assert "<ExtensionResult broken on <dict>: EXECUTION_ERROR: ZeroDivisionError: division by zero>" in text


LEAKY_SCRIPT = """
    log("calling the API with key %s" % vault_parameters["api_key"])
    document.add_meta_data({"checked": "yes"})
"""


def test_a_test_whose_run_leaks_a_vault_value_fails_with_the_findings_and_no_value(pytester: pytest.Pytester):
    write_extension(pytester.path, "leaky", LEAKY_SCRIPT)
    pytester.makepyfile(test_leaky="""
        def test_canary(ipe):
            result = ipe.run("extensions/leaky", {"uri": "https://example.com/a"})
            assert result.status == "SUCCESS"

        def test_set_value(ipe, vault):
            vault["api_key"] = "fake-api-key-7f3e9a"
            result = ipe.run("extensions/leaky", {"uri": "https://example.com/a"})
            assert result.log_texts == ["calling the API with key [REDACTED:api_key]"]
    """)
    outcome = pytester.runpytest("-q")
    outcome.assert_outcomes(failed=2)
    text = outcome.stdout.str()
    assert "a vault value leaked during this test" in text
    assert "api_key: log (plain) at log entry 1" in text
    assert "@pytest.mark.ipe_allow_leaks" in text
    assert "fake-api-key-7f3e9a" not in text
    assert not CANARY.search(text)


def test_a_test_marked_ipe_allow_leaks_passes_and_sees_the_findings(pytester: pytest.Pytester):
    write_extension(pytester.path, "leaky", LEAKY_SCRIPT)
    pytester.makepyfile(test_leaky="""
        import pytest

        @pytest.mark.ipe_allow_leaks
        def test_the_detector_sees_the_log(ipe):
            result = ipe.run("extensions/leaky", {"uri": "https://example.com/a"})
            assert [(leak.key, leak.channel) for leak in result.leaks] == [("api_key", "log")]
    """)
    pytester.runpytest("-q").assert_outcomes(passed=1)


def test_the_test_vault_gives_canaries_and_set_values_never_the_env_file_unless_asked(pytester: pytest.Pytester):
    write_extension(pytester.path, "compare", """
        document.add_meta_data({"same": str(vault_parameters["token"] == parameters["expected"])})
    """)
    (pytester.path / ".env").write_text("VAULT_token=fake-token-from-dotenv\n", encoding="utf-8")
    pytester.makepyfile(test_compare="""
        DOC = {"uri": "https://example.com/a"}

        def run(ipe, expected):
            return ipe.run("extensions/compare", DOC, parameters={"expected": expected})

        def test_default_is_a_canary_not_the_env_file(ipe, vault):
            assert run(ipe, "fake-token-from-dotenv").metadata("same") == ["False"]
            assert vault["token"].startswith("cnry")
            assert run(ipe, vault["token"]).metadata("same") == ["True"]

        def test_set_value(ipe, vault):
            vault["token"] = "fake-token-set-by-test"
            assert run(ipe, "fake-token-set-by-test").metadata("same") == ["True"]

        def test_load_local_opts_in(ipe, vault):
            vault.load_local()
            assert run(ipe, "fake-token-from-dotenv").metadata("same") == ["True"]

        def test_dict_vault(ipe):
            result = ipe.run("extensions/compare", DOC, parameters={"expected": "fake-x-123456"},
                             vault={"token": "fake-x-123456"})
            assert result.metadata("same") == ["True"]
    """)
    pytester.runpytest("-q").assert_outcomes(passed=4)


BLOCKED_SCRIPT = """
    import requests
    try:
        requests.get("https://api.unmocked.example/v1/items?q=1", timeout=2)
    except requests.ConnectionError as error:
        log(str(error), "Error")
    else:
        log("answered")
"""


def test_an_unmocked_request_is_blocked_with_a_message_naming_the_url_and_the_ways_out(pytester: pytest.Pytester):
    write_extension(pytester.path, "caller", BLOCKED_SCRIPT)
    pytester.makepyfile(test_caller="""
        def test_blocked(ipe):
            result = ipe.run("extensions/caller", {"uri": "https://example.com/a"})
            (message,) = result.logs_at("Error")
            assert "ipe-harness blocked a connection to api.unmocked.example:443" in message
            assert "/v1/items?q=1" in message
            assert "requests_mock" in message and "ipe_allow_hosts" in message

        def test_mocked(ipe, requests_mock):
            requests_mock.get("https://api.unmocked.example/v1/items", json={})
            result = ipe.run("extensions/caller", {"uri": "https://example.com/a"})
            assert result.log_texts == ["answered"]
            assert requests_mock.call_count == 1
    """)
    pytester.runpytest("-q").assert_outcomes(passed=2)


def test_allowed_hosts_come_from_markers_and_the_ini_option(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\nipe_allow_hosts = api.one.example api.two.example\n")
    pytester.makepyfile(test_hosts="""
        import pytest

        @pytest.mark.ipe_allow_hosts("api.three.example")
        def test_hosts(ipe):
            assert ipe.allowed_hosts == ["api.one.example", "api.two.example", "api.three.example"]
    """)
    pytester.runpytest("-q").assert_outcomes(passed=1)


# -- cassettes -------------------------------------------------------------------------------------


class _Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        type(self).calls.append(self.path)  # type: ignore[attr-defined]
        body = json.dumps({"name": "Widget", "seen_auth": self.headers.get("Authorization", "")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def api_server() -> Iterator[tuple[str, list[str]]]:
    calls: list[str] = []
    with loopback_server(type("Handler", (_Api,), {"calls": calls})) as url:
        yield url, calls


CALLER_SCRIPT = """
    import requests
    answer = requests.get(parameters["base"] + "/items/42", auth=("indexer", vault_parameters["api_password"]))
    document.add_meta_data({"name": answer.json()["name"]})
"""


def test_a_cassette_is_recorded_with_placeholders_then_replayed_offline(pytester: pytest.Pytester, api_server):
    base, calls = api_server
    write_extension(pytester.path, "caller", CALLER_SCRIPT,
                    {"item.json": {"uri": "https://example.com/item", "parameters": {"base": base}}})
    pytester.makepyfile(test_caller="""
        import pytest

        @pytest.mark.ipe_cassette
        @pytest.mark.ipe_allow_leaks  # the loopback stand-in speaks plain http: a real leak, on purpose
        def test_item(ipe, vault):
            vault["api_password"] = "fake-api-password-456"
            result = ipe.run("extensions/caller", "extensions/caller/documents/item.json")
            assert result.metadata("name") == ["Widget"]
    """)
    # no cassette yet: replay says where it looked and how to record it
    first = pytester.runpytest("-q")
    first.assert_outcomes(failed=1)
    assert "no cassette to replay" in first.stdout.str() and calls == []

    pytester.runpytest("-q", "--ipe-record").assert_outcomes(passed=1)
    assert calls == ["/items/42"]
    cassette = pytester.path / "extensions" / "caller" / "cassettes" / "item.yaml"
    text = cassette.read_text(encoding="utf-8")
    assert "Basic aW5kZXhlcjp{{ VAULT.api_password }}" in text  # base64("indexer:" + password)
    assert Redactor({"api_password": "fake-api-password-456"}).find(text) == []

    pytester.runpytest("-q").assert_outcomes(passed=1)
    assert calls == ["/items/42"]  # the replay reached no server


# -- golden files ----------------------------------------------------------------------------------


def test_a_golden_file_is_written_then_checked(pytester: pytest.Pytester):
    folder = write_extension(pytester.path, "upper", TITLE_SCRIPT,
                             {"page.json": {"uri": "https://example.com/a", "metadata": {"crawler": {"title": "hi"}}}})
    pytester.makepyfile(test_golden="""
        def test_page(ipe):
            ipe.assert_golden(ipe.run("extensions/upper", "extensions/upper/documents/page.json"))
    """)
    golden = folder / "documents" / "page.expected.json"

    missing = pytester.runpytest("-q")
    missing.assert_outcomes(failed=1)
    assert "no golden result yet; write it with `pytest --ipe-update-golden`" in missing.stdout.str()

    pytester.runpytest("-q", "--ipe-update-golden").assert_outcomes(passed=1)
    written = json.loads(golden.read_text(encoding="utf-8"))
    assert written["result"] == {"status": "SUCCESS", "reason": ""}
    assert written["logs"] == [{"comment": "upper-cased", "fields": {}, "severity": "DEBUG"}]
    assert "duration" not in written

    pytester.runpytest("-q").assert_outcomes(passed=1)

    script = textwrap.dedent(TITLE_SCRIPT).replace('"upper-cased"', '"made upper case"')
    (folder / "extension.py").write_text(script, encoding="utf-8")
    changed = pytester.runpytest("-q")
    changed.assert_outcomes(failed=1)
    text = changed.stdout.str()
    assert "differs from its golden file" in text and "--ipe-update-golden" in text
    assert '-      "comment": "upper-cased",' in text
    assert '+      "comment": "made upper case",' in text
