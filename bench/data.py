"""Generate a profile's warehouse straight in DuckDB (SQL, not Python loops: the large day has
1.2 million received rows) and write one legacy-shaped job configuration per way."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from mnaas_missing_files.cli.demo import STATUS as DEMO_STATUS
from mnaas_missing_files.cli.demo_data import DDL

from .profiles import DAY, Profile

PROCESS_NAMES = ["traffic", "actives", "activations", "tolling", "sms", "data", "voice", "roaming"]
EXTRA_PROCESS = "cdr_unbilled"  # has data, is not configured: must not be reported
EXTRA_CUSTOMER = "Unlisted_Customer"


def processes(profile: Profile) -> list[str]:
    return PROCESS_NAMES[: profile.processes]


def customers(profile: Profile) -> tuple[list[str], list[str]]:
    regular = [f"Cust_{n:04d}" for n in range(1, profile.regular + 1)]
    infonova = [f"INFONOVA_{n:03d}" for n in range(1, profile.infonova + 1)]
    return regular, infonova


def build_warehouse(path: Path, profile: Profile) -> dict:
    """Create the DuckDB file; returns the day's counts (received pairs, missing names)."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, Path(f"{path}.wal")):
        stale.unlink(missing_ok=True)
    regular, infonova = customers(profile)
    days = [DAY - dt.timedelta(days=n) for n in range(profile.history_days, -1, -1)]
    conn = duckdb.connect(str(path))
    try:
        for statement in DDL:
            conn.execute(statement)
        conn.execute("CREATE TEMP TABLE procs (pidx INTEGER, process VARCHAR)")
        conn.executemany("INSERT INTO procs VALUES (?, ?)", list(enumerate(processes(profile) + [EXTRA_PROCESS])))
        conn.execute("CREATE TEMP TABLE custs (cidx INTEGER, customer VARCHAR)")
        conn.executemany("INSERT INTO custs VALUES (?, ?)", list(enumerate(regular + infonova + [EXTRA_CUSTOMER])))
        conn.execute("CREATE TEMP TABLE days (day VARCHAR)")
        conn.executemany("INSERT INTO days VALUES (?)", [(d.isoformat(),) for d in days])
        conn.execute(
            """
            CREATE TEMP TABLE files AS
            SELECT d.day, p.pidx, p.process, c.cidx, c.customer, r.n,
                   upper(p.process) || '_' || replace(d.day, '-', '') || '_'
                       || lpad(CAST(r.n AS VARCHAR), 5, '0') || '.dat' AS filename,
                   (r.n + c.cidx + p.pidx) % ? < ? AS missing
            FROM days d, procs p, custs c, range(?) r(n)""",
            [profile.missing_of, profile.missing_in, profile.files_per_pair],
        )
        # Every 50th received row appears twice: the check must count a (file, customer) once.
        conn.execute("""
            INSERT INTO mnaas.telena_file_record_count
            SELECT day, process, customer, filename, 100 + n FROM files
            UNION ALL
            SELECT day, process, customer, filename, 100 + n FROM files WHERE n % 50 = 7""")
        # An earlier day's missing file was generated late unless it is 1 in `never_of` (by a
        # rule unlike the missing one, so that the never-generated are spread over the pairs):
        # its generated row carries its own file_date (contract §2); the others stay outstanding.
        conn.execute(
            """
            INSERT INTO mnaas.customers_files_records_count
            SELECT day, process, customer, filename, customer || '_' || filename, 100 + n
            FROM files WHERE NOT missing OR (day < ? AND (31 * n + 17 * cidx + 7 * pidx) % ? <> 0)""",
            [DAY.isoformat(), profile.never_of],
        )
        # File Received split over two rows for every third customer: the check must sum them.
        conn.execute("""
            INSERT INTO mnaas.kpi_measurement
            WITH pair AS (SELECT day, process, customer, cidx, count(*) AS received,
                                 count(*) FILTER (WHERE NOT missing) AS generated
                          FROM files GROUP BY ALL)
            SELECT day, process, customer, 'File Received', received FROM pair WHERE cidx % 3 <> 0
            UNION ALL SELECT day, process, customer, 'File Received', received // 2
                      FROM pair WHERE cidx % 3 = 0
            UNION ALL SELECT day, process, customer, 'File Received', received - received // 2
                      FROM pair WHERE cidx % 3 = 0
            UNION ALL SELECT day, process, customer, 'File Generated', generated FROM pair
            UNION ALL SELECT day, process, customer, 'Records Processed', received * 1000 FROM pair""")
        configured = conn.execute(
            """
            SELECT count(*) FILTER (WHERE day = ?),
                   count(*) FILTER (WHERE day = ? AND missing),
                   count(*) FILTER (WHERE day < ? AND missing AND (31 * n + 17 * cidx + 7 * pidx) % ? = 0)
            FROM files WHERE process <> ? AND customer <> ?""",
            [DAY.isoformat(), DAY.isoformat(), DAY.isoformat(), profile.never_of, EXTRA_PROCESS, EXTRA_CUSTOMER],
        ).fetchone()
    finally:
        conn.close()
    return {
        "received_pairs": configured[0],
        "missing_files": configured[1],
        "history_days": profile.history_days,
        "outstanding_files": configured[2],
    }


def _bash_array(items: list[str]) -> str:
    return " ".join(items)


JOB = """\
# Benchmark job ({way}), legacy-shaped
MNAASConfPath={root}/conf
MNAAS_Missing_Customer_Files_Scriptname=MNAAS_Missing_Customer_Files_bench_{way}.sh
MNAAS_Missing_Customer_Files_logpath={root}/logs/MNAAS_Missing_Customer_Files.log
MNAAS_Missing_Customer_Files_ProcessStatusFilename={root}/conf/MNAAS_Missing_Customer_Files_ProcessStatusFile
query_output1={root}/conf/Missing_Customer_Files/Missing_Customer_Files_$(date -d yesterday +%F).txt
missing_files_report={root}/conf/Missing_Customer_Files/Missing_Customer_Files_Report_$(date -d yesterday +%F).csv
MOVE_DEV_TEAM="move-dev@example.com,move-ops@example.com"
cc_List="move-lead@example.com"
mail_from=hdfs@edge1.example.net
SDP_ticket_to_email=sdp-tickets@example.com
ENV_MODE=BENCH
process_list=({processes})
customer_names=({regular})
infonova_customer_names=({infonova})
MNAAS_WAREHOUSE_URL={warehouse_url}
MNAAS_GROUP_SIZE={group_size}
MNAAS_LOCAL_WORKERS={local_workers}
MNAAS_GROUP_WORKERS={group_workers}
MNAAS_RETRY_BACKOFF=0.2
MNAAS_LOOKBACK_DAYS={lookback}
"""


def write_job(root: Path, way: str, profile: Profile, warehouse_url: str, lookback: int = 7) -> Path:
    """A fresh job directory for one way (its own status file, reports and outbox)."""
    regular, infonova = customers(profile)
    return write_job_of(
        root,
        way,
        processes(profile),
        regular,
        infonova,
        warehouse_url,
        group_size=profile.group_size,
        local_workers=profile.local_workers,
        lookback=lookback,
        group_workers=profile.workers_of(way),
    )


def write_job_of(
    root: Path,
    way: str,
    process_names: list[str],
    regular: list[str],
    infonova: list[str],
    warehouse_url: str,
    *,
    group_size: int,
    local_workers: int,
    group_workers: int,
    lookback: int = 7,
    extra: str = "",
) -> Path:
    """The job directory of `write_job` for explicit lists (the scale model's), plus `extra`
    properties lines."""
    (root / "conf").mkdir(parents=True, exist_ok=True)
    (root / "logs").mkdir(exist_ok=True)
    config = root / "job.properties"
    config.write_text(
        JOB.format(
            way=way,
            root=root,
            processes=_bash_array(process_names),
            regular=_bash_array(regular),
            infonova=_bash_array(infonova),
            warehouse_url=warehouse_url,
            group_size=group_size,
            local_workers=local_workers,
            group_workers=group_workers,
            lookback=lookback,
        )
        + extra
    )
    (root / "conf" / "MNAAS_Missing_Customer_Files_ProcessStatusFile").write_text(DEMO_STATUS)
    return config
