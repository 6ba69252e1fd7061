"""A loopback stand-in of the Coveo platform, built from the shapes of Coveo's OpenAPI documents.

It serves, on 127.0.0.1, what the ``ipe`` platform commands call:

* Extension API (``coveo-extension-openapi``): ``POST /extensions`` (``EditExtensionModel`` in,
  201 ``ExtensionModel`` out), ``GET/PUT/DELETE /extensions/{id}``, ``GET /extensions/{id}/code``,
  ``POST /extensions/{id}/test`` (``ExtensionTestModel`` in, ``ExtensionTestExecutionReportModel``
  out: the stored script is run by the harness itself, the reason of an error rewritten the way
  Coveo words it, and the duration in seconds; the harness's SKIPPED, which the Test API's status
  enum lacks, is answered as SUCCESS with the item unchanged: how Coveo reports ``document.skip()``
  is not documented, and a stand-in must stay within the documented shapes);
* Vault API (``coveo-migration-openapi``): ``POST /vaultentries`` (``VaultEntryModel``; an
  existing key answers ``exists_status``), ``GET/PUT/DELETE /vaultentries/{key}``.

Every call needs ``Authorization: Bearer <api_key>`` (else 401).  :meth:`PlatformStandIn.fail`
scripts failures (a 429 with ``Retry-After``, a 403...), :attr:`tamper` alters test reports, and
:attr:`requests` records every request for the assertions.
"""

from __future__ import annotations

import json
import secrets
import string
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from harness.runner import Runner, read_document
from tests.conftest import loopback_server

_LANGUAGES = ("PYTHON3",)
_STREAMS = ("BODY_TEXT", "BODY_HTML", "THUMBNAIL", "DOCUMENT_DATA", "BODY_MARKDOWN")
_VALUE_TYPES = ("BOOLEAN", "FLOAT", "INTEGER", "STRING")
_VISIBILITIES = ("PUBLIC", "OBFUSCATED", "STRICT")


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class Failure:
    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    times: int


@dataclass
class PlatformStandIn:
    api_key: str
    organization: str
    exists_status: int = 412
    extensions: dict[str, dict[str, Any]] = field(default_factory=dict)
    vault: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    tamper: Callable[[dict[str, Any]], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, method: str, path: str, status: int, *, headers: dict[str, str] | None = None,
             times: int = 1, body: dict[str, Any] | None = None) -> None:
        """Answer the next ``times`` ``method`` requests whose path ends with ``path`` with ``status``."""
        self.failures.append(Failure(method, path, status, headers or {}, body or {"errorCode": "SCRIPTED",
                                     "message": f"scripted {status}"}, times))

    def calls(self, method: str | None = None, suffix: str = "") -> list[Recorded]:
        return [r for r in self.requests if (method is None or r.method == method) and r.path.endswith(suffix)]

    @contextmanager
    def serve(self) -> Iterator[str]:
        standin = self

        class Handler(_Handler):
            platform = standin

        with loopback_server(Handler) as url:
            yield url

    # -- the API ---------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: str) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            self.requests.append(Recorded(method, path, headers, body))
            if headers.get("Authorization") != f"Bearer {self.api_key}":
                return 401, {}, {"errorCode": "INVALID_TOKEN", "message": "The token is invalid or expired."}
            for failure in self.failures:
                if failure.times > 0 and failure.method == method and path.endswith(failure.path):
                    failure.times -= 1
                    return failure.status, failure.headers, failure.body
        prefix = f"/rest/organizations/{self.organization}/"
        if not path.startswith(prefix):
            return 404, {}, {"errorCode": "ORGANIZATION_NOT_FOUND", "message": "No such organization."}
        parts = [unquote(p) for p in path[len(prefix):].split("/")]
        data = json.loads(body) if body and headers.get("Content-Type", "").startswith("application/json") else None
        if parts[0] == "extensions":
            return self._extensions(method, parts[1:], data)
        if parts[0] == "vaultentries":
            return self._vault(method, parts[1:], data)
        return 404, {}, {"errorCode": "NOT_FOUND", "message": path}

    def _extensions(self, method: str, rest: list[str], data: Any) -> tuple[int, dict[str, str], Any]:
        if not rest and method == "POST":
            problem = _check_edit_model(data)
            if problem:
                return 400, {}, {"errorCode": "INVALID_REQUEST", "message": problem}
            part = "".join(secrets.choice(string.ascii_lowercase + "234567") for _ in range(26))
            extension_id = f"{self.organization}-{part}"
            now = int(time.time() * 1000)
            model = {
                "id": extension_id, "createdDate": now, "enabled": True,
                "status": {"dailyStatistics": {"averageDurationInSeconds": 0, "numberOfErrors": 0,
                                               "numberOfExecutions": 0, "numberOfSkips": 0, "numberOfTimeouts": 0},
                           "disabledStatus": {"disabledDate": 0}, "durationHealth": {"healthIndicator": "UNKNOWN"},
                           "timeoutHealth": {"healthIndicator": "UNKNOWN"}, "timeoutLikeliness": "NONE"},
                "description": "", "language": "PYTHON3", "apiVersion": "v1", "requiredDataStreams": [],
                "useVault": False,
            }
            model.update(data)
            model.update(versionId=secrets.token_hex(8), lastModified=now)
            self.extensions[extension_id] = model
            return 201, {}, model
        if not rest:
            return 405, {}, {"errorCode": "METHOD_NOT_ALLOWED", "message": method}
        model = self.extensions.get(rest[0])
        if model is None:
            return 404, {}, {"errorCode": "EXTENSION_NOT_FOUND", "message": f"The extension {rest[0]} was not found."}
        if len(rest) == 1 and method == "GET":
            return 200, {}, model
        if len(rest) == 1 and method == "PUT":
            problem = _check_edit_model(data)
            if problem:
                return 400, {}, {"errorCode": "INVALID_REQUEST", "message": problem}
            model.update(data)
            model.update(versionId=secrets.token_hex(8), lastModified=int(time.time() * 1000))
            return 200, {}, model
        if len(rest) == 1 and method == "DELETE":
            del self.extensions[rest[0]]
            return 204, {}, None
        if rest[1:] == ["code"] and method == "GET":
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, model["content"]
        if rest[1:] == ["test"] and method == "POST":
            report = self._run_test(model, data or {})
            if self.tamper is not None:
                self.tamper(report)
            return 200, {}, report
        return 405, {}, {"errorCode": "METHOD_NOT_ALLOWED", "message": method}

    def _run_test(self, model: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
        """Run the stored script on the request's document, as the platform would, with the vault
        entries scoped to the extension."""
        vault = {
            key: entry["value"] for key, entry in self.vault.items()
            if any(s.get("id") == model["id"] and s.get("resourceType") == "EXTENSION" for s in entry.get("scopes", []))
        } if model.get("useVault") else {}
        with tempfile.TemporaryDirectory() as folder:
            script = Path(folder) / "extension.py"
            script.write_bytes(model["content"].encode("utf-8"))
            manifest = {key: model[key] for key in ("name", "id", "apiVersion", "requiredDataStreams", "useVault")}
            (Path(folder) / "extension.json").write_text(json.dumps(manifest), encoding="utf-8")
            started = time.perf_counter()
            data, source = read_document({"document": request.get("document", {}),
                                          "parameters": request.get("parameters", {})})
            result = Runner(folder, vault=vault).run(data, source)
            seconds = time.perf_counter() - started
        report = result.to_json()
        report.pop("harness", None)
        part = model["id"].split("-", 1)[-1]
        reason = report["result"]["reason"]
        if report["result"]["status"] == "EXECUTION_ERROR" and not reason.startswith("Coveo::"):
            reason = reason.replace('File "extension.py"', f'File "{self.organization}--{part}"')
            report["result"]["reason"] = f"Coveo::PythonScriptException: {reason}\n"
        if report["result"]["status"] == "SKIPPED":  # not in the Test API's status enum: see the module doc
            report["result"] = {"status": "SUCCESS", "reason": ""}
        report["duration"] = seconds
        report["dataStreamUris"] = []
        return report

    def _vault(self, method: str, rest: list[str], data: Any) -> tuple[int, dict[str, str], Any]:
        if not rest and method == "POST":
            problem = _check_vault_entry(data)
            if problem:
                return 400, {}, {"errorCode": "INVALID_REQUEST", "message": problem}
            if data["key"] in self.vault:
                return self.exists_status, {}, {"errorCode": "VAULT_ENTRY_ALREADY_EXISTS",
                                                "message": f"A vault entry with key {data['key']} already exists."}
            self.vault[data["key"]] = dict(data)
            return 201, {}, _shown(data)
        if not rest:
            return 405, {}, {"errorCode": "METHOD_NOT_ALLOWED", "message": method}
        key = rest[0]
        if key not in self.vault:
            return 404, {}, {"errorCode": "VAULT_ENTRY_NOT_FOUND", "message": f"No vault entry with key {key}."}
        if method == "GET":
            return 200, {}, _shown(self.vault[key])
        if method == "PUT":
            problem = _check_vault_entry(data)
            if problem:
                return 400, {}, {"errorCode": "INVALID_REQUEST", "message": problem}
            self.vault[key] = dict(data)
            return 200, {}, _shown(data)
        if method == "DELETE":
            del self.vault[key]
            return 204, {}, None
        return 405, {}, {"errorCode": "METHOD_NOT_ALLOWED", "message": method}


def _shown(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry as the platform shows it: an obfuscated value is never given back."""
    return {**entry, "value": "" if entry.get("vaultVisibilityType") != "PUBLIC" else entry.get("value")}


def _check_edit_model(data: Any) -> str:
    if not isinstance(data, dict):
        return "expected an EditExtensionModel object"
    for key in ("name", "content"):
        if not isinstance(data.get(key), str):
            return f"{key} is required"
    if data.get("language", "PYTHON3") not in _LANGUAGES:
        return "language must be PYTHON3"
    if data.get("apiVersion", "v1") not in ("v1", "v2"):
        return "apiVersion must be v1 or v2"
    if any(s not in _STREAMS for s in data.get("requiredDataStreams", [])):
        return "unknown data stream"
    if not isinstance(data.get("useVault", False), bool):
        return "useVault must be a boolean"
    return ""


def _check_vault_entry(data: Any) -> str:
    if not isinstance(data, dict):
        return "expected a VaultEntryModel object"
    if not isinstance(data.get("key"), str) or not isinstance(data.get("value"), str):
        return "key and value are required strings"
    if data.get("valueType", "STRING") not in _VALUE_TYPES:
        return "bad valueType"
    if data.get("vaultVisibilityType", "OBFUSCATED") not in _VISIBILITIES:
        return "bad vaultVisibilityType"
    for scope in data.get("scopes", []):
        if not isinstance(scope, dict) or not isinstance(scope.get("id"), str) or scope.get("resourceType") != "EXTENSION":
            return "bad scope"
    return ""


class _Handler(BaseHTTPRequestHandler):
    platform: PlatformStandIn

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        path = urlsplit(self.path).path
        status, headers, answer = self.platform.handle(self.command, path, dict(self.headers.items()), body)
        if isinstance(answer, str):
            payload = answer.encode("utf-8")
            headers = {"Content-Type": "text/plain; charset=utf-8", **headers}
        elif answer is None:
            payload = b""
        else:
            payload = json.dumps(answer).encode("utf-8")
            headers = {"Content-Type": "application/json", **headers}
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the tests read stderr
        return
