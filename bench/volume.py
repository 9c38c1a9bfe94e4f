"""What the volume checks cost (contract §14, §19): the `run` way with MNAAS_BASELINE_WEEKS=4
against the same run with 0, on the profile's day with five weeks of KPI history.

CPU is user + system time of the way's process during the check (its threads and DuckDB's,
children included; bench/way.py's `cpu_s`), best of three runs of each, interleaved (on, off,
on, off, ...) so that a load change on the machine hits both alike. Informational beside it:
the run with no day-input query at all (`BENCH_NO_DAY_INPUT`, bench/way.py), so the cost of
the not-monitored list shows too; the contract keeps that list on with volume checks off.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

from . import data
from .profiles import DAY, Profile

RUNS = 3
HISTORY_WEEKS = 5
VARIANTS = {"on": "MNAAS_BASELINE_WEEKS=4\n", "off": "MNAAS_BASELINE_WEEKS=0\n", "none": "MNAAS_BASELINE_WEEKS=0\n"}


def with_kpi_history(source: Path, target: Path) -> int:
    """A copy of the profile's warehouse whose KPI table reaches five weeks back: the day's KPI
    rows repeated on every earlier day not already there (the files tables are left alone: the
    baseline reads KPIs only). Returns the KPI rows."""
    import duckdb

    shutil.copyfile(source, target)
    conn = duckdb.connect(str(target))
    try:
        have = {r[0] for r in conn.execute("SELECT DISTINCT kpi_date FROM mnaas.kpi_measurement").fetchall()}
        for back in range(1, 7 * HISTORY_WEEKS + 1):
            day = (DAY - dt.timedelta(days=back)).isoformat()
            if day not in have:
                conn.execute(
                    "INSERT INTO mnaas.kpi_measurement SELECT ?, process_name, customer_name, kpi_name, kpi_value "
                    "FROM mnaas.kpi_measurement WHERE kpi_date = ?",
                    [day, DAY.isoformat()],
                )
        return conn.execute("SELECT count(*) FROM mnaas.kpi_measurement").fetchone()[0]
    finally:
        conn.close()


def measure(profile: Profile, work: Path, warehouse: Path) -> dict:
    """{"cpu_s": {variant: [runs]}, "best": {variant: s}, "ratio": on/off, "ratio_none": on/none}."""
    from .harness import run_child, way_env

    root = work / "volume"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    db = root / "warehouse.duckdb"
    kpi_rows = with_kpi_history(warehouse, db)
    regular, infonova = data.customers(profile)
    cpu: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for n in range(RUNS):
        for variant, extra in VARIANTS.items():
            job = root / f"{variant}-{n}"
            config = data.write_job_of(
                job,
                "run",
                data.processes(profile),
                regular,
                infonova,
                f"duckdb:///{db}",
                group_size=profile.group_size,
                local_workers=profile.local_workers,
                group_workers=profile.local_workers,
                extra=extra,
            )
            env = way_env(config, profile, job / "queries.log")
            if variant == "none":
                env["BENCH_NO_DAY_INPUT"] = "1"
            print(f"[bench {profile.name}] volume {variant} {n + 1}/{RUNS} ...", file=sys.stderr, flush=True)
            out = run_child("run", config, env, job / "way.log")
            if out.get("exit_code") != 0:
                raise RuntimeError(f"volume {variant} run {n + 1} exited {out.get('exit_code')}; see {job}/way.log")
            cpu[variant].append(out["cpu_s"])
    best = {v: min(runs) for v, runs in cpu.items()}
    return {
        "kpi_rows": kpi_rows,
        "cpu_s": {v: [round(s, 3) for s in runs] for v, runs in cpu.items()},
        "best": {v: round(s, 3) for v, s in best.items()},
        "ratio": round(best["on"] / best["off"], 3),
        "ratio_none": round(best["on"] / best["none"], 3),
    }
