"""The progress bar: drawn on a terminal with rate and ETA, never a thread, nothing in CI."""

from __future__ import annotations

import io
import threading

from rich.console import Console

import harness
from harness.cli import main
from harness.reports.progress import Progress


def test_on_a_terminal_it_draws_count_rate_and_eta_without_a_thread(make_extension):
    folder = make_extension('log("x")')
    result = harness.run_extension(folder, {"uri": "https://example.com/a"}, vault={})
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    threads = threading.active_count()
    with Progress(console).start(3) as progress:
        assert progress.enabled
        for _ in range(3):
            progress.advance(result)
            assert threading.active_count() == threads  # safe to fork workers from here
    drawn = screen.getvalue()
    assert "documents" in drawn and "0/3" in drawn and "doc/s" in drawn and "eta" in drawn
    assert progress.done == 3


def test_without_a_terminal_it_draws_nothing(make_extension):
    folder = make_extension('log("x")')
    result = harness.run_extension(folder, {"uri": "https://example.com/a"}, vault={})
    out = io.StringIO()
    with Progress(Console(file=out)).start(None) as progress:
        assert not progress.enabled
        progress.advance(result)
    assert out.getvalue() == "" and progress.done == 1


def test_ipe_run_quiet_in_ci_writes_no_progress_to_stderr(make_extension, capsys):
    folder = make_extension('log("x")', documents={"a.json": {"uri": "https://example.com/a"},
                                                   "b.json": {"uri": "https://example.com/b"}})
    assert main(["run", str(folder), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("2 documents: 2 SUCCESS")
    assert "\x1b[" not in err and "doc/s" not in err
