"""Threads a script starts belong to its run: same request log, network guard and capture.

What a run watches is kept in context variables (:mod:`harness.outbound`'s request log,
:mod:`harness.network`'s guard, :mod:`harness.runtime`'s ``logging`` capture).  A new
thread starts with an empty context, so without help a script's ``threading.Thread`` or
``ThreadPoolExecutor`` would send requests nobody records or blocks.  Inside :class:`run_scope`:

* ``threading.Thread.start`` runs the new thread in a copy of its starter's context (what
  Python 3.14 does by default for free-threaded builds, and what ``asyncio`` does for tasks);
* ``ThreadPoolExecutor.submit`` runs each task in a copy of its submitter's context, since a
  pool's worker threads outlive the task (and the run) that created them.

``print`` needs no context: the runtime swaps ``sys.stdout``/``sys.stderr`` for the whole
process during a run, so a thread's output is captured like the script's own.  After the run
the real streams are back; a thread the run started that is still alive could then print a
vault value on the terminal.  So when a scope ends with such threads alive, a redacting writer
is left on ``sys.stdout`` and ``sys.stderr``, masking with the run's redactor, until the last of
them ends.  Its ``logging`` records are still masked at birth (the capture lives in its context).

The patches are installed once per process, on first use, and do nothing outside a scope.
"""

from __future__ import annotations

import contextvars
import functools
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from concurrent.futures import Future

    from harness.redaction import RedactingStream, Redactor

__all__ = ["RedactingWriter", "run_scope"]


class _Scope:
    """The threads one run started, and the redactor their late output goes through."""

    def __init__(self, redactor: Redactor | None) -> None:
        self.redactor = redactor
        self.threads: list[threading.Thread] = []


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("ipe_thread_scope", default=None)
_original_start = threading.Thread.start
_original_submit = ThreadPoolExecutor.submit
_lock = threading.RLock()
_installed = False
_lingering: dict[int, Redactor | None] = {}
"""Threads alive after their run ended (by ``id``), with their run's redactor."""


def _start(self: threading.Thread) -> None:
    scope = _scope.get()
    if scope is not None and not getattr(self, "_ipe_scoped", False):
        context = contextvars.copy_context()
        run = self.run

        def run_in_context() -> None:
            try:
                context.run(run)
            finally:
                _ended(self)

        self.run = run_in_context  # type: ignore[method-assign]
        self._ipe_scoped = True  # type: ignore[attr-defined]
        scope.threads.append(self)
    _original_start(self)


def _submit(self: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
    if _scope.get() is not None:
        fn = functools.partial(contextvars.copy_context().run, fn)
    return _original_submit(self, fn, *args, **kwargs)


def _install() -> None:
    global _installed
    with _lock:
        if not _installed:
            threading.Thread.start = _start  # type: ignore[method-assign]
            ThreadPoolExecutor.submit = _submit  # type: ignore[method-assign,assignment]
            _installed = True


class run_scope:
    """Threads started inside the block run in their starter's context; on exit, those still
    alive keep their output redacted with ``redactor`` until they end."""

    __slots__ = ("_scope", "_token")

    def __init__(self, redactor: Redactor | None) -> None:
        self._scope = _Scope(redactor)
        self._token: contextvars.Token[_Scope | None] | None = None

    def __enter__(self) -> run_scope:
        if not _installed:
            _install()
        self._token = _scope.set(self._scope)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _scope.reset(self._token)
        alive = [t for t in self._scope.threads if t.is_alive()]
        if not alive:
            return
        with _lock:
            for thread in alive:
                _lingering[id(thread)] = self._scope.redactor
            _cover_streams()
        for thread in alive:  # it may have ended meanwhile, before it was counted
            if not thread.is_alive():
                _ended(thread)


def _ended(thread: threading.Thread) -> None:
    with _lock:
        if _lingering.pop(id(thread), "absent") == "absent" or _lingering:
            return
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if isinstance(stream, RedactingWriter):
                stream.flush()
                setattr(sys, name, stream.inner)


def _cover_streams() -> None:
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, RedactingWriter):
            setattr(sys, name, RedactingWriter(stream))


class RedactingWriter:
    """A text stream that masks the values of every run with lingering threads, then writes to
    ``inner``.  Everything else (``fileno``, ``encoding``, ``isatty`` ...) is ``inner``'s."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self._streams: dict[int, RedactingStream] = {}

    def _redactors(self) -> list[Redactor]:
        seen: dict[int, Redactor] = {}
        for redactor in list(_lingering.values()):
            if redactor:
                seen.setdefault(id(redactor), redactor)
        return list(seen.values())

    def write(self, text: str) -> int:
        shown = str.__str__(text) if isinstance(text, str) else str(text)
        for redactor in self._redactors():
            stream = self._streams.get(id(redactor))
            if stream is None:
                stream = self._streams[id(redactor)] = redactor.stream()
            shown = stream.write(shown)
            if "\n" in text:
                shown += stream.flush()
        self.inner.write(shown)
        return len(text)

    def flush(self) -> None:
        for stream in self._streams.values():
            rest = stream.flush()
            if rest:
                self.inner.write(rest)
        self.inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
