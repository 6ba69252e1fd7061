"""What a run produced, for people and for CI: terminal output, summaries, progress and report files.

* :mod:`~harness.reports.summary`: counts, durations, warnings and leaks of a run, accumulated
  one result at a time;
* :mod:`~harness.reports.terminal`: the readable form on a terminal, cut to its width;
* :mod:`~harness.reports.progress`: a progress bar on stderr when it is a terminal;
* :mod:`~harness.reports.writer`: report files (``.json``, ``.xml`` JUnit, ``.html``) written
  as results come.
"""
