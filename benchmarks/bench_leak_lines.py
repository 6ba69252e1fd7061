"""Finding where leaks are stays linear in the output's size.

A script that prints a vault value on every line of a large output used to cost one scan from
the start of the text per leak (quadratic).  This prints the time to locate every leak in an
output of N lines and of 4N lines, and their ratio: about 4 when linear, about 16 when not.

    python benchmarks/bench_leak_lines.py [--lines N]
"""

from __future__ import annotations

import argparse
import time

from harness.leaks import leaks_in_text
from harness.redaction import Redactor

SECRET = "fake-secret-0f1e2d3c4b"


def timed(redactor: Redactor, lines: int) -> float:
    text = "".join(f"line {n}: token={SECRET} and some more text to scan\n" for n in range(lines))
    started = time.perf_counter()
    found = leaks_in_text(redactor, text, "stdout", "stdout ", lines=True)
    elapsed = time.perf_counter() - started
    assert len(found) == lines and found[-1].place == f"stdout line {lines}"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    args = parser.parse_args()
    redactor = Redactor({"token": SECRET})
    timed(redactor, 100)  # warm up the automaton
    small = min(timed(redactor, args.lines) for _ in range(3))
    large = min(timed(redactor, 4 * args.lines) for _ in range(3))
    print(f"{args.lines:,} lines: {small * 1000:.1f} ms; {4 * args.lines:,} lines: {large * 1000:.1f} ms; "
          f"ratio {large / small:.1f} (4 = linear, 16 = quadratic)")


if __name__ == "__main__":
    main()
