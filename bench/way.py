"""One way of checking the day, in its own process so that its peak memory is its own:

    python -m bench.way baseline|run|submit --config JOB.properties --date D

Prints one JSON line: wall_s (the check itself, not the interpreter's start), cpu_s (user +
system time of this process and its children during the check), exit_code and, for the ways
that write the reports in this process, peak_rss_mb (VmHWM). The queries are
counted by bench.latency's log, not here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import resource
import sys
import time


def cpu_s() -> float:
    """User + system seconds of this process (every thread) and its waited-for children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def peak_rss_mb(pid: str | int = "self") -> float:
    """The process's high-water mark of resident memory (VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/<pid>/status")


def baseline(settings) -> int:
    """The legacy job's shape: for each process and customer, one after another, one KPI query
    and one missing-files query (the product's own SQL, with a single customer)."""
    from mnaas_missing_files.checking.planning import configured_customers, configured_processes
    from mnaas_missing_files.core.model import INFONOVA, REGULAR, PairRow
    from mnaas_missing_files.reporting.reports import write_reports
    from mnaas_missing_files.warehouse import queries
    from mnaas_missing_files.warehouse.duckdb_engine import open_warehouse

    regular, infonova, _ = configured_customers(settings)
    processes, _ = configured_processes(settings)
    warehouse = open_warehouse(settings.warehouse_url)
    rows = []
    try:
        for process in processes:
            for customer_type, customers in ((REGULAR, regular), (INFONOVA, infonova)):
                for customer in customers:
                    sql, params = queries.kpi_counts(settings.kpi_table, settings.day, [process], [customer])
                    found = warehouse.query(sql, params)
                    received, generated = (int(found[0][2] or 0), int(found[0][3] or 0)) if found else (0, 0)
                    sql, params = queries.missing_files(
                        settings.received_table, settings.generated_table, settings.day, [process], [customer]
                    )
                    names = sorted(
                        {
                            f"{customer}{settings.delimiter}{filename}"
                            for _p, _d, _c, filename in warehouse.query(sql, params)
                        }
                    )
                    rows.append(PairRow(settings.day, process, customer_type, customer, received, generated, names))
    finally:
        warehouse.close()
    write_reports(rows, settings.csv_path, settings.txt_path, settings.report_mode)
    return 0


def floor(settings) -> dict:
    """The floor of the day on this warehouse: the two queries that answer it whole (the
    product's own SQL with every process and customer: one KPI aggregate, one anti-join),
    one after another on a connection opened beforehand, every row read, timed on the second
    of two passes (the first's time is `cold_s`). No reports."""
    import os

    from bench.latency import LOG_ENV, record_query
    from mnaas_missing_files.checking.planning import configured_customers, configured_processes
    from mnaas_missing_files.warehouse import queries
    from mnaas_missing_files.warehouse.duckdb_engine import open_warehouse

    regular, infonova, _ = configured_customers(settings)
    processes, _ = configured_processes(settings)
    warehouse = open_warehouse(settings.warehouse_url)
    statements = [
        queries.kpi_counts(settings.kpi_table, settings.day, processes, regular + infonova),
        queries.missing_files(
            settings.received_table,
            settings.generated_table,
            settings.day,
            processes,
            regular + infonova,
            first_day=settings.window_start,
        ),
    ]
    try:
        warehouse.query("SELECT 1", [])  # the connection (and session) is open before the clock starts
        # Twice: the first pass warms the server (a fresh Spark compiles its plans); the floor
        # is the second, what the same two queries cost on a warm, open connection.
        cold_s = 0.0
        for warm in (False, True):
            started = time.monotonic()
            rows = 0
            for sql, params in statements:
                began = time.monotonic()
                rows += sum(1 for _ in warehouse.query(sql, params))
                if warm and os.environ.get(LOG_ENV):
                    record_query(os.environ[LOG_ENV], params, time.monotonic() - began)
            if not warm:
                cold_s = time.monotonic() - started
        return {
            "wall_s": round(time.monotonic() - started, 3),
            "cold_s": round(cold_s, 3),
            "exit_code": 0,
            "rows": rows,
        }
    finally:
        warehouse.close()


def run(settings) -> int:
    from mnaas_missing_files.run.local import run_local

    return run_local(settings, trigger="run").exit_code


def submit(settings) -> int:
    from tasks.client import submit_run

    return submit_run(settings, wait=True, dry_run=False, trigger="submit")


WAYS = {"baseline": baseline, "run": run, "submit": submit}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.way")
    parser.add_argument("way", choices=sorted(WAYS) + ["floor"])
    parser.add_argument("--config", required=True)
    parser.add_argument("--date", required=True, type=dt.date.fromisoformat)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from bench import latency
    from mnaas_missing_files.config.settings import load_settings

    if args.way == "floor":  # its own clock and query log, on the warehouse itself
        from mnaas_missing_files.config.settings import load_settings

        print(json.dumps(floor(load_settings(args.config, day=args.date))))
        return 0
    if args.way != "submit":
        import mnaas_missing_files.run.local  # noqa: F401 - imported before install() patches it

        latency.install()
    else:
        from bench import messages

        messages.install()  # start_run's message is the client's (BENCH_MESSAGES_FILE)
    if os.environ.get("BENCH_NO_DAY_INPUT"):  # bench/volume.py: the run without §14's query
        import mnaas_missing_files.run.finalize as finalize
        import mnaas_missing_files.run.local as local

        # `run` reads the day input in its own pool (run/local.py), the callback in finalize
        finalize._read_day_input = lambda settings, plan: None  # type: ignore[assignment,return-value]
        local.read_day_input = lambda *args, **kwargs: None  # type: ignore[assignment,return-value]
    settings = load_settings(args.config, day=args.date)
    cpu_before = cpu_s()
    started = time.monotonic()
    exit_code = WAYS[args.way](settings)
    wall = time.monotonic() - started
    out = {"wall_s": round(wall, 3), "cpu_s": round(cpu_s() - cpu_before, 3), "exit_code": exit_code}
    if args.way != "submit":
        out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(out))
    return 0 if exit_code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
