"""How long ``ipe run`` takes on one document, against ``python -c "import requests"``.

Almost every IPE script imports requests, so a Python process that has imported requests is
the floor of what running one script can cost.  This benchmark times, as separate processes
and interleaved round by round (so a slow spell of the machine hits both alike):

* ``python -c "import requests"``,
* ``python -m harness.cli run EXT --document DOC --json`` on a one-line script (``ipe run``
  itself: parse the arguments, read the vault, fork the isolated child, redact, print JSON),

and prints the best time of each and their ratio.  The goal is at most 2.5x.  Both run with
the same interpreter, environment and ``PYTHONDONTWRITEBYTECODE`` unset (byte code cached, as
after an install).

    python benchmarks/bench_startup.py [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 2.5


def best_of(commands: dict[str, list[str]], repeat: int, cwd: Path) -> dict[str, float]:
    best = {label: float("inf") for label in commands}
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    for _ in range(repeat):
        for label, command in commands.items():
            started = time.perf_counter()
            done = subprocess.run(command, cwd=cwd, env=env, capture_output=True)
            elapsed = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"{label} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
            best[label] = min(best[label], elapsed)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", "-r", type=int, default=15, help="rounds; the best counts (default 15)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "startup"
        (folder / "documents").mkdir(parents=True)
        (folder / "extension.py").write_text('log("started")\n', encoding="utf-8")
        (folder / "extension.json").write_text(json.dumps({"name": "startup", "apiVersion": "v1"}))
        document = folder / "documents" / "one.json"
        document.write_text(json.dumps({"uri": "https://example.com/1"}), encoding="utf-8")
        baseline = "python -c 'import requests'"
        ipe = "ipe run EXT --document DOC --json"
        commands = {
            baseline: [sys.executable, "-c", "import requests"],
            ipe: [sys.executable, "-m", "harness.cli", "run", str(folder), "--document", str(document), "--json"],
        }
        best = best_of(commands, args.repeat, root)
    ratio = best[ipe] / best[baseline]
    print(f"best of {args.repeat}, Python {sys.version.split()[0]}")
    for label, seconds in best.items():
        print(f"{label:<40} {seconds * 1000:>8.1f} ms")
    verdict = "within" if ratio <= GOAL else "OVER"
    print(f"ipe run on one document takes {ratio:.2f}x `import requests`: {verdict} the {GOAL:g}x goal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
