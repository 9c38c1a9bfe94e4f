"""`python -m chaos --seed S --runs N [--dir CHAOS_DIR]` (what `make chaos` runs): logs on
stderr, the JSON summary as the last line on stdout; exit 0 without violations, 1 with, 2 on
bad arguments."""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from chaos.soak import Soak, summary_line, violation_count


def _working_dir(given: str | None) -> tuple[Path, bool]:
    """CHAOS_DIR: an existing empty directory or a new path; default a new temporary one
    (removed when the soak finds nothing). (the directory, whether it is our temporary one)"""
    if not given:
        return Path(tempfile.mkdtemp(prefix="mnaas-chaos-")), True
    path = Path(given).resolve()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise SystemExit(f"chaos: CHAOS_DIR {path} must be an empty directory or a new path")
    path.mkdir(parents=True, exist_ok=True)
    return path, False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--seed", type=int, required=True, help="drives the fault schedule; the same seed replays it")
    parser.add_argument("--runs", type=int, required=True, help="days to run (at least 3)")
    parser.add_argument("--dir", help="CHAOS_DIR: an empty directory or a new path (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.runs < 3:
        parser.error("--runs must be at least 3 (two of them are beat's catch-up days)")
    try:
        root, temporary = _working_dir(args.dir)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    # SIGTERM (`timeout`, CI) ends the soak like Ctrl-C: the cluster's processes are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    logging.getLogger("chaos").info("chaos: seed %d, %d runs, working directory %s", args.seed, args.runs, root)
    result = Soak(args.seed, args.runs, root).run()
    found = violation_count(result["violations"])
    if found:
        print(f"chaos: {found} violation(s); the outputs are kept in {root}", file=sys.stderr)
    elif temporary:
        shutil.rmtree(root, ignore_errors=True)
    print(summary_line(result))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
