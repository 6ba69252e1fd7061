"""Isolation: each document's script runs in a fresh child process; the parent is the trusted side.

A script runs untrusted code with the vault in reach.  Run in the harness's own process, it
can end the harness (``os._exit``), switch off the time limit (``signal.alarm(0)``), leave
threads that print after the run, write to file descriptor 1 unredacted, or hold memory for the
next document.  So each document gets its own child, forked from the harness (already warm:
requests and the modules scripts commonly use are imported before the first fork), and the
parent keeps everything that matters:

* **output**: the child's fd 1 and 2 are pipes the parent reads, so ``print``,
  ``os.write(1, ...)``, ``sys.__stdout__`` and subprocesses are all captured, then redacted and
  searched for leaks by the parent.  Each stream keeps :data:`OUTPUT_CAP` characters (the
  :class:`~harness.runner.Runner` cuts them, with a warning); the parent reads a little past the
  cap so that a value straddling the cut is still masked whole, and drops the rest unread;
* **the result**: the child sends its raw result over a pipe as a small typed JSON message
  (:mod:`harness.protocol`), never a pickle; a malformed message is the document's
  ``EXECUTION_ERROR``;
* **the time limit**: inside the child, ``SIGALRM`` stops the script at its limit as in-process
  runs do.  If the script switched the alarm off or is blocked in C, the parent, at the limit
  plus :data:`KILL_GRACE`, sends ``SIGUSR1`` (the child's ``faulthandler`` writes where the
  script was to a pipe), then ``SIGKILL``: ``TIMEOUT``, with the script's line when known;
* **memory**: ``RLIMIT_AS`` of the child (:data:`DEFAULT_MEMORY_LIMIT` MiB by default); an
  allocation over it raises ``MemoryError`` in the script, an ``EXECUTION_ERROR``;
* **death**: a child that ends without a result (``os._exit``, a segfault, ``SIGKILL``) is an
  ``EXECUTION_ERROR`` naming the exit code or signal; the other documents run on;
* **leftovers**: the child leads its own process group; when it ends, the whole group is
  killed, so a subprocess or a forked helper the script left behind dies with it.

Children are supervised by one single-threaded event loop (``selectors`` over the pipes and a
pidfd per child), so the parent never forks while one of its own threads holds a lock.
:func:`run_children` runs a stream of jobs N at a time and yields their outcomes in input order.
"""

from __future__ import annotations

import contextlib
import faulthandler
import gc
import io
import os
import re
import resource
import selectors
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from harness.extension import SCRIPT_NAME
from harness.protocol import (
    HEADER,
    ChildMessage,
    ProtocolError,
    decode_message,
    encode_error,
    encode_result,
    frame_length,
)
from harness.result import ExtensionResult

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "KILL_GRACE",
    "OUTPUT_CAP",
    "ChildJob",
    "ChildOutcome",
    "available",
    "run_child",
    "run_children",
]

DEFAULT_MEMORY_LIMIT = 2048
"""MiB of address space a child may use.  Large enough for a script that parses a big item
(Coveo caps body text at 50 MB) with requests, lxml or pandas loaded, since ``RLIMIT_AS`` counts
the whole inherited interpreter and every library mapping, not only what the script allocates;
small enough that a runaway allocation fails fast instead of swapping the machine."""
OUTPUT_CAP = 1024 * 1024
"""Characters of stdout, and of stderr, kept per document (1 MiB)."""
OUTPUT_MARGIN = 64 * 1024
"""Bytes read past the cap, so that a value cut by the cap is still found and masked whole."""
KILL_GRACE = 1.0
"""Seconds past the time limit before the parent stops a child that did not stop itself."""
TRACE_WAIT = 0.2
"""Seconds a child gets to write where it was (``SIGUSR1``) before ``SIGKILL``."""
TRANSFER_LIMIT = 60.0
"""Seconds a child gets to finish sending its result once the first byte of it arrived."""
WARM_MODULES = (
    "base64", "csv", "datetime", "decimal", "hashlib", "hmac", "html", "json", "logging", "math",
    "random", "re", "requests", "string", "time", "unicodedata", "urllib.parse", "urllib.request",
    "uuid", "xml.etree.ElementTree", "zlib",
)
"""Imported once in the parent before the first fork, so that no child pays for them."""

_READ = 65536
_HAS_PIDFD = hasattr(os, "pidfd_open")
_T = TypeVar("_T")


def available() -> bool:
    """Whether this platform can isolate runs (it needs ``fork``)."""
    return hasattr(os, "fork")


@dataclass
class ChildJob:
    """One run to make in a child: ``run`` is called there and returns the raw result and the
    vault entries the run added (``[(key, value)]``, canaries minted on first read)."""

    run: Callable[[], tuple[ExtensionResult, list[tuple[str, str]]]]
    script: str
    """The script's path, to find its line in the traceback of a child that had to be stopped."""
    timeout: float
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT
    """MiB of address space, or None for no limit."""


@dataclass
class ChildOutcome:
    """What the parent knows of one child once it ended."""

    message: ChildMessage | None
    """The child's checked message, with its raw result, when it sent one."""
    failure: tuple[str, str] | None
    """``(status, reason)`` when the child gave no usable result (crash, time limit, bad message)."""
    stdout: str = ""
    stderr: str = ""
    started: float = 0.0
    """Seconds since the epoch when the child was started."""
    elapsed: float = 0.0
    """Seconds from fork to the child's end (a duration, as the Test API gives it)."""


# -- the child -------------------------------------------------------------------------------------

_PARENT_STREAMS: list[Any] = []
_CHILD_STREAMS: list[io.TextIOWrapper] = []


def _make_child_streams() -> None:
    """Text streams on fd 1 and 2, writing through (no byte waits in a buffer at exit).

    Made once in the parent, which never writes to them: each child inherits them unused.
    """
    for fd in (1, 2):
        _CHILD_STREAMS.append(io.TextIOWrapper(
            io.FileIO(fd, "w", closefd=False), encoding="utf-8", errors="backslashreplace", write_through=True
        ))


def _child_streams() -> None:
    """The child's ``sys.stdout``/``sys.stderr`` (and their ``__dunder__`` twins) on its fd 1 and 2.

    The inherited stream objects are kept alive on purpose: finalizing them would flush the
    parent's unwritten output into this child's pipes.
    """
    _PARENT_STREAMS.extend((sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__))
    if not _CHILD_STREAMS:
        _make_child_streams()
    for name, stream in zip(("stdout", "stderr"), _CHILD_STREAMS):
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)  # typeshed calls these Final; a child may replace them


def _describe(exc: BaseException) -> str:
    """An internal failure in the child, by type and harness line: never a value."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "harness" in Path(f.filename).parts]
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    if isinstance(exc, KeyboardInterrupt):
        return "the script interrupted its own process (SIGINT)"
    return f"{type(exc).__name__}{where}"


def _neutralise_inherited(null: int, keep: set[int]) -> None:
    """Point every other inherited descriptor at /dev/null.

    The parent may hold descriptors onto its terminal (pytest keeps the real stdout aside,
    for one), sockets or files: the script must not write around the capture through them.
    They are replaced rather than closed, so that no Python object that still holds one
    number can later close a file the script opened under the same number.
    """
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # not Linux: try the usual range
        fds = list(range(3, 1024))
    for fd in fds:
        if fd > 2 and fd != null and fd not in keep:
            with contextlib.suppress(OSError):
                os.fstat(fd)
                os.dup2(null, fd)


def _recorded_interactions() -> list[Any]:
    cassette = sys.modules.get("harness.cassette")  # never imported here: no cassette, no vcrpy
    return cassette.export_recorded() if cassette is not None else []


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _child_main(job: ChildJob, out_w: int, err_w: int, result_w: int, trace_w: int, close: list[int]) -> None:
    """The child's whole life; it never returns (``os._exit``), whatever the script does."""
    code = 0
    try:
        try:
            with contextlib.suppress(OSError):
                os.setpgid(0, 0)
            for fd in close:
                with contextlib.suppress(OSError):
                    os.close(fd)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in (out_w, err_w):
                os.close(fd)
            _neutralise_inherited(null, keep={result_w, trace_w})
            os.close(null)
            _child_streams()
            faulthandler.enable(file=2, all_threads=False)  # a crash shows where, in the captured stderr
            faulthandler.register(signal.SIGUSR1, file=trace_w, all_threads=True, chain=False)
            if job.memory_limit:
                limit = job.memory_limit * 1024 * 1024
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            result, minted = job.run()
            payload = encode_result(result, minted, _recorded_interactions())
        except BaseException as exc:  # noqa: BLE001 - the parent must hear of it, whatever it is
            payload = encode_error(_describe(exc))
        _write_all(result_w, payload)
    except BaseException:  # noqa: BLE001 - not even the error could be sent: the exit code says it
        code = 70
    finally:
        os._exit(code)


# -- the parent ------------------------------------------------------------------------------------


@dataclass
class _Child(Generic[_T]):
    key: _T
    job: ChildJob
    pid: int
    fds: dict[str, int]
    pidfd: int | None
    started: float
    started_at: float
    deadline: float
    output: dict[str, bytearray] = field(default_factory=lambda: {"stdout": bytearray(), "stderr": bytearray()})
    result: bytearray = field(default_factory=bytearray)
    expected: int | None = None
    problem: str | None = None
    open: set[str] = field(default_factory=set)
    extended: bool = False
    timed_out: bool = False
    kill_at: float | None = None
    exited: bool = False
    status: int | None = None
    """The wait status, when the child was already reaped to learn that it exited."""


class Supervisor(Generic[_T]):
    """Starts children and watches them with one selector; :meth:`wait` returns those that ended."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, _Child[_T]] = {}

    @property
    def running(self) -> int:
        return len(self.children)

    def _parent_fds(self) -> list[int]:
        fds = [self.selector.fileno()]
        for child in self.children.values():
            fds += [fd for name, fd in child.fds.items() if not name.endswith("_w")]
            if child.pidfd is not None:
                fds.append(child.pidfd)
        return fds

    def start(self, key: _T, job: ChildJob) -> None:
        warm()
        fds: dict[str, int] = {}
        for name in ("stdout", "stderr", "result", "trace"):
            fds[name], fds[name + "_w"] = os.pipe()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # the child must not inherit unwritten parent output
                stream.flush()
        close = [fds[n] for n in ("stdout", "stderr", "result", "trace")] + self._parent_fds()
        started, started_at = time.monotonic(), time.time()
        frozen_before = gc.get_freeze_count()
        gc.freeze()  # the child's collections then leave the inherited objects' pages unwritten
        with warnings.catch_warnings():
            # Python 3.12+ warns when forking a process that has threads (a test's loopback server,
            # say).  The child runs only the harness and the script: it uses fresh streams, and
            # logging and the import lock are re-initialised after fork by Python itself.
            warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child: never returns
            _child_main(job, fds["stdout_w"], fds["stderr_w"], fds["result_w"], fds["trace_w"], close)
        if not frozen_before:  # the parent collects as usual (unless its program froze objects itself)
            gc.unfreeze()
        for name in ("stdout_w", "stderr_w", "result_w", "trace_w"):
            os.close(fds.pop(name))
        with contextlib.suppress(OSError):  # the child does it too; whoever is first wins the race
            os.setpgid(pid, pid)
        pidfd = None
        if _HAS_PIDFD:
            with contextlib.suppress(OSError):
                pidfd = os.pidfd_open(pid)
        child = _Child(key, job, pid, fds, pidfd, started, started_at, started + job.timeout + KILL_GRACE)
        for name in ("stdout", "stderr", "result"):
            os.set_blocking(fds[name], False)
            self.selector.register(fds[name], selectors.EVENT_READ, (child, name))
            child.open.add(name)
        os.set_blocking(fds["trace"], False)
        if pidfd is not None:
            self.selector.register(pidfd, selectors.EVENT_READ, (child, "exit"))
        self.children[pid] = child

    # -- reading ------------------------------------------------------------------------------------

    def _read(self, child: _Child[_T], name: str) -> bool:
        """Read what is there on one pipe; False at end of file (the pipe is then unregistered)."""
        fd = child.fds[name]
        try:
            chunk = os.read(fd, _READ)
        except BlockingIOError:
            return True
        except OSError:
            chunk = b""
        if not chunk:
            if name in child.open:
                child.open.discard(name)
                self.selector.unregister(fd)
            return False
        if name == "result":
            self._take_result(child, chunk)
        else:
            kept = child.output[name]
            room = OUTPUT_CAP + OUTPUT_MARGIN - len(kept)
            if room > 0:
                kept += chunk[:room]
        return True

    def _take_result(self, child: _Child[_T], chunk: bytes) -> None:
        if child.problem is not None:
            return
        if not child.extended:  # the script is done; sending a big result may take a while
            child.extended = True
            child.deadline = max(child.deadline, time.monotonic() + TRANSFER_LIMIT)
        child.result += chunk
        try:
            if child.expected is None and len(child.result) >= HEADER.size:
                child.expected = frame_length(bytes(child.result[: HEADER.size]))
            if child.expected is not None and len(child.result) > HEADER.size + child.expected:
                raise ProtocolError("there are bytes after the end of the message")
        except ProtocolError as exc:
            child.problem = str(exc)
            child.result = bytearray()
            child.kill_at = time.monotonic()

    def _kill(self, child: _Child[_T], signum: int = signal.SIGKILL) -> None:
        with contextlib.suppress(OSError):
            os.killpg(child.pid, signum)
        with contextlib.suppress(OSError):
            os.kill(child.pid, signum)

    def _has_exited(self, child: _Child[_T]) -> bool:
        """Without a pidfd: poll.  ``waitid(WNOWAIT)`` keeps the child a zombie, so its process
        group cannot be reused before it is killed; without ``waitid``, reap it now."""
        try:
            if hasattr(os, "waitid"):
                return os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
            pid, status = os.waitpid(child.pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid:
            child.status = status
        return bool(pid)

    # -- the loop -----------------------------------------------------------------------------------

    def wait(self) -> list[tuple[_T, ChildOutcome]]:
        """Block until at least one child ended; return the outcomes of all that did."""
        done: list[tuple[_T, ChildOutcome]] = []
        while not done and self.children:
            now = time.monotonic()
            wake = min(c.kill_at if c.kill_at is not None else c.deadline for c in self.children.values())
            delay = max(wake - now, 0.0)
            if any(c.pidfd is None for c in self.children.values()):
                delay = min(delay, 0.002)
            for key, _ in self.selector.select(delay):
                child, name = key.data
                if name == "exit":
                    child.exited = True
                    self.selector.unregister(key.fd)
                else:
                    self._read(child, name)
            now = time.monotonic()
            for child in list(self.children.values()):
                if not child.exited and child.pidfd is None and self._has_exited(child):
                    child.exited = True
                if child.exited:
                    done.append((child.key, self._finish(child)))
                elif child.kill_at is not None and now >= child.kill_at:
                    child.kill_at = now + 3600  # once; its death is what the loop waits for now
                    self._kill(child)
                elif now >= child.deadline and not child.timed_out:
                    child.timed_out = True
                    with contextlib.suppress(OSError):
                        os.kill(child.pid, signal.SIGUSR1)  # faulthandler: where the script is
                    child.kill_at = now + TRACE_WAIT
        return done

    def _finish(self, child: _Child[_T]) -> ChildOutcome:
        """The child has exited: kill what it left in its group, drain its pipes, reap it."""
        self._kill(child)
        give_up = time.monotonic() + 0.5
        while child.open and time.monotonic() < give_up:
            if [n for n in list(child.open) if self._read(child, n)]:
                time.sleep(0.01)  # a descendant that escaped the group still holds a pipe open
        trace = b""
        with contextlib.suppress(OSError):
            while len(trace) < 1_000_000:
                chunk = os.read(child.fds["trace"], _READ)
                if not chunk:
                    break
                trace += chunk
        status = child.status if child.status is not None else self._reap(child.pid)
        elapsed = time.monotonic() - child.started
        for name in list(child.open):
            self.selector.unregister(child.fds[name])
        for fd in child.fds.values():
            os.close(fd)
        if child.pidfd is not None:
            if not child.exited:
                self.selector.unregister(child.pidfd)
            os.close(child.pidfd)
        del self.children[child.pid]
        message, failure = self._verdict(child, status, trace)
        return ChildOutcome(
            message, failure,
            child.output["stdout"].decode("utf-8", "replace"),
            child.output["stderr"].decode("utf-8", "replace"),
            child.started_at, elapsed,
        )

    @staticmethod
    def _reap(pid: int) -> int:
        """The child's wait status; 0 if it was reaped elsewhere (``SIGCHLD`` set to ``SIG_IGN``)."""
        try:
            return os.waitpid(pid, 0)[1]
        except ChildProcessError:
            return 0

    def _verdict(self, child: _Child[_T], status: int, trace: bytes) -> tuple[ChildMessage | None, tuple[str, str] | None]:
        problem = child.problem
        if problem is None and child.expected is not None and len(child.result) == HEADER.size + child.expected:
            try:
                message = decode_message(bytes(child.result[HEADER.size:]))
            except ProtocolError as exc:
                problem = str(exc)
            else:
                if message.error is not None:
                    return None, ("EXECUTION_ERROR", f"The harness failed in the extension's process: {message.error}.")
                return message, None
        if child.timed_out:
            line = _trace_line(trace, child.job.script)
            where = f" (it was running line {line} of {SCRIPT_NAME})" if line else ""
            return None, (
                "TIMEOUT",
                f"The extension ran longer than its time limit of {child.job.timeout:g} s{where}; "
                "it did not stop when interrupted, so its process was killed.",
            )
        if problem is None and child.result:
            problem = "the message was cut short"
        if problem is not None:
            return None, ("EXECUTION_ERROR", f"The extension's process sent a malformed result: {problem}.")
        return None, ("EXECUTION_ERROR", _death(status, child.job))

    def close(self) -> None:
        """Kill and reap every child still running (Ctrl-C, an error, a caller that stopped early)."""
        for child in list(self.children.values()):
            self._kill(child)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child.pid, 0)
            for fd in [*child.fds.values(), *([child.pidfd] if child.pidfd is not None else [])]:
                with contextlib.suppress(OSError):
                    os.close(fd)
            del self.children[child.pid]
        self.selector.close()


_SIGNAL_MEANING: dict[int, str] = {
    signal.SIGSEGV: "segmentation fault: the script or a C library it called crashed",
    signal.SIGBUS: "bus error: the script or a C library it called crashed",
    signal.SIGABRT: "aborted, by the script or a C library it called",
    signal.SIGKILL: "killed from outside, by the script itself or by the system (out of memory?)",
    signal.SIGTERM: "terminated from outside, or by the script itself",
}


def _death(status: int, job: ChildJob) -> str:
    """Why a child ended without a result, from its wait status."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        meaning = _SIGNAL_MEANING.get(number, "")
        memory = f"; its memory limit is {job.memory_limit} MiB" if job.memory_limit and number == signal.SIGKILL else ""
        return (f"The extension's process was killed by signal {number} ({name}"
                f"{': ' + meaning if meaning else ''}){memory}, before it could report a result.")
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    return (f"The extension's process exited with code {code} before it could report a result "
            "(os._exit() or a C library ending the process; a Coveo extension must not exit).")


_TRACE_FILE = re.compile(r'^\s*File "(.*)", line (\d+) in ', re.MULTILINE)


def _trace_line(trace: bytes, script: str) -> int | None:
    """The script's innermost line in a faulthandler dump, preferring the main thread."""
    text = trace.decode("utf-8", "replace")
    main = f"0x{threading.main_thread().ident or 0:016x}"
    blocks = re.split(r"\n(?=(?:Current thread|Thread) 0x)", text)
    blocks.sort(key=lambda block: main not in block.split("\n", 1)[0])
    for block in blocks:
        for match in _TRACE_FILE.finditer(block):
            if match.group(1) == script:
                return int(match.group(2))
    return None


# -- warm start and the public entry points -----------------------------------------------------------

_warmed = False


def warm() -> None:
    """Import, once, the modules scripts commonly use, so that children start with them loaded."""
    global _warmed
    if _warmed:
        return
    _warmed = True
    import importlib

    for name in WARM_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    _make_child_streams()
    from harness.outbound import observe

    with observe():  # installs the request recorders here, once, instead of in every child
        pass


def run_children(
    jobs: Iterable[tuple[_T, ChildJob]], workers: int = 1
) -> Generator[tuple[_T, ChildOutcome], None, None]:
    """Run each job in its own child, ``workers`` at a time; yield ``(key, outcome)`` in input order.

    Streaming: jobs are taken from ``jobs`` only as children free up, and at most ``4 *
    workers`` outcomes wait for an earlier slow one, so memory stays flat however many jobs
    come.  Closing the generator (or an exception, ``KeyboardInterrupt`` included) kills and
    reaps every child still running before it returns or propagates.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    supervisor: Supervisor[int] = Supervisor()
    pending: dict[int, tuple[_T, ChildOutcome]] = {}
    keys: dict[int, _T] = {}
    source = iter(jobs)
    started = yielded = 0
    exhausted = False
    window = 4 * workers
    try:
        while True:
            while not exhausted and supervisor.running < workers and started - yielded < window:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                keys[started] = item[0]
                supervisor.start(started, item[1])
                started += 1
            while yielded in pending:
                outcome = pending.pop(yielded)
                yielded += 1
                yield outcome
            if exhausted and yielded == started:
                return
            if supervisor.running:
                for index, outcome_of in supervisor.wait():
                    pending[index] = (keys.pop(index), outcome_of)
    finally:
        supervisor.close()


def run_child(job: ChildJob) -> ChildOutcome:
    """Run one job in a child and return its outcome."""
    for _, outcome in run_children([(None, job)], 1):
        return outcome
    raise AssertionError("run_children yields one outcome per job")  # pragma: no cover

