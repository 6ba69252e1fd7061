"""A progress bar on stderr, with rate and ETA, only when stderr is a terminal.

In CI (stderr a file or a pipe) :class:`Progress` draws nothing and costs nothing, so logs stay
clean.  It never starts a thread: rich's auto-refresh thread is off and the bar is redrawn
from :meth:`~Progress.advance`, at most every :data:`REFRESH` seconds.  That matters because
a batch forks worker processes from this one, and forking while another thread holds a lock
(rich's, the console's) can leave the child stuck on it.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.text import Text

from harness.result import ExtensionResult

__all__ = ["REFRESH", "Progress"]

#: Seconds between two redraws of the bar.
REFRESH = 0.1


class _Rate(ProgressColumn):
    """Documents a second, from rich's own speed estimate."""

    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text(f"{speed:,.1f} doc/s" if speed else "- doc/s", style="cyan")


class Progress:
    """The CLI loop's progress: :meth:`start`, :meth:`advance` per result, :meth:`stop`.

    ``console`` defaults to one on stderr; nothing is drawn unless it is a terminal (or
    ``enabled`` forces a choice).  Usable as a context manager (``stop`` on leaving).
    """

    def __init__(self, console: Console | None = None, *, enabled: bool | None = None, label: str = "documents") -> None:
        self.console = console if console is not None else Console(stderr=True)
        self.enabled = self.console.is_terminal if enabled is None else enabled
        self.label = label
        self.done = 0
        self.failed = 0
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._drawn = 0.0

    def start(self, total: int | None = None) -> Progress:
        """Show the bar; ``total`` None when the number of documents is not known (a stream)."""
        if not self.enabled or self._bar is not None:
            return self
        self._bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            _Rate(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self.console,
            auto_refresh=False,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(self.label, total=total)
        self._bar.refresh()
        self._drawn = time.monotonic()
        return self

    def advance(self, result: ExtensionResult | None = None) -> None:
        """One more document done; redraws when the last redraw is older than :data:`REFRESH`."""
        self.done += 1
        if result is not None and not result.ok:
            self.failed += 1
        if self._bar is None or self._task is None:
            return
        failed = f" [red]{self.failed} failed[/red]" if self.failed else ""
        self._bar.update(self._task, advance=1, description=f"{self.label}{failed}")
        now = time.monotonic()
        if now - self._drawn >= REFRESH:
            self._bar.refresh()
            self._drawn = now

    def stop(self) -> None:
        """Remove the bar (it is transient: the summary takes its place)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            self._task = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
