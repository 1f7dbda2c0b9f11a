"""Run every benchmark script present in benchmarks/ (``make bench``), one after the other.

Each ``*_bench.py`` is a standalone command that prints its own figures and ratios; this
runner only calls them in turn and reports which failed. Extra arguments (e.g.
``--quick``) are passed to every script.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["ingest", "query", "ui", "pipeline", "memory", "load"]


def bench_scripts() -> list[Path]:
    found = {p.stem.removesuffix("_bench"): p for p in HERE.glob("*_bench.py")}
    known = [found.pop(name) for name in ORDER if name in found]
    return known + sorted(found.values())


def main(argv: list[str]) -> int:
    failed: list[str] = []
    for script in bench_scripts():
        print(f"\n##### {script.name} {' '.join(argv)}", flush=True)
        t0 = time.monotonic()
        rc = subprocess.call([sys.executable, str(script), *argv], cwd=HERE.parent)
        print(f"##### {script.name}: exit {rc} after {time.monotonic() - t0:.0f} s", flush=True)
        if rc != 0:
            failed.append(script.name)
    if failed:
        print("failed:", ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
