"""Orchestrate one profile: build the warehouse, run every way in its own process on the same
data, compare the reports byte for byte, print the table, write bench/results/<profile>.json."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import data
from .cluster import REPO, Cluster
from .latency import LATENCY_ENV, LOG_ENV, read_log
from .profiles import BOUNDED, BOUNDED_LIMIT, DAY, PROFILES, Profile
from .report import checks

RESULTS = REPO / "bench" / "results"
VOLUME_PROFILES = ("standard", "large")  # where the volume checks' CPU ratio is measured
WAY_TIMEOUT = 3600


def submit_available() -> bool:
    return importlib.util.find_spec("tasks.client") is not None and importlib.util.find_spec("workers.app") is not None


def way_env(config: Path, profile: Profile, query_log: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MNAAS_", "BENCH_"))}
    env.update(
        {
            "MNAAS_CONFIG": str(config),
            LATENCY_ENV: str(profile.latency_s),
            LOG_ENV: str(query_log),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        }
    )
    return env


def run_child(way: str, config: Path, env: dict[str, str], log: Path) -> dict:
    with open(log, "w") as stderr:
        done = subprocess.run(
            [sys.executable, "-m", "bench.way", way, "--config", str(config), "--date", DAY.isoformat()],
            cwd=REPO,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=stderr,
            timeout=WAY_TIMEOUT,
        )
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"{way} printed nothing (exit {done.returncode}); see {log}")
    return json.loads(lines[-1])


def one_way(way: str, profile: Profile, work: Path, warehouse_url: str, *, root_name: str | None = None) -> dict:
    root = work / (root_name or way)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    # `<way>_bounded[_l0]`: the same way with DuckDB's memory bounded (MNAAS_WAREHOUSE_URL's
    # memory_limit; what does not fit spills to disk); `<way>_l0`: with the lookback window
    # off (MNAAS_LOOKBACK_DAYS=0)
    lookback = 0 if way.endswith("_l0") else 7
    way = way.removesuffix("_l0")
    if way.endswith(BOUNDED):
        way = way.removesuffix(BOUNDED)
        warehouse_url = f"{warehouse_url}?memory_limit={BOUNDED_LIMIT}"
    config = data.write_job(root, way, profile, warehouse_url, lookback=lookback)
    query_log = root / "queries.log"
    env = way_env(config, profile, query_log)
    if way.startswith("submit_w"):
        workers = int(way[len("submit_w") :])
        rss_file = root / "writer_rss.tsv"
        env["BENCH_RSS_FILE"] = str(rss_file)
        with Cluster(workers, root, env) as cluster:
            before, broker_before = cluster.backend_bytes_in(), cluster.broker_bytes_in()
            out = run_child("submit", config, cluster.env, root / "way.log")
            out["result_bytes"] = cluster.backend_bytes_in() - before
            out["broker_bytes"] = cluster.broker_bytes_in() - broker_before
        peaks = [float(line.split("\t")[2]) for line in rss_file.read_text().splitlines()] if rss_file.is_file() else []
        out["peak_rss_mb"] = max(peaks) if peaks else None
    else:
        out = run_child(way, config, env, root / "way.log")
        out["result_bytes"] = 0  # nothing crosses a result backend
    out.update(read_log(query_log))
    reports = sorted(
        p
        for p in (root / "conf" / "Missing_Customer_Files").glob("Missing_Customer_Files_*")
        if "_Outstanding_" not in p.name
    )
    out["reports"] = [str(p) for p in reports]  # the day's CSV and TXT (contract §3)
    outstanding = list((root / "conf" / "Missing_Customer_Files").glob("*_Outstanding_*.csv"))
    out["outstanding"] = str(outstanding[0]) if outstanding else None
    out["lookback_days"] = lookback
    return out


def reference_anti_join(warehouse_path: Path, out_path: Path, lookback: int = 0) -> float:
    """One anti-join over the whole day (with `lookback`, over the window D-L .. D: the work of
    a run with that window), names written straight from DuckDB to a file."""
    import duckdb

    first = DAY - dt.timedelta(days=lookback)
    conn = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        started = time.monotonic()
        conn.execute(f"""
            COPY (
              SELECT DISTINCT r.process_name, r.file_date, r.customer_name,
                     r.customer_name || '_' || r.filename AS name
              FROM mnaas.telena_file_record_count r
              WHERE r.file_date BETWEEN '{first.isoformat()}' AND '{DAY.isoformat()}'
                AND NOT EXISTS (SELECT 1 FROM mnaas.customers_files_records_count g
                                WHERE g.file_date = r.file_date AND g.process_name = r.process_name
                                  AND g.customer_name = r.customer_name
                                  AND g.source_filename = r.filename)
              ORDER BY 1, 2, 3, 4
            ) TO '{out_path}' (FORMAT csv, HEADER false)""")
        return time.monotonic() - started
    finally:
        conn.close()


def identical(way: dict, reference: dict, outstanding_reference: dict | None = None) -> bool | None:
    """The CSV and TXT byte-identical to the reference's; with L = 7 also the outstanding
    report to `run`'s (the legacy baseline has none), and with L = 0 no outstanding report."""
    if not reference or not way.get("reports") or len(way["reports"]) != len(reference["reports"]):
        return None if not reference else False
    same = all(Path(a).read_bytes() == Path(b).read_bytes() for a, b in zip(way["reports"], reference["reports"]))
    if way.get("lookback_days") == 0:
        return same and way.get("outstanding") is None
    if outstanding_reference and outstanding_reference.get("outstanding") and way is not outstanding_reference:
        same = (
            same
            and way.get("outstanding") is not None
            and Path(way["outstanding"]).read_bytes() == Path(outstanding_reference["outstanding"]).read_bytes()
        )
    return same


def run_profile(
    name: str,
    *,
    warehouse: str = "duckdb",
    ways: list[str] | None = None,
    workdir: Path | None = None,
    write_results: bool = True,
    tag: str | None = None,
    group_size: int | None = None,
) -> dict:
    """Measure profile `name`'s ways; `group_size`: every way's MNAAS_GROUP_SIZE instead of the
    profile's (a test that needs several groups of a small day sets it)."""
    profile = PROFILES[name]
    if group_size is not None:
        profile = dataclasses.replace(profile, group_size=group_size)
    if warehouse == "hs2":  # the query cost is real there: inject none
        profile = dataclasses.replace(profile, latency_s=0.0)
    work = Path(workdir or REPO / "var" / "bench" / name).absolute()
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if warehouse == "hs2":
        from .hs2 import hs2_warehouse  # the HiveServer2 fixture of the Impala tests

        warehouse_url, cleanup, sizes = hs2_warehouse(profile, work)
    else:
        db = work / "warehouse.duckdb"
        sizes = data.build_warehouse(db, profile)
        warehouse_url, cleanup = f"duckdb:///{db}", None
    build_s = time.monotonic() - started
    wanted = ways or (
        (["floor"] if warehouse == "hs2" else [])
        + ["baseline", "run"]
        + [f"submit_w{w}" for w in profile.submit_workers]
        + [f"{w}_l0" for w in ("run", *(f"submit_w{n}" for n in profile.submit_workers)) if w in profile.l0_ways]
        + (list(profile.bounded_ways) if warehouse == "duckdb" else [])
    )
    if not profile.baseline and "baseline" in wanted and ways is None:
        wanted.remove("baseline")
    results: dict[str, dict] = {}
    notes: list[str] = []
    warmup_s = None
    try:
        if warehouse == "hs2" and any(w != "floor" for w in wanted):
            # A freshly started Spark compiles each new query shape slowly (the floor's cold
            # pass: 2-4x its warm one), and the floor is timed warm: so are the ways, after
            # one untimed `run` of the same day (its figures are `warmup_s`, not a way's).
            print(f"[bench {name}] warm-up run (untimed) ...", file=sys.stderr, flush=True)
            warmup_s = one_way("run", profile, work, warehouse_url, root_name="warmup")["wall_s"]
        for way in (w for w in wanted if w != "volume"):  # `volume`: measured below, bench/volume.py
            if way.startswith("submit_w") and not submit_available():
                notes.append(f"{way}: skipped, the Celery layer (tasks.client, workers.app) is not present")
                continue
            print(f"[bench {name}] {way} ...", file=sys.stderr, flush=True)
            results[way] = one_way(way, profile, work, warehouse_url)
    finally:
        if cleanup:
            cleanup()
    reference = results.get("baseline") or results.get("run")
    for way, out in results.items():
        if way == "floor":  # writes no reports
            out["identical"] = None
            continue
        out["identical"] = identical(out, reference, results.get("run")) if way != "baseline" else True
    doc = {
        "profile": name,
        "warehouse": warehouse,
        "shape": {
            "processes": profile.processes,
            "regular": profile.regular,
            "infonova": profile.infonova,
            "files_per_pair": profile.files_per_pair,
            "pairs": profile.pairs,
            "groups": profile.groups,
            "latency_s": profile.latency_s,
            "group_size": profile.group_size,
            "local_workers": profile.local_workers,
        },
        "build_s": round(build_s, 2),
        "notes": notes,
        **({"warmup_s": round(warmup_s, 3)} if warmup_s is not None else {}),
        "ways": {way: summarise(out) for way, out in results.items()},
    }
    doc["shape"].update(sizes)
    if warehouse == "duckdb":
        doc["reference_anti_join_s"] = round(reference_anti_join(db, work / "reference.csv"), 3)
        doc["reference_window_anti_join_s"] = round(
            reference_anti_join(db, work / "reference-window.csv", lookback=7), 3
        )
    if warehouse == "duckdb" and (ways is None or "volume" in ways) and name in VOLUME_PROFILES:
        from .volume import measure

        doc["volume"] = measure(profile, work, db)  # contract §14: volume checks on vs off
    doc["checks"] = checks(doc, profile)
    if write_results:
        RESULTS.mkdir(parents=True, exist_ok=True)
        suffix = ("" if warehouse == "duckdb" else f"-{warehouse}") + (f"-{tag}" if tag else "")
        (RESULTS / f"{name}{suffix}.json").write_text(json.dumps(doc, indent=2) + "\n")
    return doc


def summarise(out: dict) -> dict:
    keep = (
        "wall_s",
        "queries",
        "peak_rss_mb",
        "result_bytes",
        "identical",
        "exit_code",
        "longest_group_s",
        "query_s",
        "busiest_process_query_s",
        "broker_bytes",
        "lookback_days",
        "cold_s",
    )
    summary = {k: (round(out[k], 3) if isinstance(out.get(k), float) else out.get(k)) for k in keep}
    return summary
