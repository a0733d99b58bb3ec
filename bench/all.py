"""Every benchmark of docs/performance.md, one after the other: ``python bench/all.py``.

``--rembg PATH`` (rembg's executable, in its own venv: see `peer_rembg.py`) adds the
comparison with rembg's server; ``--quick`` runs the per-slice loads at 1536 px only. Each part
prints its own table; the output is what docs/performance.md quotes.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(script: str, *args: str) -> None:
    """Run one benchmark script with this interpreter; a failure is reported, not fatal."""
    print(f"\n=== {script} {' '.join(args)}".rstrip(), flush=True)
    done = subprocess.run([sys.executable, str(HERE / script), *args], check=False)
    if done.returncode:
        print(f"(exit status {done.returncode})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rembg", type=Path, help="rembg's executable, for the peer comparison")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()} (this process may use {len(os.sched_getaffinity(0))})")
    run("encoders.py")
    run("quantize.py")
    run("session_options.py")
    run("slices.py", *(["--sizes", "1536"] if args.quick else []))
    if args.rembg:
        run("peer_rembg.py", "--rembg", str(args.rembg))


if __name__ == "__main__":
    main()
