"""Batches: does a second worker pay, and does the parent's memory stay flat?

1. Scaling: ``ipe run --documents`` on N CPU-bound documents (each spends some milliseconds
   computing), with 1 worker and with 2, measured in the same run; prints the speed-up
   (goal on a 2-core machine: 2 workers >= 1.7x one).
2. Memory: the parent's peak RSS on a small and on a large JSONL batch of a trivial script
   (goal: flat, since documents are streamed in and results streamed out).

    python benchmarks/bench_batch.py                     # 2,000 documents; 1,000 vs 100,000
    python benchmarks/bench_batch.py --documents 400 --small 500 --large 5000   # a quick look

Each measurement runs the real ``ipe`` command in a fresh process, so imports and the pool's
start are counted, as a user would see them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

CPU_BOUND = """
# about 20 ms of pure-Python work per document, whatever it holds
total = 0
for i in range(int(parameters.get("rounds", "100000"))):
    total += i * i % 7
document.add_meta_data({"checksum": total})
"""

TRIVIAL = """
document.add_meta_data({"seen": "yes"})
"""

# The parent, run as a child of this benchmark: the ipe command, then its own peak RSS.
DRIVER = """
import resource, sys
from harness.cli import main
code = main(sys.argv[1:])
print("PEAK_RSS_KIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def extension(folder: Path, name: str, script: str) -> Path:
    path = folder / name
    path.mkdir()
    (path / "extension.py").write_text(textwrap.dedent(script).lstrip(), encoding="utf-8")
    (path / "extension.json").write_text(json.dumps({"name": name, "apiVersion": "v1"}), encoding="utf-8")
    return path


def batch(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            out.write(json.dumps({"uri": f"https://example.com/{n}", "metadata": {"crawler": {"n": str(n)}}}) + "\n")
    return path


def ipe(*args: str) -> tuple[float, int]:
    """Seconds of one `ipe` command, and the parent's peak RSS in KiB."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", DRIVER, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"ipe {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    peak = [line for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KIB")]
    return seconds, int(peak[-1].split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=2000, help="CPU-bound documents for the scaling run")
    parser.add_argument("--rounds", type=int, default=100_000, help="loop rounds per CPU-bound document")
    parser.add_argument("--small", type=int, default=1000, help="documents of the small memory run")
    parser.add_argument("--large", type=int, default=100_000, help="documents of the large memory run")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cpu = extension(root, "cpu_bound", CPU_BOUND)
        work = batch(root / "work.jsonl", args.documents)
        common = ["run", str(cpu), "--documents", str(work), "--quiet", "--param", f"rounds={args.rounds}"]
        one, _ = ipe(*common, "--workers", "1")
        two, _ = ipe(*common, "--workers", "2")
        print(f"\nscaling: {args.documents:,} CPU-bound documents")
        print(f"  1 worker   {one:7.1f} s   {args.documents / one:7.1f} documents/s")
        print(f"  2 workers  {two:7.1f} s   {args.documents / two:7.1f} documents/s")
        print(f"  speed-up   {one / two:7.2f}x   (goal on 2 cores: >= 1.7x)")

        trivial = extension(root, "trivial", TRIVIAL)
        print("\nparent's peak RSS (trivial script, --jsonl to /dev/null, 2 workers)")
        peaks = []
        for count in (args.small, args.large):
            source = batch(root / f"mem{count}.jsonl", count)
            seconds, peak = ipe("run", str(trivial), "--documents", str(source), "--jsonl", "--workers", "2",
                                "--report", str(root / f"mem{count}.json"))
            peaks.append(peak)
            print(f"  {count:>9,} documents  {peak / 1024:7.1f} MiB  ({seconds:6.1f} s, {count / seconds:6.0f}/s)")
            source.unlink()
        print(f"  large / small peak: {peaks[1] / peaks[0]:.2f}x   (goal: flat, about 1x)")


if __name__ == "__main__":
    main()
