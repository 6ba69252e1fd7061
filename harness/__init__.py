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
