"""Coveo's IPE runtime: run one compiled script on one document, as Coveo would.

Each run gets fresh globals (``document``, ``log``, ``parameters``, ``vault_parameters``,
``__name__ == "__main__"``), so nothing a script does carries over to the next item.  The
run ends in one of Coveo's statuses:

* ``REJECTED`` when the script called ``document.reject()``, even if it then swallowed the
  exception (as in Coveo, ``RejectedException`` is an ``Exception``);
* ``SKIPPED`` when ``document.skip()``'s ``SkippedException`` ended the script (swallowed, it
  changes nothing; the Test API JSON reports a skip as SUCCESS, see :mod:`harness.result`);
* ``TIMEOUT`` when it ran past its time limit (5 s by default, like Coveo);
* ``EXECUTION_ERROR`` when it raised anything, ``SystemExit`` and ``KeyboardInterrupt``
  included, or does not compile; the reason is a Python traceback of the script's own frames;
* ``SUCCESS`` otherwise.

Only a SUCCESS keeps the script's changes; logs are always kept.

The time limit is enforced with ``SIGALRM`` when running on the main thread: the alarm
interrupts busy loops and blocking calls (``time.sleep``, socket reads) alike, and keeps
firing every 50 ms until the script lets go.  On other threads the script runs in a helper
thread that is sent an asynchronous exception; a script blocked in C code there cannot be
stopped and is abandoned (its result is still TIMEOUT).
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # no stub; signal.signal costs more per run
import builtins
import contextvars
import ctypes
import io
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from harness import coveo_json
from harness.document import Document, DocumentApi, DocumentData, SkippedException
from harness.extension import SCRIPT_NAME, Extension
from harness.outbound import observe
from harness.python310 import interpreter_warning
from harness.result import Change, ExtensionResult, LoggingRecord
from harness.unused_vault import vault_for

if TYPE_CHECKING:
    from harness.redaction import Redactor

__all__ = ["DEFAULT_TIMEOUT", "ScriptTimeout", "execute", "printed_warning"]

DEFAULT_TIMEOUT = 5.0
_REFIRE = 0.05
_HARNESS_DIR = str(Path(__file__).resolve().parent) + os.sep


class ScriptTimeout(BaseException):
    """Raised inside a script that ran past its time limit."""


class _Capture(io.TextIOBase):
    """Collects what a script prints, in order, without touching the real streams."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.parts: list[str] = []

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.parts.append(text)
        return len(text)

    def getvalue(self) -> str:
        return "".join(self.parts)


class _Deadline:
    """Arms SIGALRM around a run on the main thread; records whether it fired inside the script."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.active = False
        self.fired = False
        self.interrupted = False
        self._old_alarm: Any = None
        self._old_int: Any = None
        self._old_timer = (0.0, 0.0)
        self._started = 0.0

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if self.active:
            self.fired = True
            raise ScriptTimeout()

    def _on_interrupt(self, signum: int, frame: FrameType | None) -> None:
        # A real Ctrl-C from the user: stop the script, then stop the harness (see execute()).
        self.interrupted = True
        raise KeyboardInterrupt()

    def __enter__(self) -> _Deadline:
        # _signal.signal is what signal.signal wraps; the wrapper's enum conversions cost more
        # than the rest of the harness's per-document work, and handlers are swapped per run.
        self._old_alarm = _signal.signal(signal.SIGALRM, self._on_alarm)
        self._old_int = _signal.signal(signal.SIGINT, self._on_interrupt)
        self._started = time.monotonic()
        self.active = True
        self._old_timer = signal.setitimer(signal.ITIMER_REAL, self.timeout, _REFIRE)
        return self

    def __exit__(self, *exc: object) -> None:
        self.active = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        _signal.signal(signal.SIGALRM, self._old_alarm)
        _signal.signal(signal.SIGINT, self._old_int)
        delay, interval = self._old_timer
        if delay:  # someone else (e.g. pytest-timeout) had an alarm running: give it back
            remaining = max(delay - (time.monotonic() - self._started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, remaining, interval)


_LOG_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


_capturing: contextvars.ContextVar[_LoggingCapture | None] = contextvars.ContextVar("ipe_logging", default=None)
_make_record = logging.Logger.makeRecord


def _capturing_make_record(logger: logging.Logger, *args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _make_record(logger, *args, **kwargs)
    capture = _capturing.get()
    if capture is not None:
        capture._take(record)
    return record


class _LoggingCapture:
    """Collects the ``logging`` records created during a run, and masks them at birth.

    ``Logger.makeRecord`` is wrapped (once per process, active only inside a run): each
    record's full text (message with its ``%`` args, exception and stack text, string
    ``extra`` fields) is kept for the result, then the record itself is rewritten with vault
    values masked before any handler sees it (pytest's caplog, a handler the script
    installed, ``logging.lastResort``).  The root logger's handlers and level are put back
    afterwards, so a script's ``basicConfig()`` does not outlive its run.
    """

    def __init__(self, redactor: Redactor | None) -> None:
        self.redactor = redactor
        self.records: list[LoggingRecord] = []
        self._root: tuple[list[logging.Handler], int] = ([], logging.WARNING)
        self._token: contextvars.Token[_LoggingCapture | None] | None = None

    def __enter__(self) -> _LoggingCapture:
        if logging.Logger.makeRecord is not _capturing_make_record:
            logging.Logger.makeRecord = _capturing_make_record  # type: ignore[method-assign,assignment]
        root = logging.getLogger()
        self._root = (root.handlers[:], root.level)
        self._token = _capturing.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _capturing.reset(self._token)
        root = logging.getLogger()
        handlers, level = self._root
        if root.handlers != handlers:
            root.handlers[:] = handlers
        if root.level != level:
            root.setLevel(level)  # setLevel clears every logger's cache: only when needed

    def _take(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad %-format is the script's bug; keep what we can
            message = str(record.msg)
        parts = [message]
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(record.stack_info)
        extras = {k: v for k, v in record.__dict__.items() if k not in _LOG_RECORD_FIELDS and isinstance(v, str)}
        parts += [f"{k}={v}" for k, v in extras.items()]
        self.records.append(LoggingRecord(record.name, record.levelname, "\n".join(parts)))
        if self.redactor:
            redact = self.redactor.redact
            record.msg, record.args = redact(message), None
            if record.exc_text:
                record.exc_text = redact(record.exc_text)
            if record.stack_info:
                record.stack_info = redact(record.stack_info)
            for key, value in extras.items():
                setattr(record, key, redact(value))


def _exec_main_thread(code: CodeType, namespace: dict[str, Any], timeout: float) -> tuple[BaseException | None, bool, bool]:
    error: BaseException | None = None
    deadline = _Deadline(timeout)
    with deadline:
        try:
            try:
                exec(code, namespace)
            finally:
                deadline.active = False
        except BaseException as exc:  # noqa: BLE001 - every script failure is a result, never ours
            error = exc
    return error, deadline.fired, deadline.interrupted


def _exec_thread(code: CodeType, namespace: dict[str, Any], timeout: float) -> tuple[BaseException | None, bool, bool]:
    box: dict[str, BaseException] = {}

    def target() -> None:
        try:
            exec(code, namespace)
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc

    context = contextvars.copy_context()  # the run's request recording and network guard
    worker = threading.Thread(target=context.run, args=(target,), name="ipe-script", daemon=True)
    worker.start()
    worker.join(timeout)
    if not worker.is_alive():
        return box.get("error"), False, False
    for _ in range(20):  # keep interrupting for up to a second, then abandon it
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident or 0), ctypes.py_object(ScriptTimeout))
        worker.join(_REFIRE)
        if not worker.is_alive():
            break
    error = box.get("error")
    return (error if error is not None else ScriptTimeout()), True, False


def execute(
    extension: Extension,
    data: DocumentData,
    parameters: Mapping[str, str],
    vault_parameters: dict[str, str],
    timeout: float = DEFAULT_TIMEOUT,
    source: str = "<document>",
    redactor: Redactor | None = None,
    capture_streams: bool = True,
) -> ExtensionResult:
    """Run ``extension`` on one document and return what Coveo's Test API would report.

    The result is *raw*: it still holds whatever vault values the script let out, so that
    leaks can be found; callers redact it before showing it (see :class:`~harness.runner.Runner`).
    ``redactor`` masks ``logging`` records as they are created, because handlers outside the
    harness see those at once.  ``capture_streams=False`` leaves ``sys.stdout``/``sys.stderr``
    alone: a child process (:mod:`harness.isolation`) has its file descriptors captured by the
    parent instead, which also sees ``os.write(1, ...)`` and subprocesses.
    """
    started_at = time.time()
    streams = extension.required_data_streams if extension.manifest is not None else None  # no manifest: all
    document = Document(data, extension.name, extension.api_version, streams)
    stdout, stderr = _Capture("<stdout>"), _Capture("<stderr>")
    error: BaseException | None = None
    timed_out = interrupted = False
    logging_capture = _LoggingCapture(redactor)
    requests_sent: list[Any] = []
    started = document._started  # one clock for the run and its log offsets: no log outlasts its run
    if extension.code is None:
        error = extension.syntax_error
    else:
        namespace = {
            "__name__": "__main__",
            "__builtins__": builtins,
            "document": document,
            "document_api": DocumentApi(document),
            "log": document.log,
            "parameters": dict(parameters),
            "vault_parameters": vault_for(extension, vault_parameters, document.warnings),
        }
        saved = sys.stdout, sys.stderr
        if capture_streams:
            sys.stdout, sys.stderr = stdout, stderr
        try:
            with logging_capture, observe() as requests_sent, coveo_json.installed():
                if threading.current_thread() is threading.main_thread():
                    error, timed_out, interrupted = _exec_main_thread(extension.code, namespace, timeout)
                else:
                    error, timed_out, interrupted = _exec_thread(extension.code, namespace, timeout)
        finally:
            sys.stdout, sys.stderr = saved
    duration = time.perf_counter() - started
    if interrupted:
        raise KeyboardInterrupt

    changes: list[Change] = []
    output = data
    permissions_before = None
    if document.outcome is not None:
        status, reason = document.outcome
    elif timed_out:
        status, reason = "TIMEOUT", _timeout_reason(error, timeout, extension)
    elif isinstance(error, SkippedException):
        status, reason = "SKIPPED", "" if not error.args or error.args[0] is None else str(error.args[0])
    elif error is not None:
        status, reason = "EXECUTION_ERROR", format_error(error, extension)
    else:
        status, reason = "SUCCESS", ""
        output = document.export()
        changes = [Change(name, _newest(data, name), list(values)) for name, values in document.added_metadata.items()]
        if output.permissions != data.permissions:
            permissions_before = data.permissions

    warnings = list(extension.static_warnings) + document.warnings
    python = interpreter_warning()
    if python:
        warnings.append(python)
    if stdout.parts or stderr.parts:
        warnings.append(printed_warning(bool(stdout.parts), bool(stderr.parts)))
    return ExtensionResult(
        status=status,
        reason=reason,
        logs=document.logs,
        document=output,
        duration=duration,
        changes=changes,
        stdout=stdout.getvalue() if stdout.parts else "",
        stderr=stderr.getvalue() if stderr.parts else "",
        warnings=warnings,
        extension=extension.name,
        source=source,
        date=started_at,
        logging=logging_capture.records,
        requests=list(requests_sent),
        permissions_before=permissions_before,
    )


def printed_warning(stdout: bool, stderr: bool) -> str:
    """The warning of a run that wrote to stdout and/or stderr (Coveo keeps neither)."""
    streams = " and ".join(name for name, wrote in (("stdout", stdout), ("stderr", stderr)) if wrote)
    return f"the script wrote to {streams}: Coveo does not keep it; use log() to see it in Coveo's log browser"


def _newest(data: DocumentData, name: str) -> list[Any]:
    for _, values in reversed(data.metadata):
        if name in values:
            return list(values[name])
    return []


def _script_line(error: BaseException | None, extension: Extension) -> int | None:
    tb = error.__traceback__ if error is not None else None
    line = None
    script = str(extension.script)
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == script:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _timeout_reason(error: BaseException | None, timeout: float, extension: Extension) -> str:
    line = _script_line(error, extension)
    where = f" (it was running line {line} of {SCRIPT_NAME})" if line else ""
    return f"The extension ran longer than its time limit of {timeout:g} s{where}."


def format_error(error: BaseException, extension: Extension) -> str:
    """The reason of an EXECUTION_ERROR in Coveo's format.

    ``Coveo::PythonScriptException: Traceback (most recent call last):\n  File "<name>", line N,
    in <module>\n...Error: ...\n``: the script's frames name :attr:`Extension.traceback_name` and,
    as in Coveo, show no source line; the harness's own frames are left out.
    """
    exc = traceback.TracebackException.from_exception(error)
    _clean(exc, str(extension.script), extension.traceback_name, set())
    text = "".join(exc.format())
    if not text.endswith("\n"):
        text += "\n"
    if isinstance(error, SystemExit):
        text += "(the script called sys.exit(); Coveo extensions must not exit)\n"
    return "Coveo::PythonScriptException: " + text


def _clean(exc: traceback.TracebackException, script: str, name: str, seen: set[int]) -> None:
    if id(exc) in seen:
        return
    seen.add(id(exc))
    frames = [
        traceback.FrameSummary(name, frame.lineno, frame.name, line="")
        if frame.filename == script
        else traceback.FrameSummary(frame.filename, frame.lineno, frame.name, line=frame.line)
        for frame in exc.stack
        if not frame.filename.startswith(_HARNESS_DIR)
    ]
    exc.stack = traceback.StackSummary.from_list(frames)
    if getattr(exc, "filename", None) == script:  # SyntaxError
        exc.filename = name
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            _clean(linked, script, name, seen)
