"""ipe-harness: Coveo's Indexing Pipeline Extension runtime on your own machine.

The public surface is small on purpose:

* :func:`run_extension` runs an extension on one document; :class:`Runner` runs it on many;
* :class:`ExtensionResult` is what a run produced (``.status``, ``.reason``, ``.logs``,
  ``.to_json()``);
* :class:`Redactor` masks every alias of every vault value; :class:`Leak` is one place a value
  got out (``result.leaks``); :func:`check_extension` is ``ipe check`` in Python;
* :class:`Pipeline` runs a source's extensions in order (conditions, actionOnError);
* :func:`load_vault` reads the local vault; :class:`HarnessError` is every input problem.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.check import CheckReport, check_extension
    from harness.document import DocumentData
    from harness.document_format import load_document, parse_document
    from harness.errors import HarnessError
    from harness.extension import Extension, load_extension
    from harness.leaks import Leak
    from harness.pipeline import Pipeline, PipelineResult, StepResult
    from harness.redaction import Redactor
    from harness.result import ExtensionResult, LogEntry
    from harness.runner import Runner, run_extension
    from harness.vault import LocalVault, load_vault

# Where each public name lives.  They are imported on first use (PEP 562): `ipe run` imports
# only the modules it needs, and a child process starts from a lighter parent.
_HOMES = {
    "CheckReport": "harness.check",
    "check_extension": "harness.check",
    "DocumentData": "harness.document",
    "load_document": "harness.document_format",
    "parse_document": "harness.document_format",
    "HarnessError": "harness.errors",
    "Extension": "harness.extension",
    "load_extension": "harness.extension",
    "Leak": "harness.leaks",
    "Pipeline": "harness.pipeline",
    "PipelineResult": "harness.pipeline",
    "StepResult": "harness.pipeline",
    "Redactor": "harness.redaction",
    "ExtensionResult": "harness.result",
    "LogEntry": "harness.result",
    "Runner": "harness.runner",
    "run_extension": "harness.runner",
    "LocalVault": "harness.vault",
    "load_vault": "harness.vault",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


__all__ = [
    "CheckReport",
    "DocumentData",
    "Extension",
    "ExtensionResult",
    "HarnessError",
    "Leak",
    "LocalVault",
    "LogEntry",
    "Pipeline",
    "PipelineResult",
    "Redactor",
    "StepResult",
    "Runner",
    "check_extension",
    "load_document",
    "load_extension",
    "load_vault",
    "parse_document",
    "run_extension",
]

__version__ = "0.1.0"
