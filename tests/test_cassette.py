"""Cassettes: recorded against a real (loopback) server, replayed offline, never holding a value."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cassette import cassette_for, placeholder, use_cassette, vault_placeholders
from harness.cli import main
from harness.errors import HarnessError
from harness.leaks import leaks_in_text
from harness.network import guard_sockets
from harness.redaction import Redactor
from harness.runner import Runner
from harness.vault import LocalVault
from tests.conftest import loopback_server

TOKEN = "fake-api-token-5c1d7e"
OTHER_TOKEN = "fake-rotated-token-0b9f42"


class _Service(BaseHTTPRequestHandler):
    """Answers with what it received, so a value sent out comes back in the answer too."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length).decode("utf-8") if length else ""
        type(self).calls.append((self.command, self.path))  # type: ignore[attr-defined]
        body = json.dumps({
            "name": "Widget",
            "auth": self.headers.get("Authorization", ""),
            "echo": json.loads(sent).get("token", "") if sent else "",
        }).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Request-Token", self.headers.get("X-Token", ""))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer  # noqa: N815 - http.server's naming

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def service() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    calls: list[tuple[str, str]] = []
    with loopback_server(type("Handler", (_Service,), {"calls": calls})) as url:
        yield url, calls


# The token goes out four ways: URL-encoded in the query, base64 in Basic auth, a header, a
# JSON body.  The script then checks that the answer gives it back as it sent it.
SCRIPT = """
import requests
token = vault_parameters["api_token"]
answer = requests.post(
    parameters["base"] + "/items/42",
    params={"key": token + " /?"},
    auth=("indexer", token),
    headers={"X-Token": token},
    json={"token": token},
)
data = answer.json()
document.add_meta_data({
    "name": data["name"],
    "echoed": str(data["echo"] == token),
    "header_echoed": str(answer.headers["X-Request-Token"] == token),
})
"""


@pytest.fixture
def extension(make_extension, service) -> Path:
    base, _ = service
    return make_extension(SCRIPT, name="widgets", manifest={"parameters": {"base": base}},
                          documents={"item.json": {"uri": "https://example.com/item"}})


def run(extension: Path, token: str, mode: str | None) -> Any:
    runner = Runner(extension, vault={"api_token": token})
    document = extension / "documents" / "item.json"
    if mode is None:
        return runner.run(document)
    with use_cassette(cassette_for(runner.extension, document), runner.vault, runner.extension, mode=mode):
        return runner.run(document)


def test_recording_writes_placeholders_for_every_alias_and_no_value(extension, service):
    _, calls = service
    result = run(extension, TOKEN, "record")
    assert result.status == "SUCCESS", result.reason
    assert result.metadata("echoed") == ["True"]
    assert calls == [("POST", f"/items/42?key={TOKEN}+%2F%3F")]
    path = extension / "cassettes" / "item.yaml"
    text = path.read_text(encoding="utf-8")
    # not in any alias the leak engine knows (plain, URL-encoded, base64, JSON ...)
    assert leaks_in_text(Redactor({"api_token": TOKEN}), text, "file", str(path)) == []
    assert vault_placeholders(text) == ["api_token"]
    (interaction,) = yaml.safe_load(text)["interactions"]
    request, response = interaction["request"], interaction["response"]
    hidden = placeholder("api_token")
    assert request["uri"].endswith("/items/42?key=" + hidden + "+%2F%3F")
    # base64("indexer:" + token): the characters mixing the token's bits with its neighbours' stay
    (authorization,) = request["headers"]["Authorization"]
    assert authorization.startswith("Basic aW5kZXhlcjp" + hidden)
    assert request["headers"]["X-Token"] == [hidden]
    assert json.loads(request["body"]) == {"token": hidden}
    assert response["headers"]["X-Request-Token"] == [hidden]
    assert json.loads(response["body"]["string"])["echo"] == hidden


def test_replay_answers_offline_and_puts_the_current_vault_value_back(extension, service):
    _, calls = service
    run(extension, TOKEN, "record")
    with guard_sockets(loopback=False):  # any connection at all would be refused
        replayed = run(extension, OTHER_TOKEN, "replay")
    assert replayed.status == "SUCCESS", replayed.reason
    assert replayed.metadata("name") == ["Widget"]
    # the answer echoed the recording's token; replay gives the script the token of today's vault
    assert replayed.metadata("echoed") == ["True"]
    assert replayed.metadata("header_echoed") == ["True"]
    assert len(calls) == 1


def test_an_unmatched_request_in_replay_fails_the_run_clearly_without_the_value(extension, service, make_extension):
    run(extension, TOKEN, "record")
    (extension / "extension.py").write_text(SCRIPT.replace("/items/42", "/items/43"), encoding="utf-8")
    result = run(extension, TOKEN, "replay")
    assert result.status == "EXECUTION_ERROR"
    last = result.reason.splitlines()[-1]
    assert last.startswith("harness.cassette.CassetteMismatch: ipe-harness: no interaction recorded in ")
    assert "item.yaml matches POST http://127.0.0.1:" in last and "/items/43?key=" in last
    assert placeholder("api_token") in last
    assert "--record" in last
    assert TOKEN not in result.reason


def test_replay_without_a_cassette_says_how_to_record_one(extension):
    with pytest.raises(HarnessError, match=r"item\.yaml: no cassette to replay; record it with `ipe run"):
        run(extension, TOKEN, "replay")


def test_an_unknown_mode_is_refused(tmp_path):
    with pytest.raises(HarnessError, match="cassette mode must be one of replay, record"):
        with use_cassette(tmp_path / "c.yaml", LocalVault.from_values({}), mode="rewind"):
            pass


def test_a_run_without_requests_records_nothing(make_extension):
    folder = make_extension("log('offline')", documents={"a.json": {"uri": "https://example.com/a"}})
    runner = Runner(folder, vault={})
    with use_cassette(folder / "cassettes" / "a.yaml", runner.vault, mode="record") as recording:
        runner.run(folder / "documents" / "a.json")
    assert recording.interactions == 0
    assert not (folder / "cassettes").exists()


# -- the CLI ---------------------------------------------------------------------------------------


def test_ipe_run_records_then_replays_the_document_cassette(extension, service, monkeypatch, capsys):
    _, calls = service
    monkeypatch.setenv("VAULT_api_token", TOKEN)
    assert main(["run", str(extension), "--record", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["result"]["status"] == "SUCCESS"
    assert "recorded 1 HTTP interaction(s) of item.json into" in captured.err
    assert TOKEN not in captured.out + captured.err

    monkeypatch.setenv("VAULT_api_token", OTHER_TOKEN)
    assert main(["run", str(extension), "--json"]) == 0
    captured = capsys.readouterr()
    answer = json.loads(captured.out)
    assert answer["result"]["status"] == "SUCCESS"
    assert answer["document"]["metadata"][-1]["values"]["echoed"] == ["True"]
    assert "replaying" in captured.err and "item.yaml" in captured.err
    assert len(calls) == 1

    assert main(["run", str(extension), "--live", "--json"]) == 0
    assert len(calls) == 2
    assert "replaying" not in capsys.readouterr().err


def test_record_and_live_do_not_go_together(extension, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["run", str(extension), "--record", "--live"])
    assert stopped.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
