"""``ipe check`` gives canaries to the real key set, shaped like the local values, and never calls
an extension clean when no run got far enough to check anything."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from harness.canary import CanaryVault, canary_value
from harness.check import check_extension
from harness.cli import main
from harness.vault import LocalVault, VaultEntry

DOC = {"uri": "https://example.com/item"}
JSON_SECRET = '{"type": "service_account", "client_id": 1234567, "private_key": "fake-KEY-abc123==", "ok": true}'


def check_json(capsys: Any, *args: str) -> tuple[int, list[dict[str, Any]]]:
    code = main(["check", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_script_walking_vault_parameters_is_checked_for_every_local_key(make_extension, capsys, tmp_path):
    (tmp_path / ".env").write_text("VAULT_from_env=fake-env-value-123456\n")
    (tmp_path / "vault.json").write_text(json.dumps([
        {"key": "scoped_here", "value": "fake-scoped-value-1", "scopes": [{"id": "walker", "resourceType": "EXTENSION"}]},
        {"key": "scoped_elsewhere", "value": "fake-other-value-2", "scopes": [{"id": "x", "resourceType": "EXTENSION"}]},
    ]))
    folder = make_extension("""
        for key, value in sorted(vault_parameters.items()):
            log(key + "=" + value)
    """, name="walker", documents={"a.json": DOC})
    code, reports = check_json(capsys, str(folder))
    assert code == 3
    leaked = {leak["key"] for leak in reports[0]["documents"][0]["leaks"]}
    assert leaked == {"from_env", "scoped_here"}  # names only: never a local value, never another scope's key
    out = json.dumps(reports)
    assert "fake-env-value-123456" not in out and "fake-scoped-value-1" not in out


def test_environment_and_snapshot_keys_get_canaries_too(make_extension, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("VAULT_from_ci", "fake-ci-value-654321")
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps({"resources": {"SOURCE": [{
        "resourceName": "mysource", "model": {"configuration": {"password": "{{ VAULT.from_snapshot }}"}}}]}}))
    folder = make_extension("log(repr(sorted(vault_parameters)))", documents={"a.json": DOC})
    code, reports = check_json(capsys, str(folder), "--snapshot", str(snapshot))
    assert code == 3 and reports[0]["documents"][0]["leaks"] == []  # the static pass flags the mapping; names are no leak
    report = check_extension(folder, snapshot=snapshot)
    assert report.results[0].log_texts == ["['from_ci', 'from_snapshot']"]


def test_a_canary_keeps_the_shape_of_the_local_value():
    for _ in range(20):
        value = canary_value(JSON_SECRET)
        parsed = json.loads(value)
        assert set(parsed) == {"type", "client_id", "private_key", "ok"}
        assert parsed["ok"] is True
        assert isinstance(parsed["client_id"], int) and len(str(parsed["client_id"])) == 7
        assert re.fullmatch(r"[a-z]{4}-[A-Z]{3}-[a-z]{3}\d{3}==", parsed["private_key"])
        assert re.fullmatch(r"[a-z]{7}_[a-z]{7}", parsed["type"])
        assert value != JSON_SECRET
    for _ in range(50):
        number = canary_value("8080443")
        assert re.fullmatch(r"[1-9]\d{6}", number) and number != "8080443"
    assert re.fullmatch(r"-\d\.\d{4}", canary_value("-3.1416"))
    pem = "-----BEGIN KEY-----\nAbC9+/x=\n-----END KEY-----"
    shaped = canary_value(pem)
    assert len(shaped) == len(pem) and shaped.count("\n") == 2 and re.fullmatch(r"[A-Z][a-z][A-Z]\d\+/[a-z]=",
                                                                                  shaped.split("\n")[1])
    assert re.fullmatch(r"cnry[0-9a-f]{32}", canary_value())


def test_a_script_that_parses_its_secret_runs_on_with_its_canary(make_extension):
    folder = make_extension("""
        import json
        creds = json.loads(vault_parameters["creds"])
        port = int(vault_parameters["port"])
        log("id " + str(creds["client_id"] + 1) + " port " + str(port > 0))
    """, documents={"a.json": DOC})
    local = LocalVault([VaultEntry("creds", JSON_SECRET, "test"), VaultEntry("port", "8443", "test")], {})
    report = check_extension(folder, vault=local)
    assert report.results[0].status == "SUCCESS"
    assert report.results[0].log_texts[0].endswith(" port True") and not report.results[0].leaks
    canaries = CanaryVault.for_extension(report.extension, local)
    assert canaries.values_for(None)["creds"] != JSON_SECRET
    assert "fake-KEY-abc123" not in repr(canaries)


def test_ipe_check_says_incomplete_when_every_document_fails_on_its_canary(make_extension, capsys):
    folder = make_extension('import json\njson.loads(vault_parameters["creds"])\n',
                            documents={"a.json": DOC, "b.json": DOC})
    code, reports = check_json(capsys, str(folder))
    assert code == 1
    assert reports[0]["incomplete"] is True and reports[0]["clean"] is False
    assert main(["check", str(folder)]) == 1
    text = capsys.readouterr().out
    assert "incomplete" in text and "clean" not in text.split("\n")[0]


def test_one_document_that_runs_makes_the_check_complete(make_extension, capsys):
    folder = make_extension(
        'if document.uri.endswith("bad"):\n    raise ValueError("no")\nlog("fine")\n',
        documents={"a.json": DOC, "b.json": {"uri": "https://example.com/bad"}},
    )
    code, reports = check_json(capsys, str(folder))
    assert code == 0 and reports[0]["clean"] and not reports[0]["incomplete"]


@pytest.mark.parametrize("bad", ["missing.json"])
def test_a_missing_snapshot_is_a_one_line_error(make_extension, capsys, bad):
    folder = make_extension("pass", documents={"a.json": DOC})
    assert main(["check", str(folder), "--snapshot", str(Path(bad))]) == 2
    err = capsys.readouterr().err
    assert "missing.json" in err and "Traceback" not in err
