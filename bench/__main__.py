"""`python -m bench [--profile quick|standard|large|scale] [--warehouse duckdb|hs2] [--ways a,b]`"""

from __future__ import annotations

import argparse
import signal
import sys

from .harness import run_profile
from .profiles import PROFILES
from .report import report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--profile", default="standard", choices=sorted(PROFILES) + ["scale"])
    parser.add_argument("--warehouse", default="duckdb", choices=["duckdb", "hs2"])
    parser.add_argument("--ways", help="comma-separated subset: baseline,run,submit_w1,submit_w2,submit_w4")
    parser.add_argument("--workdir", help="where warehouses, jobs and reports go (default var/bench/<profile>)")
    parser.add_argument(
        "--tag",
        help="results go to bench/results/<profile>[-hs2]-<tag>.json (a subset of ways measured apart, e.g. lookback)",
    )
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the workers, Redis and HiveServer2 it started are stopped.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if args.profile == "scale":  # the synthetic warehouse: --warehouse and --ways do not apply
        from .scale import run_scale
        from .scalereport import report as scale_report

        doc = run_scale(workdir=args.workdir)
        print(scale_report(doc))
        return 0 if all(c["ok"] for c in doc["checks"]) else 1
    doc = run_profile(
        args.profile,
        warehouse=args.warehouse,
        ways=args.ways.split(",") if args.ways else None,
        workdir=args.workdir,
        tag=args.tag,
    )
    print(report(doc))
    return 0 if all(c["ok"] for c in doc["checks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
