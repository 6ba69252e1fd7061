"""The static leak pass: which vault values reach which sinks, read from the source alone.

Every snippet is its own test case and pins the exact (channel, key, line) of each finding, so a
change in the analysis that loses a flow, invents one, or moves it shows up by name.
"""

from __future__ import annotations

import textwrap
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.taint import CHANNELS, Flow, find_flows

EXTENSIONS = Path(__file__).resolve().parent.parent / "extensions"


def flows_of(source: str) -> list[tuple[str, str | None, int]]:
    report = find_flows(textwrap.dedent(source).lstrip("\n"))
    return [(flow.channel, flow.key, flow.line) for flow in report.flows]


def limits_of(source: str) -> list[str]:
    return find_flows(textwrap.dedent(source).lstrip("\n")).limits


LEAKS = [
    pytest.param(
        """
        token = vault_parameters["pim_token"]
        log(f"calling the PIM with {token}")
        """,
        [("log", "pim_token", 2)],
        id="fstring-in-log",
    ),
    pytest.param(
        """
        import logging
        password = vault_parameters["db_password"]
        logging.info("connecting with password %s" % password)
        logging.debug("again: %s", password)
        """,
        [("logging", "db_password", 3), ("logging", "db_password", 4)],
        id="percent-in-logging-info",
    ),
    pytest.param(
        """
        key = vault_parameters.get("api_key")
        print("key is {}".format(key))
        """,
        [("stdout", "api_key", 2)],
        id="format-in-print",
    ),
    pytest.param(
        """
        import sys
        print("debug", vault_parameters["api_key"].strip(), file=sys.stderr)
        """,
        [("stderr", "api_key", 2)],
        id="print-to-stderr",
    ),
    pytest.param(
        """
        secret = vault_parameters["signing_secret"]
        label = "signed with " + secret.upper()
        document.add_meta_data({"signature": label})
        """,
        [("metadata", "signing_secret", 3)],
        id="concatenation-into-add-meta-data",
    ),
    pytest.param(
        """
        def warn(message):
            log(message, "Warning")

        def describe(credential):
            return "using credential " + credential

        warn(describe(vault_parameters["pim_password"]))
        """,
        [("log", "pim_password", 2)],
        id="via-helper-function",
    ),
    pytest.param(
        """
        import json
        config = {"user": parameters.get("user"), "token": vault_parameters["crm_token"]}
        payload = json.dumps(config)
        document.add_meta_data({"debug": payload})
        """,
        [("metadata", "crm_token", 4)],
        id="dict-then-json-dumps",
    ),
    pytest.param(
        """
        import requests
        k = vault_parameters["maps_key"]
        response = requests.get(f"https://api.example.com/x?key={k}", timeout=3)
        """,
        [("url", "maps_key", 3)],
        id="secret-in-url-query",
    ),
    pytest.param(
        """
        import requests
        k = vault_parameters["maps_key"]
        response = requests.get("https://api.example.com/geo", params={"key": k, "q": document.uri})
        """,
        [("url", "maps_key", 3)],
        id="secret-in-params",
    ),
    pytest.param(
        """
        import requests
        BASE = "http://pim.internal.example.com"
        headers = {"Authorization": "Bearer " + vault_parameters["pim_token"]}
        requests.post(BASE + "/products", headers=headers, json={"uri": document.uri})
        """,
        [("plain_http", "pim_token", 4)],
        id="plain-http-with-auth-header",
    ),
    pytest.param(
        """
        import base64
        import requests
        basic = base64.b64encode(f"indexer:{vault_parameters['pim_password']}".encode()).decode()
        requests.get("http://pim.example.com/api", headers={"Authorization": "Basic " + basic})
        """,
        [("plain_http", "pim_password", 4)],
        id="plain-http-with-base64-basic-auth",
    ),
    pytest.param(
        """
        k = vault_parameters["license_key"]
        if len(k) != 32:
            raise ValueError(f"bad license key {k}")
        """,
        [("exception", "license_key", 3)],
        id="raise-value-error",
    ),
    pytest.param(
        """
        token = vault_parameters["token"]
        assert token.startswith("tk_"), "unexpected token " + token
        """,
        [("exception", "token", 2)],
        id="assert-message",
    ),
    pytest.param(
        """
        document.DataStream("body_text").write(vault_parameters["footer"])
        body = document.DataStream("body_html")
        body.write("<p>" + vault_parameters["banner"] + "</p>")
        document.add_data_stream(body)
        """,
        [("data_stream", "footer", 1), ("data_stream", "banner", 3)],
        id="data-stream-write",
    ),
    pytest.param(
        """
        service = vault_parameters["service_account"]
        document.add_allowed(service, "user", "Email Security Provider")
        extra = document.Permission(service, "user", "Email Security Provider")
        """,
        [("permissions", "service_account", 2), ("permissions", "service_account", 3)],
        id="permission-identity",
    ),
    pytest.param(
        """
        token = vault_parameters["token"]
        if False:
            document.add_meta_data({"token": token})
        rare = document.get_meta_data_value("rare")
        if rare and rare[0] == "debug-me":
            log("token=" + token, "Debug")
        """,
        [("metadata", "token", 3), ("log", "token", 6)],
        id="unreached-branches",
    ),
    pytest.param(
        """
        for name, value in vault_parameters.items():
            log(f"vault entry {name} = {value}")
        """,
        [("log", None, 2)],
        id="loop-over-items",
    ),
    pytest.param(
        """
        which = parameters.get("credential", "primary")
        log("using " + vault_parameters[which])
        """,
        [("log", None, 2)],
        id="dynamic-key",
    ),
    pytest.param(
        """
        KEY = "api_key"
        key = vault_parameters.get(KEY, "")
        log(key)
        """,
        [("log", "api_key", 3)],
        id="constant-key-in-a-name",
    ),
    pytest.param(
        """
        token = vault_parameters["token"]
        if not document.get_meta_data_value("sku"):
            document.reject("no sku (token " + token + ")")
        """,
        [("reason", "token", 3)],
        id="reject-reason",
    ),
    pytest.param(
        """
        with open("/tmp/ipe-debug.txt", "w") as fh:
            fh.write(vault_parameters["token"])
        """,
        [("file", "token", 2)],
        id="file-write",
    ),
    pytest.param(
        """
        import requests
        url = "https://api.example.com/items?apikey=" + vault_parameters["api_key"]
        try:
            response = requests.get(url, timeout=3)
        except requests.RequestException as error:
            log("request failed: %s" % error, "Warning")
        """,
        [("url", "api_key", 4), ("log", "api_key", 6)],
        id="exception-that-quotes-the-url",
    ),
    pytest.param(
        """
        user, password = parameters["user"], vault_parameters["password"]
        log("user " + user)
        log("password " + password)
        """,
        [("log", "password", 3)],
        id="tuple-unpacking-keeps-positions",
    ),
    pytest.param(
        """
        import logging
        logger = logging.getLogger(__name__)
        message = "token: "
        message += vault_parameters["token"]
        logger.warning(message)
        """,
        [("logging", "token", 5)],
        id="augmented-assignment-into-logger",
    ),
    pytest.param(
        """
        if (secret := vault_parameters.get("secret")) is not None:
            shown = [secret[:4], "****"]
            log("".join(shown))
        """,
        [("log", "secret", 3)],
        id="walrus-and-slice",
    ),
    pytest.param(
        """
        class Client:
            def __init__(self, token):
                self.token = token

            def describe(self):
                log("client with token " + self.token)

        Client(vault_parameters["token"]).describe()
        """,
        [("log", "token", 6)],
        id="object-attribute",
    ),
    pytest.param(
        """
        from urllib.request import urlopen
        urlopen("https://api.example.com/?token=%s" % vault_parameters["token"])
        """,
        [("url", "token", 2)],
        id="urlopen-url",
    ),
    pytest.param(
        """
        import requests
        session = requests.Session()
        session.headers.update({"X-Api-Key": vault_parameters["api_key"]})
        session.get("http://api.example.com/items")
        session.get("https://api.example.com/items")
        """,
        [("plain_http", "api_key", 4)],
        id="session-credentials-over-http",
    ),
    pytest.param(
        """
        mask = lambda value: value.replace("-", "")
        log(mask(vault_parameters["license"]))
        """,
        [("log", "license", 2)],
        id="lambda",
    ),
    pytest.param(
        """
        values = [v.strip() for v in vault_parameters.values()]
        log(", ".join(values))
        """,
        [("log", None, 2)],
        id="comprehension-over-values",
    ),
    pytest.param(
        """
        log(vault_parameters)
        """,
        [("log", None, 1)],
        id="whole-mapping",
    ),
    pytest.param(
        """
        copy = dict(vault_parameters)
        log(str(copy["token"]) + vault_parameters["other"])
        """,
        [("log", "other", 2), ("log", "token", 2)],
        id="dict-copy-and-two-keys",
    ),
    pytest.param(
        """
        def tokens():
            yield vault_parameters["a"]

        for t in tokens():
            print(t)
        """,
        [("stdout", "a", 5)],
        id="generator",
    ),
    pytest.param(
        """
        def outer():
            token = vault_parameters["t"]

            def inner():
                log(token)

            inner()
        """,
        [("log", "t", 5)],
        id="closure",
    ),
    pytest.param(
        """
        TOKEN = None

        def init():
            global TOKEN
            TOKEN = vault_parameters["t"]

        def show():
            print(TOKEN)
        """,
        [("stdout", "t", 8)],
        id="global-declaration",
    ),
    pytest.param(
        """
        def send(*, secret=None, **extra):
            log(secret)
            log(extra)

        send(secret=vault_parameters["s"], more=vault_parameters["m"])
        """,
        [("log", "s", 2), ("log", "m", 3)],
        id="keyword-and-kwargs-parameters",
    ),
    pytest.param(
        """
        class Bad(Exception):
            pass

        err = Bad("token " + vault_parameters["s"])
        raise err
        """,
        [("exception", "s", 5)],
        id="script-exception-class",
    ),
    pytest.param(
        """
        match vault_parameters.get("mode"):
            case "a":
                pass
            case other:
                log(other)
        """,
        [("log", "mode", 5)],
        id="match-capture",
    ),
    pytest.param(
        """
        import io
        buffer = io.StringIO()
        buffer.write(vault_parameters["k"])
        log(buffer.getvalue())
        """,
        [("log", "k", 4)],
        id="stringio-buffer",
    ),
    pytest.param(
        """
        import sys
        sys.stderr.write(vault_parameters["k"] + "\\n")
        """,
        [("stderr", "k", 2)],
        id="sys-stderr-write",
    ),
    pytest.param(
        """
        import traceback
        try:
            raise RuntimeError(vault_parameters["k"])
        except RuntimeError:
            log(traceback.format_exc(), "Error")
        """,
        [("exception", "k", 3), ("log", "k", 5)],
        id="traceback-of-a-tainted-exception",
    ),
    pytest.param(
        """
        import logging

        class Worker:
            def __init__(self):
                self.logger = logging.getLogger("worker")

            def run(self, value):
                self.logger.info("value=%s", value)

        Worker().run(vault_parameters["k"])
        """,
        [("logging", "k", 8)],
        id="logger-on-self",
    ),
    pytest.param(
        """
        meta = {}
        meta["title"] = document.get_meta_data_value("title")
        meta["token"] = vault_parameters["k"]
        document.add_meta_data(meta)
        """,
        [("metadata", "k", 4)],
        id="dict-item-assignment",
    ),
    pytest.param(
        """
        import json
        from pathlib import Path
        Path("/tmp/token.txt").write_text(vault_parameters["a"])
        with open("/tmp/cfg.json", "w") as handle:
            json.dump({"b": vault_parameters["b"]}, handle)
        """,
        [("file", "a", 3), ("file", "b", 5)],
        id="path-write-text-and-json-dump",
    ),
    pytest.param(
        """
        say = document.log
        say("port " + str(int(vault_parameters["port"])))
        """,
        [("log", "port", 2)],
        id="aliased-document-log-and-int",
    ),
    pytest.param(
        """
        document.skip(reason="no access with " + vault_parameters["k"])
        """,
        [("reason", "k", 1)],
        id="skip-reason-keyword",
    ),
]


@pytest.mark.parametrize(("source", "expected"), LEAKS)
def test_leak_is_found(source: str, expected: list[tuple[str, str | None, int]]) -> None:
    assert flows_of(source) == expected


CLEAN = [
    pytest.param(
        """
        import requests

        r = requests.get("https://example.com", auth=("yourusername", vault_parameters["IPE_password"]))

        if r.status_code == 200:
            document.add_meta_data({"status": r.text})
        """,
        id="coveo-doc-example-auth-over-https",
    ),
    pytest.param(
        """
        if vault_parameters["token"]:
            log("token configured")
        """,
        id="truthiness-test",
    ),
    pytest.param(
        """
        secret = vault_parameters["secret"]
        log("secret has %d characters" % len(secret))
        log("configured: %s" % bool(vault_parameters.get("other")))
        """,
        id="length-and-bool",
    ),
    pytest.param(
        """
        import hashlib
        secret = vault_parameters["secret"]
        fingerprint = hashlib.sha256(secret.encode()).hexdigest()
        document.add_meta_data({"keyfingerprint": fingerprint})
        h = hashlib.md5()
        h.update(secret.encode())
        log(h.hexdigest())
        """,
        id="hash-is-not-a-leak",
    ),
    pytest.param(
        """
        import hashlib
        import hmac
        signature = hmac.new(vault_parameters["key"].encode(), document.uri.encode(), hashlib.sha256).hexdigest()
        log("signature " + signature)
        """,
        id="hmac-signature",
    ),
    pytest.param(
        """
        import requests
        session = requests.Session()
        session.headers["Authorization"] = "Bearer " + vault_parameters["token"]
        response = session.get("https://api.example.com/items/" + document.uri)
        document.add_meta_data({"title": response.json()["title"]})
        log("HTTP %d" % response.status_code)
        """,
        id="bearer-token-over-https-session",
    ),
    pytest.param(
        """
        for key in vault_parameters:
            log("vault has " + key)
        log(", ".join(sorted(vault_parameters.keys())))
        """,
        id="key-names",
    ),
    pytest.param(
        """
        expected = vault_parameters["shared_secret"]
        given = document.get_meta_data_value("secret")
        if given and given[0] == expected:
            log("signature matches")
        """,
        id="comparison",
    ),
    pytest.param(
        """
        user, password = parameters["user"], vault_parameters["password"]
        log("user " + user)
        """,
        id="tuple-unpacking-clean-element",
    ),
    pytest.param(
        """
        config = {"user": parameters.get("user", "indexer"), "password": vault_parameters["password"]}
        log("logging in as " + config["user"])
        """,
        id="dict-with-constant-keys",
    ),
    pytest.param(
        """
        import requests
        url = parameters.get("base_url", "https://pim.example.com") + "/login"
        response = requests.post(url, json={"password": vault_parameters["password"]}, timeout=3)
        document.add_meta_data({"title": response.json()["title"]})
        """,
        id="response-data-into-metadata",
    ),
    pytest.param(
        """
        import requests
        try:
            requests.get("https://api.example.com", auth=("u", vault_parameters["pw"]), timeout=3)
        except requests.RequestException as error:
            log("request failed: %s" % error, "Warning")
        """,
        id="exception-of-a-clean-url",
    ),
    pytest.param(
        """
        import urllib.request
        request = urllib.request.Request(
            "https://api.example.com/items",
            headers={"Authorization": "Bearer " + vault_parameters["token"]},
        )
        with urllib.request.urlopen(request, timeout=3) as answer:
            document.add_meta_data({"status": str(answer.status)})
        """,
        id="urllib-request-over-https",
    ),
    pytest.param(
        """
        title = document.get_meta_data_value("title")
        log("title: %s" % title)
        document.add_meta_data({"region": parameters.get("region", "ca")})
        """,
        id="no-vault-at-all",
    ),
    pytest.param(
        """
        def auth_header():
            return {"Authorization": "Bearer " + vault_parameters["token"]}

        def label(text):
            return text.upper()

        log(label("done"))
        """,
        id="function-returning-a-secret-not-logged",
    ),
    pytest.param(
        """
        import requests
        data = {"password": vault_parameters["pw"]}
        r = requests.post("https://api.example.com/login", data=data)
        data = r.json()
        document.add_meta_data({"title": data["title"]})
        """,
        id="name-reused-for-a-response",
    ),
    pytest.param(
        """
        meta = {"title": "x"}
        meta["token"] = vault_parameters["k"]
        log(meta["title"])
        """,
        id="other-key-of-a-dict",
    ),
]


@pytest.mark.parametrize("source", CLEAN)
def test_clean_script_has_no_flow(source: str) -> None:
    assert flows_of(source) == []


@pytest.mark.parametrize("name", sorted(p.name for p in EXTENSIONS.iterdir() if (p / "extension.py").is_file()))
def test_example_extensions_have_no_flow(name: str) -> None:
    source = (EXTENSIONS / name / "extension.py").read_text(encoding="utf-8")
    report = find_flows(source, filename=f"{name}/extension.py")
    assert report.flows == []
    assert report.limits == []


# -- what the report looks like -----------------------------------------------------------


def test_flow_names_the_sink_the_route_and_the_column() -> None:
    report = find_flows(
        textwrap.dedent(
            """\
            import requests
            def fetch(k):
                return requests.get("https://api.example.com/x", params={"key": k})
            fetch(vault_parameters["maps_key"])
            """
        )
    )
    assert report.flows == [
        Flow(key="maps_key", channel="url", line=3, col=11, sink="requests.get params", via="fetch(k)")
    ]
    assert report.flows[0].channel in CHANNELS


def test_flows_are_sorted_by_line_and_frozen() -> None:
    report = find_flows(
        textwrap.dedent(
            """\
            def late():
                print(vault_parameters["b"])
            log(vault_parameters["a"])
            late()
            """
        )
    )
    assert [(f.line, f.key) for f in report.flows] == [(2, "b"), (3, "a")]
    with pytest.raises(FrozenInstanceError):
        report.flows[0].line = 9  # type: ignore[misc]


def test_filename_is_kept() -> None:
    assert find_flows("log(1)\n", filename="ext/extension.py").filename == "ext/extension.py"


# -- limits --------------------------------------------------------------------------------

LIMITS = [
    pytest.param('eval("log(vault_parameters[\'a\'])")\n', "extension.py:1: eval() runs code", id="eval"),
    pytest.param("x = 1\nexec(parameters['code'])\n", "extension.py:2: exec() runs code", id="exec"),
    pytest.param(
        "name = parameters['f']\nf = getattr(document, name)\n",
        "extension.py:2: getattr() with a name computed at run time",
        id="dynamic-getattr",
    ),
    pytest.param(
        "g = globals()\nlog(g['vault_parameters']['k'])\n",
        "extension.py:1: globals() exposes variables",
        id="globals",
    ),
    pytest.param(
        "class C:\n    def __init__(self):\n        self.secret = vault_parameters['k']\nC()\n",
        "extension.py:3: a vault value is stored on attribute '.secret'",
        id="attribute-store",
    ),
    pytest.param(
        "import boto3\nclient = boto3.client('s3', aws_secret_access_key=vault_parameters['aws'])\n",
        "extension.py:2: a vault value is passed to boto3.client() from module 'boto3'",
        id="unknown-module",
    ),
    pytest.param(
        "def f(a, b):\n    log(b)\nargs = [1, vault_parameters['k']]\nf(*args)\n",
        "extension.py:4: arguments spread with * or ** into f()",
        id="star-args",
    ),
    pytest.param(
        "from os.path import *\n",
        "extension.py:1: 'from os.path import *' brings names the analysis does not know",
        id="import-star",
    ),
    pytest.param(
        "import functools\n@functools.singledispatch\ndef f(x):\n    log(x)\n",
        "extension.py:2: decorator 'functools.singledispatch' on f() is not followed",
        id="decorator",
    ),
    pytest.param(
        "def run(callback):\n    callback(vault_parameters['k'])\n",
        "extension.py:2: a vault value is passed to callback(), a callable the analysis cannot resolve",
        id="unresolved-callable",
    ),
]


@pytest.mark.parametrize(("source", "expected"), LIMITS)
def test_limit_is_noted_with_its_line(source: str, expected: str) -> None:
    limits = find_flows(source).limits
    assert any(note.startswith(expected) for note in limits), limits


def test_globals_read_is_still_reported_with_unknown_key() -> None:
    assert flows_of("g = globals()\nlog(g['vault_parameters']['k'])\n") == [("log", None, 2)]


def test_star_args_spreading_still_reaches_the_parameter() -> None:
    assert flows_of("def f(a, b):\n    log(b)\nargs = [1, vault_parameters['k']]\nf(*args)\n") == [("log", "k", 2)]


def test_unknown_module_result_is_assumed_clean() -> None:
    source = """
    import boto3
    client = boto3.client("s3", aws_secret_access_key=vault_parameters["aws"])
    body = client.get_object(Bucket="b", Key=document.uri)["Body"].read()
    document.add_meta_data({"size": len(body)})
    """
    assert flows_of(source) == []


def test_clean_script_has_no_limits() -> None:
    assert limits_of("import requests\nrequests.get('https://x', auth=('u', vault_parameters['p']))\n") == []


# -- scripts that do not parse -------------------------------------------------------------


def test_syntax_error_names_file_and_line() -> None:
    with pytest.raises(HarnessError) as caught:
        find_flows("x = 1\nlog(vault_parameters['k']\n", filename="extensions/broken/extension.py")
    message = str(caught.value)
    assert message.startswith("extensions/broken/extension.py: syntax error at line 2")
    assert "\n" not in message


def test_null_byte_is_a_harness_error() -> None:
    with pytest.raises(HarnessError, match=r"^extension\.py: "):
        find_flows("x = 1\x00\n")
