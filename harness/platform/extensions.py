"""Coveo's Extension API: create, update, show and test an extension (OpenAPI "Coveo Extension API").

Shapes, from the OpenAPI document:

* ``POST /extensions`` and ``PUT /extensions/{id}`` take an ``EditExtensionModel`` (``name`` and
  ``content`` required; ``description``, ``apiVersion``, ``language`` ``PYTHON3``,
  ``requiredDataStreams``, ``useVault``) and answer an ``ExtensionModel`` (the same plus ``id``,
  ``versionId``, ``enabled``, ``status``...), 201 on create, 200 on update.
* ``GET /extensions/{id}`` answers an ``ExtensionModel``; ``GET /extensions/{id}/code`` the script
  as text/plain, for when the model comes without ``content``.
* ``POST /extensions/{id}/test`` takes an ``ExtensionTestModel`` (``document``, ``parameters``)
  and answers an ``ExtensionTestExecutionReportModel`` (``document``, ``logs``, ``result``,
  ``duration`` in seconds, ``dataStreamUris``).
"""

from __future__ import annotations

from typing import Any

from harness.extension import Extension
from harness.platform.client import PlatformClient, PlatformError, segment
from harness.redaction import Redactor
from harness.vault import LocalVault

__all__ = ["ExtensionsAPI", "edit_model", "literal_secrets"]

_VIEW, _EDIT, _CREATE = "Extensions - View", "Extensions - Edit", "Extensions - Create"


def edit_model(extension: Extension) -> dict[str, Any]:
    """The ``EditExtensionModel`` of a local extension: its manifest, and its script byte for byte."""
    return {
        "name": extension.name,
        "description": extension.description,
        "content": extension.source,
        "apiVersion": extension.api_version,
        "language": "PYTHON3",
        "requiredDataStreams": list(extension.required_data_streams),
        "useVault": extension.use_vault,
    }


def literal_secrets(extension: Extension, vault: LocalVault) -> list[tuple[str, int]]:
    """``(vault key, script line)`` for every local vault value written into the script itself.

    The leak check runs the script with canary values, so it cannot see a secret pasted into the
    source; pushed, such a script shows the secret to everyone who may view extensions.
    """
    redactor = Redactor(vault.secrets())
    found = redactor.find(extension.source) if redactor else []
    return sorted({(match.key, extension.source.count("\n", 0, match.start) + 1) for match in found})


class ExtensionsAPI:
    """The calls under ``/rest/organizations/{org}/extensions`` (None everywhere in dry-run mode)."""

    def __init__(self, client: PlatformClient) -> None:
        self.client = client

    def create(self, model: dict[str, Any]) -> dict[str, Any] | None:
        """Create an extension; the answer's ``id`` is the new extension's."""
        path = "/extensions"
        answer = self.client.call("POST", path, body=model, what=f"the new extension {model.get('name')!r}",
                                  privilege=_CREATE)
        return None if answer is None else self._model(answer, "POST", path, need_id=True)

    def update(self, extension_id: str, model: dict[str, Any]) -> dict[str, Any] | None:
        """Replace extension ``extension_id`` with ``model``."""
        path = f"/extensions/{segment(extension_id)}"
        answer = self.client.call("PUT", path, body=model, what=f"extension {extension_id!r}", privilege=_EDIT)
        return None if answer is None else self._model(answer, "PUT", path)

    def get(self, extension_id: str) -> dict[str, Any] | None:
        """The ``ExtensionModel`` of ``extension_id``, with its ``content`` (fetched from ``/code``
        when the model lacks it)."""
        path = f"/extensions/{segment(extension_id)}"
        answer = self.client.call("GET", path, what=f"extension {extension_id!r}", privilege=_VIEW)
        if answer is None:
            return None
        model = self._model(answer, "GET", path)
        if not isinstance(model.get("content"), str):
            code = self.client.call("GET", path + "/code", what=f"the code of extension {extension_id!r}",
                                    privilege=_VIEW)
            if code is not None:
                code.encoding = "utf-8"
                model["content"] = code.text
        return model

    def test(self, extension_id: str, request: dict[str, Any]) -> dict[str, Any] | None:
        """Run the deployed extension on one document with Coveo's Test API."""
        path = f"/extensions/{segment(extension_id)}/test"
        answer = self.client.call("POST", path, body=request, what=f"a test of extension {extension_id!r}",
                                  privilege=_EDIT)
        if answer is None:
            return None
        report = self.client.json_of(answer, "POST", path)
        if not isinstance(report, dict) or not isinstance(report.get("result"), dict):
            raise PlatformError(f"POST {path}: Coveo's answer is not a test report (no \"result\" object)")
        return report

    def delete(self, extension_id: str) -> None:
        """Delete extension ``extension_id`` (the live tests clean up after themselves with it)."""
        self.client.call("DELETE", f"/extensions/{segment(extension_id)}", what=f"extension {extension_id!r}",
                         privilege=_EDIT)

    def _model(self, answer: Any, method: str, path: str, need_id: bool = False) -> dict[str, Any]:
        model = self.client.json_of(answer, method, path)
        if not isinstance(model, dict) or (need_id and not isinstance(model.get("id"), str)):
            raise PlatformError(f"{method} {path}: Coveo's answer is not an extension (no \"id\")")
        return model
